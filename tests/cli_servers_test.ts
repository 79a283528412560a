// x-cluster runs unmodified servers clustered: an express app and a hono (@hono/node-server) app
// on every runtime, a plain Deno.serve script on Deno and a plain Bun.serve script on Bun. Each
// answers from at least 2 worker pids through one port, stops on SIGTERM with exit code 0, and
// leaves no worker behind; `x-cluster status` shows each worker's figures from cluster.stats(),
// the native servers' requests included (cli/_native_serve.ts counts them), and `--max-requests`
// recycles a native server's worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../scripts/_ports.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ask, distinctPids, runCli, withCli } from "./_cli.ts";
import { fixture, runtime } from "./_helpers.ts";

const servers: { name: string; script: string; on: readonly string[]; native: boolean }[] = [
  { name: "express", script: "cli_express.ts", on: ["node", "deno", "bun"], native: false },
  { name: "hono", script: "cli_hono.ts", on: ["node", "deno", "bun"], native: false },
  { name: "Deno.serve", script: "cli_deno_serve.ts", on: ["deno"], native: true },
  { name: "Bun.serve", script: "cli_bun_serve.ts", on: ["bun"], native: true },
];

interface Row {
  pid: number;
  requests: number | null;
  requestsPerSecond: number | null;
  rss: number | null;
  cpuPercent: number | null;
  eventLoopLag: number | null;
}

/** `x-cluster status --json` until every worker has reported its figures (rss known). */
async function reported(socket: string): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const { stdout } = await runCli(["status", "--json", "--control", socket]);
    const rows = JSON.parse(stdout).workers as Row[];
    if (rows.every((row) => row.rss !== null) || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

for (const server of servers) {
  const skip = server.on.includes(runtime) ? false : `${server.name} runs on ${server.on} only`;
  test(
    `x-cluster -w 2 runs the ${server.name} app in 2 workers on one port`,
    { skip },
    async () => {
      const port = await freePort();
      const dir = mkdtempSync(path.join(tmpdir(), "x-cluster-servers-"));
      const socket = path.join(dir, "ctl.sock");
      const args = ["-w", "2", "--control", socket, fixture(server.script)];
      await withCli(args, { PORT: String(port) }, async (run) => {
        const ready = await run.waitForLine(/2 workers ready/);
        assert.match(ready, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
        const workers = run.members().filter((pid) => pid !== run.pgid);
        const pids = await distinctPids(port, 2);
        assert.equal(pids.length, 2, `answers came from ${pids}`);
        for (const pid of pids) assert.ok(workers.includes(pid), `${pid} is not a worker`);
        for (let i = 0; i < 20; i++) await ask(port);

        // status: the figures of cluster.stats(), with the requests made (22 or more).
        await new Promise((resolve) => setTimeout(resolve, 1200)); // one report interval
        const rows = await reported(socket);
        assert.deepEqual(rows.map((row) => row.pid).sort(), [...pids].sort());
        for (const row of rows) {
          assert.ok(row.rss! > 1024 * 1024, `rss ${row.rss}`);
          assert.equal(typeof row.cpuPercent, "number");
          assert.equal(typeof row.eventLoopLag, "number");
          assert.equal(typeof row.requestsPerSecond, "number");
        }
        const total = rows.reduce((sum, row) => sum + row.requests!, 0);
        assert.ok(total >= 22, `${total} requests counted, 22 or more were made`);
        run.signal("SIGTERM");
        assert.deepEqual(await run.exited(), { code: 0, signal: null });
        assert.deepEqual(await run.leftBehind(), []);
      }).finally(() => rmSync(dir, { recursive: true, force: true }));
    },
  );
}

for (const server of servers.filter((s) => s.native)) {
  const skip = server.on.includes(runtime) ? false : `${server.name} runs on ${server.on} only`;
  test(`x-cluster --max-requests 5 recycles a ${server.name} worker`, { skip }, async () => {
    const port = await freePort();
    const args = ["-w", "1", "--max-requests", "5", fixture(server.script)];
    await withCli(args, { PORT: String(port) }, async (run) => {
      await run.waitForLine(/1 workers? ready/);
      const first = await ask(port);
      for (let i = 0; i < 5; i++) await ask(port);
      await run.waitForLine(/reached --max-requests: replacing it/);
      // The replacement binds the port too; the old worker stops once it is ready.
      const deadline = Date.now() + 20_000;
      let answer = first;
      while (answer === first && Date.now() < deadline) {
        answer = await ask(port).catch(() => first);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.notEqual(answer, first, "the recycled worker still answers");
      run.signal("SIGTERM");
      assert.deepEqual(await run.exited(), { code: 0, signal: null });
      assert.deepEqual(await run.leftBehind(), []);
    });
  });
}
