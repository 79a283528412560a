// Keep-alive clients on raw TCP, for the reload tests. Each writes its next request the moment a
// response ended without `Connection: close`, on the same connection, as Node's http.Agent does;
// so a server that closes a connection it advertised as kept alive fails that next request.
// (Deno's node:http client notices such a close before reusing the socket, and would hide it.)

import net from "node:net";

/** What the raw clients saw. */
export interface RawCounts {
  answered: number;
  failed: number;
  /** Failures on a connection that had served a response before. */
  failedReused: number;
  errors: string[];
}

/** Running raw keep-alive clients; `stop()` ends them and resolves with the counts. */
export interface RawLoad {
  counts: RawCounts;
  stop(): Promise<RawCounts>;
}

const TIMEOUT_MS = 5000;

/** Starts `clients` keep-alive clients against 127.0.0.1:`port` that request `path`. */
export function startRawKeepAlive(port: number, { clients = 4, path = "/" } = {}): RawLoad {
  const counts: RawCounts = { answered: 0, failed: 0, failedReused: 0, errors: [] };
  let running = true;
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      let buffer = "";
      let served = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let done = false;
      const finish = (error?: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        if (error) {
          counts.failed++;
          if (served > 0) counts.failedReused++;
          counts.errors.push(error);
        }
        resolve();
      };
      const send = () => {
        buffer = "";
        clearTimeout(timer);
        timer = setTimeout(() => finish("timeout"), TIMEOUT_MS);
        socket.write(request);
      };
      socket.setEncoding("latin1");
      socket.on("connect", send);
      socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
      socket.on("close", () => finish(buffer === "" && served > 0 ? "closed idle" : "closed"));
      socket.on("data", (chunk: string) => {
        buffer += chunk;
        const response = parse(buffer);
        if (!response) return;
        served++;
        if (response.status === 200) counts.answered++;
        else {
          counts.failed++;
          counts.errors.push(`status ${response.status}`);
        }
        if (response.close || !running) finish();
        else send();
      });
    });
  const loop = async () => {
    while (running) await connection();
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

/** A complete response at the start of `text`: its status and whether the server closes. */
function parse(text: string): { status: number; close: boolean } | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const head = text.slice(0, end).toLowerCase();
  const body = text.slice(end + 4);
  const length = head.match(/\r\ncontent-length: *(\d+)/)?.[1];
  if (length !== undefined) {
    if (body.length < Number(length)) return undefined; // latin1: one character per byte
  } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    if (!body.endsWith("0\r\n\r\n")) return undefined;
  } else return undefined; // a body delimited by close: this client does not send such requests
  return {
    status: Number(head.slice(9, 12)),
    close: /\r\nconnection: *close/.test(head),
  };
}
