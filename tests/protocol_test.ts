// Unit tests for src/protocol.ts: envelopes, tokens, validation of internal messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createToken,
  decodeAtPrimary,
  decodeAtWorker,
  encodeInternal,
  encodeUser,
  ENVELOPE_KEY,
  type InternalMessage,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from "../src/protocol.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";

/** An envelope carrying `inner` as its internal message, with the right token. */
function envelope(inner: unknown, token = TOKEN): Record<string, unknown> {
  return { [ENVELOPE_KEY]: token, i: inner };
}

/** A well-formed query, to be spoiled one field at a time. */
const QUERY = {
  cmd: "query",
  seq: 1,
  hostname: null,
  port: 80,
  policy: null,
  backlog: null,
  index: 0,
};
const LISTENING = {
  cmd: "listening",
  key: "round-robin||80",
  address: { hostname: "127.0.0.1", port: 80, family: "IPv4" },
};
const OK_RESULT = { ok: true, policy: "shared", key: "shared||80", hostname: null, port: 80 };

function assertInvalid(result: { kind: string; reason?: string }, label: string): void {
  assert.equal(result.kind, "invalid", `${label}: expected invalid, got ${JSON.stringify(result)}`);
  assert.equal(typeof result.reason, "string", `${label}: reason is a string`);
  assert.ok(result.reason!.length > 0, `${label}: reason is not empty`);
}

// --- createToken ----------------------------------------------------------------------------

test("createToken() gives 32 lowercase hex chars", () => {
  assert.match(createToken(), /^[0-9a-f]{32}$/);
});

test("createToken() gives a different token on every call", () => {
  const tokens = new Set(Array.from({ length: 200 }, () => createToken()));
  assert.equal(tokens.size, 200);
});

// --- user data ------------------------------------------------------------------------------

test("decodeAtPrimary() delivers a raw message that looks like Node's internal one as user data", () => {
  const raw = { cmd: "NODE_CLUSTER", act: "online" };
  const decoded = decodeAtPrimary(raw, TOKEN);
  assert.equal(decoded.kind, "user");
  assert.equal((decoded as { data: unknown }).data, raw);
  assert.deepEqual(raw, { cmd: "NODE_CLUSTER", act: "online" });
});

test("decodeAtWorker() delivers a raw message that looks like Node's internal one as user data", () => {
  const raw = { cmd: "NODE_CLUSTER", act: "newconn", key: "x", seq: 1 };
  const decoded = decodeAtWorker(raw, TOKEN);
  assert.equal(decoded.kind, "user");
  assert.equal((decoded as { data: unknown }).data, raw);
});

test("decodeAtPrimary() delivers an enveloped payload that looks internal as user data, untouched", () => {
  const payload = { cmd: "NODE_CLUSTER", act: "online" };
  const decoded = decodeAtPrimary(encodeUser(TOKEN, payload), TOKEN);
  assert.deepEqual(decoded, { kind: "user", data: { cmd: "NODE_CLUSTER", act: "online" } });
  assert.equal((decoded as { data: unknown }).data, payload);
});

test("decodeAtWorker() delivers a user payload containing the envelope key (any token) untouched", () => {
  for (const inner of [TOKEN, "forged", 42]) {
    const payload = { [ENVELOPE_KEY]: inner, i: { cmd: "disconnect" }, u: "nested" };
    const copy = structuredClone(payload);
    const decoded = decodeAtWorker(encodeUser(TOKEN, payload), TOKEN);
    assert.equal(decoded.kind, "user", `inner token ${inner}`);
    assert.equal((decoded as { data: unknown }).data, payload);
    assert.deepEqual(payload, copy);
  }
});

test("decodeAtPrimary() delivers a user payload that is itself a full envelope as user data", () => {
  const payload = encodeInternal(TOKEN, { cmd: "online" });
  const decoded = decodeAtPrimary(encodeUser(TOKEN, payload), TOKEN);
  assert.equal(decoded.kind, "user");
  assert.equal((decoded as { data: unknown }).data, payload);
});

