// x-cluster's control socket: a running primary listens on a Unix socket (mode 0600, in a 0700
// per-user directory, or where --control says), prints its path at start, and `x-cluster
// status [--json]`, `reload`, `scale <n>` and `stop` steer it. Garbage on the socket gets an
// error reply and the primary serves on; another user cannot connect (run as root: the probe
// runs as nobody through setpriv, or the test is skipped saying why).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { freePort } from "../scripts/_ports.ts";
import { cliCommand, distinctPids, runCli, withCli } from "./_cli.ts";
import { fixture } from "./_helpers.ts";

/** A temporary directory, removed by `remove()`. */
function tempDir(mode = 0o700): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "x-cluster-ctl-"));
  chmodSync(dir, mode);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Sends `bytes` raw to the socket (then ends its side); resolves with what came back. */
function raw(socket: string, bytes: string | Uint8Array, end = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let data = "";
    client.setEncoding("utf8");
    client.on("data", (chunk: string) => (data += chunk));
    client.once("connect", () => (end ? client.end(bytes) : client.write(bytes)));
    client.once("error", reject);
    client.once("close", () => resolve(data));
    setTimeout(() => client.destroy(), 8000);
  });
}

test("the default control socket: 0600 in a 0700 runtime directory; status, scale, reload, stop", async () => {
  const { dir: runtimeDir, remove } = tempDir();
  const env = { XDG_RUNTIME_DIR: runtimeDir };
  const socket = path.join(runtimeDir, "x-cluster", "x-cluster.sock");
  try {
    const port = await freePort();
    await withCli(
      ["-w", "2", fixture("cli_http.ts")],
      { ...env, PORT: String(port) },
      async (run) => {
        assert.ok((await run.waitForLine(/control socket /)).includes(socket));
        await run.waitForLine(/2 workers ready/);
        assert.equal(statSync(socket).mode & 0o777, 0o600);
        assert.equal(statSync(path.dirname(socket)).mode & 0o777, 0o700);

        const table = await runCli(["status"], env);
        assert.equal(table.code, 0, table.stderr);
        const [head, header, ...rows] = table.stdout.split("\n");
        assert.match(
          head,
          new RegExp(
            `^x-cluster pid ${run.pgid}, running 2 workers, up \\d+s, listening on 127\\.0\\.0\\.1:${port}$`,
          ),
        );
        assert.deepEqual(header.split(/\s+/), [
          "id",
          "pid",
          "slot",
          "state",
          "uptime",
          "restarts",
          "requests",
          "req/s",
          "rss",
          "cpu",
          "lag",
        ]);
        assert.equal(rows.length, 2);
        const pids = (await distinctPids(port, 2)).sort();
        assert.deepEqual(rows.map((row) => Number(row.split(/\s+/)[1])).sort(), pids);

        const json = await runCli(["status", "--json"], env);
        const status = JSON.parse(json.stdout);
        assert.equal(status.pid, run.pgid);
        assert.equal(status.state, "running");
        assert.deepEqual(status.workers.map((w: { pid: number }) => w.pid).sort(), pids);
        assert.deepEqual(Object.keys(status.workers[0]), [
          "id",
          "pid",
          "slot",
          "state",
          "uptime",
          "restarts",
          "requests",
          "requestsPerSecond",
          "rss",
          "cpuPercent",
          "eventLoopLag",
        ]);

        const scaled = await runCli(["scale", "3"], env);
        assert.equal(scaled.code, 0, scaled.stderr);
        assert.match(scaled.stdout, /^3 workers: pids \d+, \d+, \d+$/);
        assert.equal(
          JSON.parse((await runCli(["status", "--json"], env)).stdout).workers.length,
          3,
        );

        const reloaded = await runCli(["reload"], env);
        assert.equal(reloaded.code, 0, reloaded.stderr);
        const after = reloaded.stdout.replace(/^reloaded: pids /, "").split(", ").map(Number);
        assert.equal(after.length, 3);
        for (const pid of after) assert.ok(!pids.includes(pid));
        const restarts = JSON.parse((await runCli(["status", "--json"], env)).stdout).workers
          .map((w: { restarts: number }) => w.restarts);
        // Every slot got a new worker (more if the core had to retry one, as seen under load).
        assert.equal(restarts.length, 3);
        for (const count of restarts) assert.ok(count >= 1, `restarts ${restarts}`);

        const stopped = await runCli(["stop"], env);
        assert.deepEqual([stopped.code, stopped.stdout], [0, "stopping"]);
        assert.deepEqual(await run.exited(), { code: 0, signal: null });
        assert.deepEqual(await run.leftBehind(), []);
        assert.equal(existsSync(socket), false, "the socket file is removed");
      },
    );
  } finally {
    remove();
  }
});

