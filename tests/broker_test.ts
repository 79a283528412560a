// Unit tests for src/_broker.ts: handle keys, policy resolution (incl. the serve() default) and
// UNSUPPORTED answers, with a fake adapter. No socket is opened.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BrokerMember, handleKey, missingCapability, ServerBroker } from "../src/_broker.ts";
import type { QueryMessage, QueryResult } from "../src/protocol.ts";
import { DEFAULTS } from "../src/options.ts";
import { fakeAdapter } from "./_fake_adapter.ts";
import { flush } from "./_promises.ts";

const adapter = fakeAdapter;

const query = (q: Partial<QueryMessage> = {}): QueryMessage => ({
  cmd: "query",
  seq: 1,
  hostname: "127.0.0.1",
  port: 8000,
  policy: null,
  backlog: null,
  index: 0,
  api: "listen",
  ...q,
});

function broker(policy: QueryMessage["policy"] | undefined, a = adapter()) {
  return new ServerBroker(Promise.resolve(a), {
    policy: policy ?? undefined,
    strictReloads: false,
    predecessor: () => undefined,
  });
}

test("handleKey() is policy|host|port, with the port-0 index", () => {
  assert.equal(handleKey("round-robin", query()), "round-robin|127.0.0.1|8000");
  assert.equal(handleKey("shared", query({ hostname: null, port: 0, index: 2 })), "shared||0#2");
  assert.notEqual(
    handleKey("reuse-port", query({ port: 0, index: 0 })),
    handleKey("reuse-port", query({ port: 0, index: 1 })),
    "a worker's second listen(0) gets its own port",
  );
});

test("policyFor(): the query's own policy, then the cluster's, then the API's default", () => {
  const a = adapter();
  assert.equal(broker(undefined).policyFor(a, query({ api: "serve" })), "reuse-port");
  assert.equal(broker(undefined).policyFor(a, query({ api: "listen" })), "round-robin");
  assert.equal(broker("shared").policyFor(a, query({ api: "serve" })), "shared");
  assert.equal(broker("shared").policyFor(a, query({ policy: "round-robin" })), "round-robin");
  const noReusePort = adapter({ reusePort: { reason: "no SO_REUSEPORT here" } });
  assert.equal(
    broker(undefined, noReusePort).policyFor(noReusePort, query({ api: "serve" })),
    "round-robin",
  );
});

test("query() answers UNSUPPORTED, naming the reason and what would work", async () => {
  const a = adapter({ sharedListenHandle: { reason: "listen sockets cannot be shared" } });
  const replies: QueryResult[] = [];
  const member: BrokerMember = {
    id: 1,
    connected: true,
    handoff: () => Promise.resolve(true),
    lend: () => Promise.resolve(undefined),
    reply: (_ack, result) => (replies.push(result), Promise.resolve()),
  };
  await broker("shared", a).query(member, query());
  assert.deepEqual(replies, [{
    ok: false,
    code: "UNSUPPORTED",
    message: missingCapability(a, "shared"),
  }]);
  assert.match(
    replies[0].ok ? "" : replies[0].message,
    /"shared" is not available on fake 1\.0: listen sockets cannot be shared; use "round-robin" or "reuse-port"/,
  );
});

test("round-robin's default maxInFlight: 1 with handoff receipts, 4 without or with head bytes", async () => {
  const inFlight = async (
    capabilities: Record<string, unknown>,
    options: { maxInFlight?: number; sticky?: boolean } = {},
  ): Promise<number> => {
    let accept: ((connection: unknown) => void) | undefined;
    const a = {
      ...adapter({ readHead: true, ...capabilities }),
      listen(_options: unknown, onConnection: (connection: unknown) => void) {
        accept = onConnection;
        const address = { hostname: "127.0.0.1", port: 8000, family: "IPv4" };
        const close = () => Promise.resolve();
        return Promise.resolve({ address, handle: {}, close, release: () => {} });
      },
    } as unknown as ReturnType<typeof adapter>;
    const b = new ServerBroker(Promise.resolve(a), {
      policy: undefined,
      maxInFlight: options.maxInFlight,
      sticky: options.sticky ? { ...DEFAULTS.sticky, header: "x-user" } : undefined,
      strictReloads: false,
      predecessor: () => undefined,
    });
    const pending: Array<(accepted: boolean) => void> = [];
    const member: BrokerMember = {
      id: 1,
      connected: true,
      handoff: () => new Promise((resolve) => pending.push(resolve)), // answered by the test
      lend: () => Promise.resolve(undefined),
      reply: () => Promise.resolve(),
    };
    await b.query(member, query({ http: true }));
    const [{ key }] = [...b.listeners()];
    assert.ok(b.listening(member, key, { hostname: "127.0.0.1", port: 8000, family: "IPv4" }));
    for (let i = 0; i < 8; i++) accept!({ connection: i });
    await flush();
    assert.equal(pending.length, 1, "one at a time until a backlog has waited");
    // The backlog has waited (src/_spill_gate.ts): the worker that answers takes up to the limit.
    await new Promise((resolve) => setTimeout(resolve, 10));
    pending[0](true);
    await flush();
    return pending.length - 1;
  };
  assert.equal(await inFlight({ handoffReceipts: true }), 1);
  assert.equal(await inFlight({}), 4);
  assert.equal(
    await inFlight({ handoffReceipts: true }, { sticky: true }),
    4,
    "heads are answered",
  );
  assert.equal(await inFlight({ handoffReceipts: true }, { maxInFlight: 3 }), 3, "the option wins");
});