test("decodeAtPrimary() delivers non-object messages (primitives, null, arrays) as user data", () => {
  const envelopeInArray = [{ [ENVELOPE_KEY]: "forged", i: { cmd: "online" } }];
  for (const raw of ["online", 0, 1, true, null, undefined, [], envelopeInArray, [TOKEN]]) {
    const decoded = decodeAtPrimary(raw, TOKEN);
    assert.equal(decoded.kind, "user", JSON.stringify(raw));
    assert.equal((decoded as { data: unknown }).data, raw);
  }
});

test("decodeAtWorker() delivers enveloped user data of any shape, including undefined and null", () => {
  for (const data of [undefined, null, 0, "", "text", [1, 2], { a: { b: [1] } }]) {
    const decoded = decodeAtWorker(encodeUser(TOKEN, data), TOKEN);
    assert.deepEqual(decoded, { kind: "user", data });
  }
});

// --- forged envelopes -----------------------------------------------------------------------

test("decodeAtPrimary() rejects a forged token", () => {
  const forged = encodeInternal("ffffffffffffffffffffffffffffffff", { cmd: "online" });
  const decoded = decodeAtPrimary(forged, TOKEN);
  assertInvalid(decoded, "forged");
  assert.match((decoded as { reason: string }).reason, /forged|token/);
});

test("decodeAtWorker() rejects a forged token, also for user data", () => {
  const forged = encodeUser(createToken(), { hello: "world" });
  assertInvalid(decodeAtWorker(forged, TOKEN), "forged user");
});

test("decodeAtPrimary() rejects envelopes whose token is not exactly the secret", () => {
  const near = [
    "",
    TOKEN.toUpperCase(),
    TOKEN.slice(1),
    TOKEN + "0",
    ` ${TOKEN}`,
    null,
    undefined,
    0,
    [TOKEN],
    { toString: () => TOKEN },
  ];
  for (const token of near) {
    const raw = { [ENVELOPE_KEY]: token, i: { cmd: "online" } };
    assertInvalid(decodeAtPrimary(raw, TOKEN), `token ${String(token)}`);
  }
});

// --- malformed internal messages -------------------------------------------------------------

test("decodeAtPrimary() rejects an envelope whose internal message is missing or not an object", () => {
  const raws: unknown[] = [
    { [ENVELOPE_KEY]: TOKEN },
    envelope(undefined),
    envelope(null),
    envelope("online"),
    envelope(1),
    envelope([]),
    envelope([{ cmd: "online" }]),
  ];
  for (const raw of raws) assertInvalid(decodeAtPrimary(raw, TOKEN), JSON.stringify(raw));
});

