// Smoke test: the server x-cluster runs, a plain node:http script that knows nothing of the
// cluster. It answers with its pid. Port: PORT.
import http from "node:http";
import process from "node:process";

http.createServer((_request, response) => response.end(String(process.pid)))
  .listen(Number(process.env.PORT), "127.0.0.1");
