// x-cluster's live view in a real terminal (tmux): with stdout a terminal, the status table stays
// at the bottom and is redrawn in place (one header on the screen however often it is drawn),
// worker log lines scroll above it, a scale shows up in it, and Ctrl-C stops with exit code 0.
// Skipped, saying so, only when tmux is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { freePort } from "../scripts/_ports.ts";
import { killGroup } from "../scripts/_process.ts";
import { cliCommand, runCli } from "./_cli.ts";
import { alive, fixture } from "./_helpers.ts";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
/** A tmux server of this test alone (-L), so that no one else's sessions are touched. */
const server = `x-cluster-live-${process.pid}`;

function tmux(...args: string[]): string {
  const result = spawnSync("tmux", ["-L", server, ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** Polls the screen until `done` holds for it; returns it. */
async function screenUntil(done: (screen: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let screen = "";
  while (Date.now() < deadline) {
    screen = tmux("capture-pane", "-p", "-t", "live");
    if (done(screen)) return screen;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the screen never showed ${what}:\n${screen}`);
}

const HEADER =
  /^id\s+pid\s+slot\s+state\s+uptime\s+restarts\s+requests\s+req\/s\s+rss\s+cpu\s+lag$/;
const headers = (screen: string) => screen.split("\n").filter((l) => HEADER.test(l)).length;

test("the live view redraws the table in place below the log lines", {
  skip: hasTmux ? false : "tmux is not installed (apt-get install tmux)",
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "x-cluster-live-"));
  const socket = path.join(dir, "ctl.sock");
  const port = await freePort();
  const { file, args } = cliCommand(["-w", "2", "--control", socket, fixture("cli_http.ts")]);
  const command = [`PORT=${port}`, file, ...args].join(" ");
  let primary = 0;
  try {
    tmux(
      "new-session",
      "-d",
      "-x",
      "160",
      "-y",
      "40",
      "-s",
      "live",
      `${command}; echo EXIT=$?; sleep 60`,
    );
    let screen = await screenUntil(
      (s) =>
        /running 2 workers/.test(s) && /\[w2\] stderr of/.test(s) && /\[w1\] stderr of/.test(s),
      "2 running workers",
    );
    primary = Number(/x-cluster pid (\d+), running/.exec(screen)![1]);
    const lines = screen.split("\n");
    const header = lines.findIndex((l) => HEADER.test(l));
    assert.equal(headers(screen), 1, screen);
    for (const id of [1, 2]) {
      const logged = lines.findIndex((l) => new RegExp(`^\\[w${id}\\] started \\d+$`).test(l));
      assert.ok(logged >= 0 && logged < header, `[w${id}] started is above the table:\n${screen}`);
    }
    assert.equal(lines.slice(header + 1).filter((l) => /^w\d+\s+\d+\s+\d/.test(l)).length, 2);

    // Wait for a few redraws: still one table.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(headers(tmux("capture-pane", "-p", "-t", "live")), 1);

    assert.equal((await runCli(["scale", "3", "--control", socket])).code, 0);
    screen = await screenUntil(
      (s) => /running 3 workers/.test(s) && /^w3\s/m.test(s) && /\[w3\] stderr of/.test(s),
      "3 workers",
    );
    assert.equal(headers(screen), 1, screen);
    const after = screen.split("\n");
    const w3log = after.findIndex((l) => /^\[w3\] started/.test(l));
    assert.ok(w3log < after.findIndex((l) => HEADER.test(l)), screen);

    tmux("send-keys", "-t", "live", "C-c");
    screen = await screenUntil((s) => /^EXIT=\d+$/m.test(s), "the exit code");
    assert.match(screen, /^EXIT=0$/m);
    assert.match(screen, /SIGINT: stopping/);
    const pids = [...screen.matchAll(/^w\d+\s+(\d+)\s/gm)].map((m) => Number(m[1]));
    assert.ok(pids.length >= 3);
    for (const pid of [primary, ...pids]) assert.equal(alive(pid), false, `${pid} is alive`);
  } finally {
    // The pane's shell leads the process group of everything it started (sh -c has no job
    // control): kill that group first, since the SIGHUP of kill-server would only reload.
    const pane = spawnSync("tmux", ["-L", server, "display", "-p", "-t", "live", "#{pane_pid}"], {
      encoding: "utf8",
    });
    if (pane.status === 0 && Number(pane.stdout) > 0) killGroup(Number(pane.stdout));
    spawnSync("tmux", ["-L", server, "kill-server"]);
    if (primary && alive(primary)) process.kill(primary, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