test("decodeAtPrimary() rejects malformed worker-to-primary messages with a reason, never throwing", () => {
  const longKey = "k".repeat(300);
  const bad: Record<string, unknown>[] = [
    {},
    { cmd: "NODE_CLUSTER" },
    { cmd: "ONLINE" },
    { cmd: 1 },
    { cmd: null },
    { cmd: ["online"] },
    // query: seq
    ...[0, -1, 1.5, "1", NaN, Infinity, 2 ** 53, null, true].map((seq) => ({ ...QUERY, seq })),
    { ...QUERY, seq: undefined },
    // query: port
    ...[70000, 65536, -1, 1.5, "80", null, NaN].map((port) => ({ ...QUERY, port })),
    { ...QUERY, port: undefined },
    // query: hostname
    ...[1, {}, [], true, "h".repeat(256)].map((hostname) => ({ ...QUERY, hostname })),
    { ...QUERY, hostname: undefined },
    // query: policy
    ...["round_robin", "RR", "", 1, {}, "Shared"].map((policy) => ({ ...QUERY, policy })),
    { ...QUERY, policy: undefined },
    // query: backlog
    ...[-1, 1.5, "10", NaN, {}].map((backlog) => ({ ...QUERY, backlog })),
    { ...QUERY, backlog: undefined },
    // query: api
    ...["SERVE", "fetch", "", 1, null, true].map((api) => ({ ...QUERY, api })),
    // listening
    { ...LISTENING, key: "" },
    { ...LISTENING, key: longKey },
    { ...LISTENING, key: 1 },
    { cmd: "listening", address: LISTENING.address },
    { ...LISTENING, address: null },
    { ...LISTENING, address: [] },
    { cmd: "listening", key: "k" },
    { ...LISTENING, address: { ...LISTENING.address, port: 0 } },
    { ...LISTENING, address: { ...LISTENING.address, port: 70000 } },
    { ...LISTENING, address: { ...LISTENING.address, hostname: 127 } },
    { ...LISTENING, address: { ...LISTENING.address, family: "IPv5" } },
    { ...LISTENING, address: { hostname: "127.0.0.1", port: 80 } },
    ...[true, 1, null, {}, "", "x".repeat(1001), "it serves \u001b[2J", "a\nb", "a\u202eb"].map((
      lossOnClose,
    ) => ({
      ...LISTENING,
      lossOnClose,
    })),
    // close
    { cmd: "close" },
    { cmd: "close", key: "" },
    { cmd: "close", key: 7 },
    { cmd: "close", key: longKey },
    // reply
    { cmd: "reply", ack: 0, accepted: true },
    { cmd: "reply", ack: "1", accepted: true },
    { cmd: "reply", ack: 1.5, accepted: false },
    { cmd: "reply", ack: 1, accepted: "true" },
    { cmd: "reply", ack: 1, accepted: 1 },
    { cmd: "reply", ack: 1 },
    { cmd: "reply", accepted: true },
  ];
  for (const inner of bad) {
    let decoded;
    assert.doesNotThrow(
      () => (decoded = decodeAtPrimary(envelope(inner), TOKEN)),
      JSON.stringify(inner),
    );
    assertInvalid(decoded!, JSON.stringify(inner));
  }
});

test("decodeAtWorker() rejects malformed primary-to-worker messages with a reason, never throwing", () => {
  const bad: Record<string, unknown>[] = [
    {},
    { cmd: "NODE_CLUSTER" },
    { cmd: "Disconnect" },
    ...[0, -1, 1.5, "1", null].map((seq) => ({ cmd: "newconn", seq, key: "k" })),
    { cmd: "newconn", key: "k" },
    { cmd: "newconn", seq: 1 },
    { cmd: "newconn", seq: 1, key: "" },
    { cmd: "newconn", seq: 1, key: 5 },
    { cmd: "lend", seq: -1, key: "k" },
    { cmd: "lend", seq: 1 },
    { cmd: "reply", ack: 1 },
    { cmd: "reply", ack: 1, result: null },
    { cmd: "reply", ack: 1, result: [] },
    { cmd: "reply", ack: 1, result: "ok" },
    { cmd: "reply", ack: 0, result: OK_RESULT },
    { cmd: "reply", ack: "1", result: OK_RESULT },
    { cmd: "reply", result: OK_RESULT },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, policy: "roundrobin" } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, policy: undefined } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, port: 70000 } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, port: "80" } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, key: "" } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, hostname: 1 } },
    { cmd: "reply", ack: 1, result: { ...OK_RESULT, hostname: undefined } },
    ...["true", 1, null].map((strict) => ({
      cmd: "reply",
      ack: 1,
      result: { ...OK_RESULT, strict },
    })),
    { cmd: "reply", ack: 1, result: { ok: false, message: "m" } },
    { cmd: "reply", ack: 1, result: { ok: false, code: "EADDRINUSE" } },
    { cmd: "reply", ack: 1, result: { ok: false, code: 98, message: "m" } },
    { cmd: "reply", ack: 1, result: {} },
  ];
  for (const inner of bad) {
    let decoded;
    assert.doesNotThrow(
      () => (decoded = decodeAtWorker(envelope(inner), TOKEN)),
      JSON.stringify(inner),
    );
    assertInvalid(decoded!, JSON.stringify(inner));
  }
});

