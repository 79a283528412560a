// The error a failed worker produces names the file and line and the system code, and never
// carries terminal escapes: unit cases from stderr captured on Node 24, Deno 2.9 and Bun 1.4, and a
// real worker with a syntax error on the runtime running the test.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { errorLine } from "../src/_error_line.ts";
import { withApp } from "./_helpers.ts";

const ESC = "\u001b";
const NODE_SYNTAX = "file:///tmp/el/bad.ts:1\nconst x = ;\n          ^\n\n" +
  "SyntaxError [ERR_INVALID_TYPESCRIPT_SYNTAX]: Expression expected\n" +
  "    at parseTypeScript (node:internal/modules/typescript:72:36)\n" +
  "    at Module._compile (node:internal/modules/cjs/loader:1883:15)\n\nNode.js v24.21.0\n";
const DENO_SYNTAX =
  `${ESC}[0m${ESC}[1m${ESC}[31merror${ESC}[0m: SyntaxError: Expression expected\n` +
  "  |\n1 | const x = ;\n  |           ~\n    at file:///tmp/el/bad.ts:1:11\n\n" +
  "Stack backtrace:\n   0: <unknown>\n";
const BUN_SYNTAX = "1 | const x = ;\n              ^\nerror: Unexpected ;\n" +
  "    at /tmp/el/bad.ts:1:11\n\nBun v1.4.5 (Linux x64)\n";
const DENO_IN_USE = `${ESC}[0m${ESC}[1m${ESC}[31merror${ESC}[0m: Uncaught (in promise) ` +
  "EADDRINUSE: Worker 1 could not serve *:8000: listen EADDRINUSE: address already in use\n" +
  '  throw new ClusterError("EADDRINUSE", "Worker 1 could not serve");\n' +
  `${ESC}[0m${ESC}[31m        ^${ESC}[0m\n` +
  `    at ${ESC}[0m${ESC}[1m${ESC}[3mbind${ESC}[0m (${ESC}[0m${ESC}[2mfile:///tmp/el/` +
  `${ESC}[0m${ESC}[36minuse.ts${ESC}[0m:${ESC}[33m9${ESC}[0m:${ESC}[33m9${ESC}[0m)\n`;

test("errorLine() keeps Node's file heading for a TypeScript syntax error", () => {
  assert.equal(
    errorLine(NODE_SYNTAX),
    "SyntaxError [ERR_INVALID_TYPESCRIPT_SYNTAX]: Expression expected (file:///tmp/el/bad.ts:1)",
  );
});

test("errorLine() strips Deno's colours and skips its code frame", () => {
  assert.equal(
    errorLine(DENO_SYNTAX),
    "error: SyntaxError: Expression expected (file:///tmp/el/bad.ts:1:11)",
  );
});

test("errorLine() reads Bun's error under its code frame", () => {
  assert.equal(errorLine(BUN_SYNTAX), "error: Unexpected ; (/tmp/el/bad.ts:1:11)");
});

test("errorLine() never picks a source line Deno echoed over the error", () => {
  const line = errorLine(DENO_IN_USE);
  assert.match(
    line,
    /^error: Uncaught \(in promise\) EADDRINUSE: .*\(file:\/\/\/tmp\/el\/inuse.ts:9:9\)$/,
  );
  assert.ok(!line.includes("throw new"), line);
  assert.ok(!line.includes(ESC), line);
});

test("errorLine() without an error line gives the last lines", () => {
  assert.equal(errorLine("one\ntwo\nthree\nfour\n"), "two | three | four");
});

test("a worker with a syntax error fails with its file, line and no escapes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xcluster-syntax-"));
  const script = join(dir, "broken.ts");
  writeFileSync(script, "const x = ;\n");
  try {
    await withApp({ APP_WORKERS: "1", APP_EXEC: script, APP_SILENT: "1" }, async (app) => {
      const [failed] = await app.waitFor((e) => e.ev === "start-failed");
      const message = failed.message as string;
      assert.equal(failed.code, "WORKER_START_FAILED");
      assert.ok(message.includes("broken.ts:1"), message);
      assert.match(message, /SyntaxError|Unexpected|Expression expected/);
      assert.ok(!message.includes(ESC), message);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
