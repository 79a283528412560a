// Smoke test: the installed package's `x-cluster` command (node_modules/.bin/x-cluster, as npm
// links it), run by this runtime (process.execPath: Node 24, Node 20 or Bun) as `npx` / `bunx`
// would: 2 workers of cli_server.mjs answer on one port from 2 pids, SIGTERM ends it with exit
// code 0. Prints `SMOKE_OK <pid>,<pid>`.

import { spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";

const fail = (message) => {
  console.error(`x-cluster smoke: ${message}`);
  process.exit(1);
};

const port = await new Promise((resolve) => {
  const server = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const child = spawn(
  process.execPath,
  ["node_modules/.bin/x-cluster", "-w", "2", "cli_server.mjs"],
  {
    // Its control socket in this directory, not in the user's runtime directory.
    env: { ...process.env, PORT: String(port), XDG_RUNTIME_DIR: process.cwd() },
    stdio: ["ignore", "inherit", "pipe"],
  },
);
let stderr = "";
const ready = new Promise((resolve, reject) => {
  child.stderr.setEncoding("utf8").on("data", (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
    if (/2 workers ready/.test(stderr)) resolve();
  });
  child.once(
    "exit",
    (code) => reject(new Error(`x-cluster exited with ${code} before it was ready`)),
  );
});
const exited = new Promise((resolve) =>
  child.once("exit", (code, signal) => resolve({ code, signal }))
);
const timer = setTimeout(() => {
  child.kill("SIGKILL");
  fail(`no answer in 20 s:\n${stderr}`);
}, 20_000);
try {
  await ready;
} catch (error) {
  fail(error.message);
}
const pids = new Set();
for (let i = 0; i < 50 && pids.size < 2; i++) {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
  pids.add(await response.text());
}
child.kill("SIGTERM");
const { code, signal } = await exited;
clearTimeout(timer);
if (pids.size !== 2) fail(`answers came from ${pids.size} pid(s), expected 2`);
if (code !== 0) fail(`exit code ${code ?? signal} after SIGTERM, expected 0`);
console.log(`SMOKE_OK ${[...pids].join(",")}`);