test("decodeAtPrimary() does not throw on a cmd that cannot be converted to a string", () => {
  // Valid JSON: an object whose `toString` is not callable makes String(value) throw.
  const raws = [
    JSON.parse(`{"${ENVELOPE_KEY}":"${TOKEN}","i":{"cmd":{"toString":1}}}`),
    { [ENVELOPE_KEY]: TOKEN, i: { cmd: Object.create(null) } },
  ];
  for (const raw of raws) {
    let decoded;
    assert.doesNotThrow(() => (decoded = decodeAtPrimary(raw, TOKEN)));
    assertInvalid(decoded!, "unprintable cmd");
  }
});

test("decodeAtWorker() does not throw on a cmd that cannot be converted to a string", () => {
  const raw = JSON.parse(`{"${ENVELOPE_KEY}":"${TOKEN}","i":{"cmd":{"toString":null}}}`);
  let decoded;
  assert.doesNotThrow(() => (decoded = decodeAtWorker(raw, TOKEN)));
  assertInvalid(decoded!, "unprintable cmd");
});

// --- direction ------------------------------------------------------------------------------

test("decodeAtPrimary() rejects primary-to-worker messages (direction matters)", () => {
  const toWorker: PrimaryToWorker[] = [
    { cmd: "newconn", seq: 1, key: "k" },
    { cmd: "lend", seq: 1, key: "k" },
    { cmd: "disconnect" },
    { cmd: "reply", ack: 1, result: { ok: false, code: "EADDRINUSE", message: "in use" } },
  ];
  for (const message of toWorker) {
    assertInvalid(decodeAtPrimary(encodeInternal(TOKEN, message), TOKEN), message.cmd);
    assert.equal(decodeAtWorker(encodeInternal(TOKEN, message), TOKEN).kind, "internal");
  }
});

test("decodeAtWorker() rejects worker-to-primary messages (direction matters)", () => {
  const toPrimary: WorkerToPrimary[] = [
    { cmd: "online" },
    { cmd: "query", seq: 1, hostname: null, port: 0, policy: null, backlog: null, index: 0 },
    { cmd: "listening", key: "k", address: { hostname: "::", port: 1, family: "IPv6" } },
    { cmd: "close", key: "k" },
    { cmd: "reply", ack: 1, accepted: true },
  ];
  for (const message of toPrimary) {
    assertInvalid(decodeAtWorker(encodeInternal(TOKEN, message), TOKEN), message.cmd);
    assert.equal(decodeAtPrimary(encodeInternal(TOKEN, message), TOKEN).kind, "internal");
  }
});

// --- prototype keys -------------------------------------------------------------------------

test("decodeAtPrimary() keeps __proto__/constructor/prototype keys inert and adds no keys", () => {
  const text = `{"${ENVELOPE_KEY}":"${TOKEN}","i":{"__proto__":{"polluted":1},` +
    `"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1},` +
    `"cmd":"query","seq":3,"hostname":"localhost","port":8080,"policy":"shared","backlog":10}}`;
  const decoded = decodeAtPrimary(JSON.parse(text), TOKEN);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
  assert.equal(decoded.kind, "internal");
  const message = (decoded as { message: Record<string, unknown> }).message;
  assert.deepEqual(message, {
    cmd: "query",
    seq: 3,
    hostname: "localhost",
    port: 8080,
    policy: "shared",
    backlog: 10,
    index: 0, // absent on the wire: the default
    api: "listen", // the same
  });
  assert.deepEqual(Object.keys(message).sort(), [
    "api",
    "backlog",
    "cmd",
    "hostname",
    "index",
    "policy",
    "port",
    "seq",
  ]);
  assert.equal(Object.getPrototypeOf(message), Object.prototype);
  assert.equal("polluted" in message, false);
});

