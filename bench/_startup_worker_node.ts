// Worker of bench/_startup.ts (node:cluster): node:http listen(0) in a node:cluster worker.

import http from "node:http";

http.createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
