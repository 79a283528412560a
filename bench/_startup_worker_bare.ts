// One bare runtime boot for bench/_startup.ts: node:http listen(0), then a line on stdout.

import http from "node:http";

http.createServer((_req, res) => res.end("ok")).listen(
  0,
  "127.0.0.1",
  () => console.log("listening"),
);