test("decodeAtWorker() keeps __proto__ keys inside a reply result inert", () => {
  const text =
    `{"${ENVELOPE_KEY}":"${TOKEN}","i":{"cmd":"reply","ack":2,"__proto__":{"polluted":1},` +
    `"result":{"__proto__":{"polluted":2},"constructor":{"prototype":{"polluted":3}},` +
    `"ok":true,"policy":"round-robin","key":"k","hostname":null,"port":1}}}`;
  const decoded = decodeAtWorker(JSON.parse(text), TOKEN);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(decoded, {
    kind: "internal",
    message: {
      cmd: "reply",
      ack: 2,
      result: { ok: true, policy: "round-robin", key: "k", hostname: null, port: 1 },
    },
  });
  const result = (decoded as { message: { result: Record<string, unknown> } }).message.result;
  assert.equal(Object.getPrototypeOf(result), Object.prototype);
});

test("decodeAtPrimary() ignores fields inherited through a real prototype", () => {
  // A message object whose fields are inherited, not own: it must not validate.
  const inner = Object.create({ cmd: "online" });
  assertInvalid(decodeAtPrimary(envelope(inner), TOKEN), "inherited cmd");
  const query = Object.assign(Object.create({ seq: 1, port: 80 }), {
    cmd: "query",
    hostname: null,
    policy: null,
    backlog: null,
  });
  assertInvalid(decodeAtPrimary(envelope(query), TOKEN), "inherited seq/port");
  // An envelope whose `i` or `u` is inherited is not an internal or user message.
  const inheritsI = Object.assign(Object.create({ i: { cmd: "online" } }), {
    [ENVELOPE_KEY]: TOKEN,
  });
  assertInvalid(decodeAtPrimary(inheritsI, TOKEN), "inherited i");
  // An envelope key that is only inherited does not make an envelope: it is user data.
  const inheritsKey = Object.create({ [ENVELOPE_KEY]: "forged" });
  assert.equal(decodeAtPrimary(inheritsKey, TOKEN).kind, "user");
});

test("decodeAtPrimary() treats a JSON __proto__ carrying the envelope as plain user data", () => {
  const raw = JSON.parse(`{"__proto__":{"${ENVELOPE_KEY}":"${TOKEN}","i":{"cmd":"online"}}}`);
  const decoded = decodeAtPrimary(raw, TOKEN);
  assert.equal(decoded.kind, "user");
  assert.equal((decoded as { data: unknown }).data, raw);
  assert.equal(({} as Record<string, unknown>)[ENVELOPE_KEY], undefined);
});

test("decodeAtPrimary() drops unknown extra keys of internal messages", () => {
  const decoded = decodeAtPrimary(envelope({ cmd: "online", extra: 1, seq: 5 }), TOKEN);
  assert.deepEqual(decoded, { kind: "internal", message: { cmd: "online" } });
  const listening = decodeAtPrimary(
    envelope({ ...LISTENING, address: { ...LISTENING.address, extra: true }, more: 1 }),
    TOKEN,
  );
  assert.deepEqual(listening, {
    kind: "internal",
    message: LISTENING as unknown as WorkerToPrimary,
  });
});

test("decodeAtPrimary() reads a query without api as a listen() query", () => {
  const decoded = decodeAtPrimary(envelope(QUERY), TOKEN);
  assert.deepEqual(decoded, { kind: "internal", message: { ...QUERY, api: "listen" } });
});

test("decodeAtPrimary()/decodeAtWorker() leave optional flags absent when they were not sent", () => {
  const listening = decodeAtPrimary(envelope(LISTENING), TOKEN) as { message: object };
  assert.equal(Object.hasOwn(listening.message, "lossOnClose"), false);
  const reply = decodeAtWorker(envelope({ cmd: "reply", ack: 1, result: OK_RESULT }), TOKEN);
  assert.equal(
    Object.hasOwn((reply as { message: { result: object } }).message.result, "strict"),
    false,
  );
});

