// The `scheduler` option and the policies: validation, the default policy it implies, and
// UNSUPPORTED under "reuse-port" and "shared" (the kernel or the workers pick, nobody routes),
// in the options, in the broker (with a fake adapter) and in a real cluster.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BrokerMember, ServerBroker } from "../src/_broker.ts";
import { resolveOptions } from "../src/_resolve_options.ts";
import { ClusterError } from "../src/errors.ts";
import type { QueryMessage, QueryResult } from "../src/protocol.ts";
import type { SchedulerOption } from "../src/scheduler_types.ts";
import type { Capabilities } from "../src/types.ts";
import { fakeAdapter } from "./_fake_adapter.ts";
import { withFixture } from "./_helpers.ts";

const adapter = fakeAdapter();

const query = (q: Partial<QueryMessage> = {}): QueryMessage => ({
  cmd: "query",
  seq: 1,
  hostname: "127.0.0.1",
  port: 8000,
  policy: null,
  backlog: null,
  index: 0,
  api: "serve",
  scheduler: null,
  ...q,
});

function broker(policy?: QueryMessage["policy"], scheduler?: SchedulerOption) {
  return new ServerBroker(Promise.resolve(adapter), {
    policy: policy ?? undefined,
    scheduler,
    maxInFlight: 4,
    strictReloads: false,
    predecessor: () => undefined,
  });
}

async function answer(b: ServerBroker, q: QueryMessage): Promise<QueryResult> {
  const replies: QueryResult[] = [];
  const member: BrokerMember = {
    id: 1,
    connected: true,
    handoff: () => Promise.resolve(true),
    lend: () => Promise.resolve(undefined),
    reply: (_ack, result) => (replies.push(result), Promise.resolve()),
  };
  await b.query(member, q);
  return replies[0];
}

test("resolveOptions() takes each built-in scheduler and a function; the default is unset", () => {
  for (const name of ["least-connections", "round-robin", "power-of-two", "ip-hash"] as const) {
    assert.equal(resolveOptions({ scheduler: name }).scheduler, name);
  }
  const fn: SchedulerOption = (c) => c[0];
  assert.equal(resolveOptions({ scheduler: fn }).scheduler, fn);
  assert.equal(resolveOptions({}).scheduler, undefined);
  assert.equal(resolveOptions({}).trustProxy, false);
  assert.throws(
    () => resolveOptions({ scheduler: "fastest" as never }),
    (e: Error) => e instanceof TypeError && /'scheduler'.*least-connections/.test(e.message),
  );
  assert.throws(() => resolveOptions({ trustProxy: "yes" as never }), TypeError);
});

test("resolveOptions() rejects a scheduler under reuse-port or shared with UNSUPPORTED naming round-robin", () => {
  for (const policy of ["reuse-port", "shared"] as const) {
    assert.throws(
      () => resolveOptions({ policy, scheduler: "ip-hash" }),
      (e: Error) =>
        e instanceof ClusterError && e.code === "UNSUPPORTED" && e.message.includes(policy) &&
        /use policy "round-robin"/.test(e.message),
    );
  }
  assert.equal(resolveOptions({ policy: "round-robin", scheduler: "ip-hash" }).scheduler, "ip-hash");
});

test("a scheduler makes round-robin the default policy, also for serve()", () => {
  assert.equal(broker().policyFor(adapter, query()), "reuse-port", "serve()'s default without one");
  assert.equal(broker(undefined, "power-of-two").policyFor(adapter, query()), "round-robin");
  assert.equal(broker().policyFor(adapter, query({ scheduler: "ip-hash" })), "round-robin");
});

