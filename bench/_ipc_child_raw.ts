// Child of bench/_ipc.ts for the runtime's own IPC (child_process.fork, Bun.spawn ipc): echoes
// every message with process.send(), and exits when the channel closes.

import process from "node:process";

process.on("message", (message) => process.send!(message));
process.on("disconnect", () => process.exit(0));