// --- round trips ----------------------------------------------------------------------------

const WORKER_TO_PRIMARY: WorkerToPrimary[] = [
  { cmd: "online" },
  {
    cmd: "query",
    seq: 1,
    hostname: null,
    port: 0,
    policy: null,
    backlog: null,
    index: 0,
    api: "listen",
  },
  {
    cmd: "query",
    seq: 2 ** 31,
    hostname: "::1",
    port: 65535,
    policy: "round-robin",
    backlog: 0,
    index: 0,
    api: "serve",
  },
  {
    cmd: "query",
    seq: 7,
    hostname: "localhost",
    port: 8080,
    policy: "shared",
    backlog: 511,
    index: 0,
    api: "listen",
  },
  {
    cmd: "query",
    seq: 8,
    hostname: "",
    port: 1,
    policy: "reuse-port",
    backlog: null,
    index: 0,
    api: "serve",
  },
  {
    cmd: "query",
    seq: 9,
    hostname: null,
    port: 0,
    policy: null,
    backlog: null,
    index: 2,
    api: "serve",
  },
  { cmd: "ready" },
  { cmd: "heartbeat", requests: 12, rss: 34_000_000 },
  {
    cmd: "listening",
    key: "round-robin||8080",
    address: { hostname: "0.0.0.0", port: 8080, family: "IPv4" },
  },
  { cmd: "listening", key: "shared|::|1", address: { hostname: "::", port: 1, family: "IPv6" } },
  {
    cmd: "listening",
    key: "reuse-port||8080",
    address: { hostname: "0.0.0.0", port: 8080, family: "IPv4" },
    lossOnClose: "it serves with Bun.serve, whose listener cannot be handed over",
  },
  {
    cmd: "listening",
    key: "reuse-port||8081",
    address: { hostname: "0.0.0.0", port: 8081, family: "IPv4" },
    lossOnClose: "x".repeat(1000), // MAX_LOSS_TEXT
  },
  { cmd: "close", key: "reuse-port||0" },
  { cmd: "reply", ack: 1, accepted: true },
  { cmd: "reply", ack: Number.MAX_SAFE_INTEGER, accepted: false },
];

const PRIMARY_TO_WORKER: PrimaryToWorker[] = [
  { cmd: "newconn", seq: 1, key: "round-robin||8080" },
  { cmd: "lend", seq: 99, key: "shared||80" },
  { cmd: "disconnect" },
  {
    cmd: "reply",
    ack: 3,
    result: {
      ok: true,
      policy: "round-robin",
      key: "round-robin||0",
      hostname: "127.0.0.1",
      port: 41234,
    },
  },
  {
    cmd: "reply",
    ack: 4,
    result: { ok: true, policy: "reuse-port", key: "k", hostname: null, port: 0 },
  },
  {
    cmd: "reply",
    ack: 6,
    result: { ok: true, policy: "reuse-port", key: "k", hostname: null, port: 8080, strict: true },
  },
  { cmd: "reply", ack: 5, result: { ok: false, code: "EADDRINUSE", message: "address in use" } },
];

test("encodeInternal() → decodeAtPrimary() round-trips every worker-to-primary message", () => {
  for (const message of WORKER_TO_PRIMARY) {
    const decoded = decodeAtPrimary(encodeInternal(TOKEN, message), TOKEN);
    assert.deepEqual(decoded, { kind: "internal", message });
    // Also through JSON, as the "json" serialization sends it.
    const viaJson = decodeAtPrimary(
      JSON.parse(JSON.stringify(encodeInternal(TOKEN, message))),
      TOKEN,
    );
    assert.deepEqual(viaJson, { kind: "internal", message });
  }
});