test("query() answers UNSUPPORTED for a scheduler under reuse-port or shared", async () => {
  for (const policy of ["reuse-port", "shared"] as const) {
    const own = await answer(broker(), query({ policy, scheduler: "ip-hash" }));
    assert.equal(own.ok, false);
    assert.equal((own as { code: string }).code, "UNSUPPORTED");
    assert.match((own as { message: string }).message, /scheduler "ip-hash".*use policy "round-robin"/);
    const clusters = await answer(broker(undefined, "round-robin"), query({ policy }));
    assert.match((clusters as { message: string }).message, /the cluster's 'scheduler'/);
  }
});

test("serve({ scheduler }) under reuse-port rejects with UNSUPPORTED in a real worker", async () => {
  await withFixture(
    "sched_app.ts",
    { SCHED_WORKERS: "1", SCHED_POLICY: "reuse-port", SCHED_SERVE_SCHEDULER: "ip-hash" },
    async (app) => {
      const [failed] = await app.waitFor((e) => e.ev === "serve-failed");
      assert.equal(failed.code, "UNSUPPORTED");
      assert.match(failed.message as string, /use policy "round-robin"/);
    },
  );
});

test("the protocol carries the scheduler of a query, load reports and a reply's open count", async () => {
  const { decodeAtPrimary, encodeInternal } = await import("../src/protocol.ts");
  const token = "t";
  const decode = (m: unknown) => decodeAtPrimary(encodeInternal(token, m as never), token);
  assert.deepEqual(decode({ cmd: "load", key: "round-robin||80", active: 7 }), {
    kind: "internal",
    message: { cmd: "load", key: "round-robin||80", active: 7 },
  });
  assert.equal(decode({ cmd: "load", key: "k", active: -1 }).kind, "invalid");
  assert.equal(decode({ cmd: "load", key: "", active: 1 }).kind, "invalid");
  assert.deepEqual(decode({ cmd: "reply", ack: 3, accepted: true, active: 2 }), {
    kind: "internal",
    message: { cmd: "reply", ack: 3, accepted: true, active: 2 },
  });
  assert.equal(decode({ cmd: "reply", ack: 3, accepted: true, active: 1.5 }).kind, "invalid");
  const q = decode(query({ scheduler: "power-of-two" }));
  assert.equal(q.kind === "internal" && q.message.cmd === "query" && q.message.scheduler, "power-of-two");
  assert.equal(decode(query({ scheduler: "fastest" as never })).kind, "invalid");
});

test("a worker's load reports count only for addresses it got connections on (others grow no map)", async () => {
  const { encodeInternal } = await import("../src/protocol.ts");
  const { WorkerRecord } = await import("../src/_worker_record.ts");
  const served = "round-robin||80";
  const errors: unknown[] = [];
  const record = new WorkerRecord(1, 0, "listening", {
    emit: (event, ...args) => {
      if (event === "error") errors.push(args[0]);
      return true;
    },
    dispatch: () => {},
    heartbeat: () => {},
    stats: () => {},
    handedOff: () => {},
    forget: () => {},
    exited: () => {},
  });
  const events = record.processEvents();
  // The primary hands it one connection on `served` (the reply never comes: no process).
  record.handoff(served, {}).catch(() => {});
  const load = (key: string, active: number) =>
    events.message(encodeInternal(record.token, { cmd: "load", key, active }), undefined);
  load(served, 3);
  for (let i = 0; i < 1000; i++) load(`round-robin||${1000 + i}`, 1);
  assert.equal(record.activeConnections(served), 3);
  assert.equal(record.activeConnections(), 3, "reports for 1,000 unserved keys are not kept");
  load(served, 0);
  assert.equal(record.activeConnections(), 0);
  assert.deepEqual(errors, []);
});

test("query() refuses sticky and ip-hash with UNSUPPORTED where the adapter lacks readHead / peerAddress", async () => {
  const limits = { maxHeadSize: 16384, headTimeout: 10_000, claimWait: 0, claimTtl: 600_000, maxClaims: 100 };
  const make = (capabilities: Partial<Capabilities>, options: Record<string, unknown>) =>
    new ServerBroker(
      Promise.resolve(fakeAdapter(capabilities)),
      { policy: undefined, maxInFlight: 4, strictReloads: false, predecessor: () => undefined, ...options },
    );
  const rr = query({ policy: "round-robin", http: true });
  const sticky = { sticky: { header: "x-user", ...limits } };
  const noHeads = await answer(make({}, sticky), rr);
  assert.equal((noHeads as { code: string }).code, "UNSUPPORTED");
  assert.match((noHeads as { message: string }).message, /'sticky' routing reads request heads .*fake 1\.0.*'readHead'/);
  const why = await answer(make({ readHead: { reason: "no streams here" } }, { trustProxy: true }), query({ ...rr, scheduler: "ip-hash" }));
  assert.match((why as { message: string }).message, /ip-hash with 'trustProxy'.*no streams here/);
  const noPeers = await answer(make({ readHead: true }, {}), query({ ...rr, scheduler: "ip-hash" }));
  assert.match((noPeers as { message: string }).message, /"ip-hash" needs each client's address.*'peerAddress'/);
  // Declared: the query goes on to bind (the fake adapter cannot: another error, not UNSUPPORTED).
  const declared = await answer(make({ readHead: true, peerAddress: true }, sticky), query({ ...rr, scheduler: "ip-hash" }));
  assert.notEqual((declared as { code?: string }).code, "UNSUPPORTED");
  // A net server's address reads no heads: sticky needs nothing of the adapter there.
  const plain = await answer(make({}, sticky), query({ policy: "round-robin" }));
  assert.notEqual((plain as { code?: string }).code, "UNSUPPORTED");
});
