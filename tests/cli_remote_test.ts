// `deno run -A jsr:@x/cluster/cli …` runs cli.ts from a remote URL, and its workers preload it
// from there. JSR is out of reach of the tests, so the repository is served over HTTP from
// 127.0.0.1 (as application/typescript) and the CLI runs from that URL: 2 workers answer, SIGTERM
// ends the run with 0. Deno only (Node and Bun do not run modules from URLs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFile, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { groupMembers, killGroup, spawnGroup, waitForGroup } from "../scripts/_process.ts";
import { freePort } from "../scripts/_ports.ts";
import { distinctPids } from "./_cli.ts";
import { fixture, runtime } from "./_helpers.ts";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

test("deno run -A <url of cli.ts> runs the workers from that URL", {
  skip: runtime === "deno" ? false : "running a module from a URL is Deno's (jsr:@x/cluster/cli)",
}, async () => {
  const files = http.createServer((request, response) => {
    const file = path.join(root, decodeURIComponent(new URL(request.url!, "http://x").pathname));
    if (!file.startsWith(root + path.sep)) return void response.writeHead(403).end();
    readFile(file, (error, data) => {
      if (error) return void response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/typescript" }).end(data);
    });
  });
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
  const { port: filesPort } = files.address() as AddressInfo;
  const denoDir = mkdtempSync(path.join(tmpdir(), "x-cluster-remote-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${filesPort}/cli.ts`;
  const child = spawnGroup(process.execPath, [
    "run",
    "-A",
    url,
    "-w",
    "2",
    "--control",
    path.join(denoDir, "ctl.sock"),
    fixture("cli_http.ts"),
  ], {
    env: { ...process.env, DENO_DIR: denoDir, PORT: String(port), NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!/2 workers ready/.test(stderr)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `not ready:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await distinctPids(port, 2)).length, 2);
    const workers = groupMembers(child.pid!).filter((pid) => pid !== child.pid);
    assert.equal(workers.length, 2);
    process.kill(child.pid!, "SIGTERM");
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(await waitForGroup(child.pid!, 5000), []);
  } finally {
    killGroup(child.pid!);
    files.close();
    rmSync(denoDir, { recursive: true, force: true });
  }
});