test("encodeInternal() → decodeAtWorker() round-trips every primary-to-worker message", () => {
  for (const message of PRIMARY_TO_WORKER) {
    const decoded = decodeAtWorker(encodeInternal(TOKEN, message), TOKEN);
    assert.deepEqual(decoded, { kind: "internal", message });
    const viaClone = decodeAtWorker(structuredClone(encodeInternal(TOKEN, message)), TOKEN);
    assert.deepEqual(viaClone, { kind: "internal", message });
  }
});

test("encodeInternal() → decode returns a fresh object, not the sent one", () => {
  const message: InternalMessage = { cmd: "close", key: "k" };
  const decoded = decodeAtPrimary(encodeInternal(TOKEN, message), TOKEN);
  assert.notEqual((decoded as { message: unknown }).message, message);
});

test("encodeUser() → decode round-trips user data through JSON", () => {
  const data = {
    cmd: "NODE_CLUSTER",
    act: "queryServer",
    list: [1, "two", null],
    nested: { ok: true },
  };
  const wire = JSON.parse(JSON.stringify(encodeUser(TOKEN, data)));
  assert.deepEqual(decodeAtPrimary(wire, TOKEN), { kind: "user", data });
  assert.deepEqual(decodeAtWorker(wire, TOKEN), { kind: "user", data });
});

test("encodeUser()/encodeInternal() put the token under the envelope key and nothing else", () => {
  assert.deepEqual(encodeUser(TOKEN, 1), { [ENVELOPE_KEY]: TOKEN, u: 1 });
  assert.deepEqual(encodeInternal(TOKEN, { cmd: "online" }), {
    [ENVELOPE_KEY]: TOKEN,
    i: { cmd: "online" },
  });
  assert.equal(ENVELOPE_KEY, "@x/cluster");
});

test("an encoded message decodes as forged under another worker's token", () => {
  const a = createToken(), b = createToken();
  assertInvalid(decodeAtPrimary(encodeInternal(a, { cmd: "online" }), b), "cross-worker");
  assertInvalid(decodeAtWorker(encodeUser(a, "hi"), b), "cross-worker user");
});

// --- Unix socket paths (ServeOptions.path) ----------------------------------------------------

test("a query, reply and listening address for a Unix socket decode; a path with an address does not", () => {
  const query = { ...QUERY, port: 0, path: "/run/app.sock" };
  assert.deepEqual(decodeAtPrimary(envelope(query), TOKEN), {
    kind: "internal",
    message: { ...query, api: "listen" },
  });
  const result = {
    ...OK_RESULT,
    policy: "round-robin",
    key: "round-robin|unix:/run/app.sock",
    port: -1,
    path: "/run/app.sock",
  };
  assert.deepEqual(decodeAtWorker(envelope({ cmd: "reply", ack: 1, result }), TOKEN), {
    kind: "internal",
    message: { cmd: "reply", ack: 1, result },
  });
  const address = { hostname: "/run/app.sock", port: -1, family: "unix" };
  assert.deepEqual(decodeAtPrimary(envelope({ ...LISTENING, address }), TOKEN), {
    kind: "internal",
    message: { ...LISTENING, address },
  });
  for (
    const bad of [
      { ...query, port: 80 },
      { ...query, hostname: "127.0.0.1" },
      { ...query, udp: "udp4" },
      { ...query, path: "" },
      { ...query, path: "p".repeat(256) },
      { ...query, path: 1 },
      { ...LISTENING, address: { ...address, port: 80 } },
      { ...LISTENING, address: { ...address, hostname: "" } },
    ]
  ) {
    assertInvalid(decodeAtPrimary(envelope(bad), TOKEN), JSON.stringify(bad));
  }
  for (
    const bad of [{ ...result, port: 80 }, { ...result, path: "" }, {
      ...result,
      port: -2,
      path: undefined,
    }]
  ) {
    assertInvalid(
      decodeAtWorker(envelope({ cmd: "reply", ack: 1, result: bad }), TOKEN),
      JSON.stringify(bad),
    );
  }
});
