// The client side of the control socket: one request line, one reply line (_control_protocol.ts).

import net from "node:net";
import type { ControlReply, ControlRequest } from "./_control_protocol.ts";

/** How long the primary may take to answer (a reload waits for every slot's new worker). */
export const REPLY_TIMEOUT_MS = 120_000;

/**
 * Sends `request` to the primary at `socket` and resolves with its reply; rejects with an
 * error whose `code` is the system's (ENOENT: no primary there; EACCES: another user's) or
 * `ETIMEDOUT`.
 *
 * @example
 * ```ts ignore
 * import { sendRequest } from "./_control_client.ts";
 * const reply = await sendRequest("/run/user/1000/x-cluster/x-cluster.sock", { cmd: "status" });
 * ```
 */
export function sendRequest(
  socket: string,
  request: ControlRequest,
  timeout: number = REPLY_TIMEOUT_MS,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let data = "";
    const timer = setTimeout(() => {
      client.destroy();
      reject(Object.assign(new Error(`no reply within ${timeout} ms`), { code: "ETIMEDOUT" }));
    }, timeout);
    const done = (error: Error | undefined, reply?: ControlReply): void => {
      clearTimeout(timer);
      client.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    client.setEncoding("utf8");
    client.once("connect", () => client.write(`${JSON.stringify(request)}\n`));
    client.on("data", (chunk: string) => {
      data += chunk;
      const nl = data.indexOf("\n");
      if (nl === -1) return;
      try {
        done(undefined, JSON.parse(data.slice(0, nl)) as ControlReply);
      } catch {
        done(new Error(`the primary's reply is not JSON: ${data.slice(0, 200)}`));
      }
    });
    client.once("error", (error) => done(error));
    client.once("end", () => {
      if (!data.includes("\n")) {
        done(new Error("the primary closed the connection without a reply"));
      }
    });
  });
}
