// x-cluster runs unmodified servers clustered: an express app and a hono (@hono/node-server) app
// on every runtime, a plain Deno.serve script on Deno and a plain Bun.serve script on Bun. Each
// answers from at least 2 worker pids through one port, stops on SIGTERM with exit code 0, and
// leaves no worker behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../scripts/_ports.ts";
import { distinctPids, withCli } from "./_cli.ts";
import { fixture, runtime } from "./_helpers.ts";

const servers: { name: string; script: string; on: readonly string[]; body: RegExp }[] = [
  { name: "express", script: "cli_express.ts", on: ["node", "deno", "bun"], body: /^express / },
  { name: "hono", script: "cli_hono.ts", on: ["node", "deno", "bun"], body: /^hono / },
  { name: "Deno.serve", script: "cli_deno_serve.ts", on: ["deno"], body: /^deno / },
  { name: "Bun.serve", script: "cli_bun_serve.ts", on: ["bun"], body: /^bun / },
];

for (const server of servers) {
  const skip = server.on.includes(runtime) ? false : `${server.name} runs on ${server.on} only`;
  test(
    `x-cluster -w 2 runs the ${server.name} app in 2 workers on one port`,
    { skip },
    async () => {
      const port = await freePort();
      await withCli(["-w", "2", fixture(server.script)], { PORT: String(port) }, async (run) => {
        const ready = await run.waitForLine(/2 workers ready/);
        assert.match(ready, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
        const workers = run.members().filter((pid) => pid !== run.pgid);
        const pids = await distinctPids(port, 2);
        assert.equal(pids.length, 2, `answers came from ${pids}`);
        for (const pid of pids) assert.ok(workers.includes(pid), `${pid} is not a worker`);
        run.signal("SIGTERM");
        assert.deepEqual(await run.exited(), { code: 0, signal: null });
        assert.deepEqual(await run.leftBehind(), []);
      });
    },
  );
}
