// Node's documentation examples and the seeds' example programs, each with only the import
// changed, on the runtime running the tests.
import assert from "node:assert/strict";
import { test } from "node:test";
import { App, fixture, get, runtime } from "./_helpers.ts";
import { freePort, tcpRead } from "./_compat_helpers.ts";

/** Runs a fixture that prints plain lines; always kills its process group. */
async function run<T>(
  name: string,
  env: Record<string, string>,
  fn: (app: App, lines: () => string[]) => Promise<T>,
): Promise<T> {
  const app = new App(fixture(name), env);
  const lines = () => app.stderr.filter((s) => s.startsWith("stdout: ")).map((s) => s.slice(8));
  try {
    return await fn(app, lines);
  } catch (error) {
    (error as Error).message += `\noutput: ${app.stderr.join("\n").slice(-3000)}`;
    throw error;
  } finally {
    app.kill();
  }
}

/** GET that retries while the workers are still binding. */
async function getWhenUp(port: number): Promise<string> {
  for (let attempt = 0;; attempt++) {
    try {
      return await get(port);
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function until(check: () => boolean, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("compat: Node's docs example: primary forks, workers listen(port), exit logging", async () => {
  const port = await freePort();
  await run("compat_hello.ts", { PORT: String(port), WORKERS: "2" }, async (app, lines) => {
    await until(() => lines().filter((l) => /^Worker \d+ started$/.test(l)).length === 2);
    assert.match(lines()[0], /^Primary \d+ is running$/);
    await until(() => app.stderr.length > 0 && lines().length >= 3);
    const pids = lines().filter((l) => l.startsWith("Worker")).map((l) => l.split(" ")[1]);
    let bodies: string[] = [];
    for (let attempt = 0; attempt < 50 && bodies.length < 4; attempt++) {
      try {
        bodies.push(await get(port));
      } catch {
        bodies = [];
        await new Promise((r) => setTimeout(r, 100)); // workers still binding
      }
    }
    const by = bodies.map((b) => b.trim().split(" ").pop());
    assert.deepEqual([...new Set(by)].sort(), [...pids].sort(), "both workers answer, in turn");
    process.kill(Number(pids[0]), "SIGKILL");
    await until(() => lines().includes(`worker ${pids[0]} died`));
  });
});

test("compat: Node's docs example: the primary counts requests from workers' messages", async () => {
  const port = await freePort();
  await run("compat_count.ts", { PORT: String(port), WORKERS: "2" }, async (_app, lines) => {
    await until(() => lines().includes("numReqs = 0"));
    for (let i = 0; i < 5; i++) assert.equal(await getWhenUp(port), "hello world\n");
    await until(() => lines().includes("numReqs = 5"), 5000);
  });
});

test("compat: Node's docs example: disconnect with a timeout guard", async () => {
  const port = await freePort();
  await run("compat_disconnect.ts", { PORT: String(port) }, async (app, lines) => {
    const exit = await app.exited();
    assert.deepEqual(lines(), [
      `listening ${port}`,
      "worker got shutdown",
      "disconnect",
      "exit 0 null true",
    ]);
    assert.equal(exit.code, 0);
  });
  // A connection that never ends keeps the worker busy: the guard kills it.
  await run("compat_disconnect.ts", { PORT: String(port), GUARD: "1000" }, async (app, lines) => {
    await until(() => lines().some((l) => l.startsWith("listening")));
    const { connect } = await import("node:net");
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    await app.exited();
    socket.destroy();
    assert.ok(
      lines().includes("exit 0 null true") || lines().includes("timeout: kill"),
      lines().join("|"),
    );
  });
});

test("compat: the seeds' cluster hello world", async () => {
  const port = await freePort();
  await run("compat_seed_hello.ts", { PORT: String(port), WORKERS: "2" }, async () => {
    let body = "";
    for (let attempt = 0; attempt < 50 && !body; attempt++) {
      body = await get(port).catch(() => new Promise<string>((r) => setTimeout(r, 100, "")));
    }
    assert.equal(body, "hello world\n");
  });
});

test("compat: the seeds' handle passing: worker.send('server', server)", async () => {
  const port = await freePort();
  await run(
    "compat_seed_handle.ts",
    { PORT: String(port), CHILDREN: "2", CLOSE: "1" },
    async (app, lines) => {
      if (runtime === "deno") {
        // Deno moves a listen socket instead of sharing it: refused with a clear error.
        await until(() => lines().some((l) => l.startsWith("send error")));
        assert.match(
          lines().find((l) => l.startsWith("send error"))!,
          /Cannot send a net\.Server on deno/,
        );
        return;
      }
      await until(() => lines().filter((l) => l.endsWith("got the server")).length === 2);
      const said = new Set<string>();
      for (let i = 0; i < 10; i++) said.add(await tcpRead(port));
      for (const s of said) {
        assert.match(
          s,
          /^handled by child: \d+$/,
          "the parent closed its copy",
        );
      }
      assert.ok(app.events.length === 0);
    },
  );
});
