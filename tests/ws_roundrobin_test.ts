// `ws` websockets through round-robin: 20 long-lived connections exchange messages for a while
// (each stays on the worker it was handed to) while new HTTP connections and websockets keep
// arriving; nothing is lost, and least-connections spreads the long-lived ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { withFixture } from "./_helpers.ts";
import { workerFor } from "./_sticky_client.ts";

function open(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function ask(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo of ${text} in 10 s`)), 10_000);
    ws.once("message", (data) => {
      clearTimeout(timer);
      resolve(String(data));
    });
    ws.send(text);
  });
}

test("ws websockets stay up and on their worker through round-robin while new connections arrive", async () => {
  await withFixture("sched_ws.ts", {}, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    const port = (await app.waitFor((e) => e.ev === "listening", 2))[0].port as number;
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < 20; i++) sockets.push(await open(port));
      const homes = await Promise.all(sockets.map((ws, i) => ask(ws, `hello ${i}`)));
      const home = homes.map((h) => h.split(":")[0]);
      homes.forEach((h, i) => assert.equal(h, `${home[i]}:hello ${i}`));
      const perWorker = new Map<string, number>();
      for (const h of home) perWorker.set(h, (perWorker.get(h) ?? 0) + 1);
      assert.deepEqual([...perWorker.values()].sort(), [10, 10], "least-connections: 10 each");
      // Rounds of messages on the long-lived sockets while short connections churn.
      let churned = 0;
      const churn = (async () => {
        for (let i = 0; i < 60; i++) {
          if (i % 3 === 0) (await open(port)).close();
          else await workerFor(port, "/");
          churned++;
        }
      })();
      for (let round = 0; round < 10; round++) {
        const echoes = await Promise.all(sockets.map((ws, i) => ask(ws, `r${round} s${i}`)));
        echoes.forEach((e, i) => assert.equal(e, `${home[i]}:r${round} s${i}`));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await churn;
      assert.equal(churned, 60);
      assert.ok(sockets.every((ws) => ws.readyState === WebSocket.OPEN));
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });
});