test("garbage on the control socket gets an error reply and the primary serves on", async () => {
  const { dir, remove } = tempDir();
  const socket = path.join(dir, "ctl.sock");
  try {
    const port = await freePort();
    const args = ["-w", "1", "--control", socket, fixture("cli_http.ts")];
    await withCli(args, { PORT: String(port) }, async (run) => {
      await run.waitForLine(/1 worker ready/);
      const errorOf = async (bytes: string | Uint8Array) => {
        const reply = JSON.parse(await raw(socket, bytes));
        assert.equal(reply.ok, false);
        return reply.error as string;
      };
      assert.match(await errorOf("hello\n"), /^the request is not JSON/);
      assert.match(await errorOf("[1,2]\n"), /must be a JSON object/);
      assert.match(
        await errorOf('{"cmd":"rm -rf"}\n'),
        /^unknown "cmd" "rm -rf": use one of status/,
      );
      assert.match(await errorOf('{"cmd":"scale","workers":0}\n'), /integer >= 1: got 0/);
      assert.match(await errorOf('{"cmd":"scale"}'), /"scale" needs "workers"/); // no newline
      assert.match(await errorOf("x".repeat(100_000)), /longer than 4096 bytes/);
      const noise = new Uint8Array(20_000).map((_, i) => (i * 7919) % 256);
      await raw(socket, noise).catch(() => "");
      assert.equal(await raw(socket, ""), ""); // connect, say nothing, leave
      // Still alive, still serving, still answering.
      assert.equal((await distinctPids(port, 1)).length, 1);
      const status = await runCli(["status", "--json", "--control", socket]);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).workers.length, 1);
      assert.equal(run.child.exitCode, null);
      run.signal("SIGTERM");
      assert.equal((await run.exited()).code, 0);
    });
  } finally {
    remove();
  }
});

test("a second x-cluster on the same socket exits 2; a command with no primary exits 1", async () => {
  const { dir, remove } = tempDir();
  const socket = path.join(dir, "ctl.sock");
  try {
    const none = await runCli(["status", "--control", socket]);
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `x-cluster status: cannot reach ${socket}: no x-cluster runs there (start one, or give its --control <path>)`,
    );
    const port = await freePort();
    const args = ["-w", "1", "--control", socket, fixture("cli_http.ts")];
    await withCli(args, { PORT: String(port) }, async (run) => {
      await run.waitForLine(/1 worker ready/);
      const second = await runCli(args, { PORT: String(await freePort()) });
      assert.equal(second.code, 2);
      assert.match(
        second.stderr,
        /^x-cluster: another x-cluster answers on the control socket .*ctl\.sock: stop it, or give this one --control <path>$/,
      );
      assert.equal((await runCli(["stop", "--control", socket])).code, 0);
      assert.equal((await run.exited()).code, 0);
    });
    const bogus = await runCli(["status", "--bogus"]);
    assert.deepEqual([bogus.code, bogus.stderr], [
      2,
      "x-cluster: unknown option --bogus: usage is x-cluster status [--json] [--control <path>]",
    ]);
    const usage = await runCli(["scale", "--control", socket]);
    assert.deepEqual([usage.code, usage.stderr], [
      2,
      "x-cluster: scale needs one worker count: usage is x-cluster scale <n> [--control <path>]",
    ]);
  } finally {
    remove();
  }
});

const asNobody = process.getuid?.() !== 0
  ? "needs root, to run the other user's client through setpriv"
  : spawnSync("setpriv", ["--version"]).status !== 0
  ? "setpriv is not installed"
  : false;

test("another user cannot connect to the control socket", { skip: asNobody }, async () => {
  // A directory everyone may enter: the socket's own mode (0600) must refuse on its own.
  const { dir, remove } = tempDir(0o755);
  const socket = path.join(dir, "ctl.sock");
  const home = path.join(dir, "home");
  mkdirSync(home);
  chmodSync(home, 0o777);
  try {
    const port = await freePort();
    const args = ["-w", "1", "--control", socket, fixture("cli_http.ts")];
    await withCli(args, { PORT: String(port) }, async (run) => {
      await run.waitForLine(/1 worker ready/);
      const { file, args: argv } = cliCommand(["status", "--control", socket]);
      const probe = spawnSync("setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        file,
        ...argv,
      ], {
        encoding: "utf8",
        env: { ...process.env, HOME: home, DENO_DIR: path.join(home, "deno") },
        timeout: 60_000,
      });
      assert.equal(probe.status, 1, probe.stderr);
      assert.match(probe.stderr, /cannot reach .*ctl\.sock: permission denied/);
      // The owner still gets in.
      assert.equal((await runCli(["status", "--control", socket])).code, 0);
      run.signal("SIGTERM");
      assert.equal((await run.exited()).code, 0);
    });
  } finally {
    remove();
  }
});

test("a control command finds the socket that the config file in its directory names", async () => {
  const { dir, remove } = tempDir();
  try {
    const port = await freePort();
    writeFileSync(
      path.join(dir, "x-cluster.json"),
      JSON.stringify({ workers: 1, script: fixture("cli_http.ts"), control: "run/ctl.sock" }),
    );
    await withCli([], { PORT: String(port) }, async (run) => {
      const line = await run.waitForLine(/control socket /);
      assert.ok(line.includes(path.join(dir, "run", "ctl.sock")), line);
      await run.waitForLine(/1 worker ready/);
      const status = await runCli(["status", "--json"], {}, dir);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).pid, run.pgid);
      assert.equal((await runCli(["stop"], {}, dir)).code, 0);
      assert.equal((await run.exited()).code, 0);
    }, dir);
  } finally {
    remove();
  }
});
