// The recording Response of adapters/_fast_response.ts: unit checks against the runtime's own
// Response (on every runtime, without replacing the global), then real workers serving every
// kind of Response through serve() with fastResponse on and off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FastResponse, recorded } from "../adapters/_fast_response.ts";
import { validateServeOptions } from "../src/serve_options.ts";
import { runtime, withFixture } from "./_helpers.ts";

const make = (body?: BodyInit | null, init?: ResponseInit) =>
  new FastResponse(body, init) as unknown as Response;

/** What a user can see of a response, read the public way. */
async function view(response: Response) {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => headers.push([name, value]));
  return {
    status: response.status,
    ok: response.ok,
    statusText: response.statusText,
    type: response.type,
    redirected: response.redirected,
    url: response.url,
    headers: headers.sort(([a], [b]) => a.localeCompare(b)),
    text: await response.text(),
    bodyUsed: response.bodyUsed,
  };
}

// The class is installed on Node only. Bun's own Response departs from the Fetch spec where these
// compare with it (it does not list a string body's implied content-type, accepts a body with
// 204 and a reason phrase with a newline, adds ";charset=utf-8" to Response.json's type).
const bunDeparts = (name: string) =>
  runtime === "bun" &&
  ["a string", "status and reason", "headers", "a body with 204", "a bad reason", "json"]
    .includes(name) &&
  `Bun's own Response departs from the Fetch spec here (${name}); the class runs on Node only`;

const cases: [string, BodyInit | null | undefined, ResponseInit | undefined][] = [
  ["no arguments", undefined, undefined],
  ["a string", "hello", undefined],
  ["status and reason", "made", { status: 201, statusText: "Made" }],
  ["headers", "h", { headers: { "X-A": "1", "x-b": "two words" } }],
  ["its own content-type", "{}", { headers: { "Content-Type": "application/json" } }],
  ["bytes", new Uint8Array([104, 105]), undefined],
  ["an ArrayBuffer", new Uint8Array([111, 107]).buffer, { status: 202 }],
  ["null with 204", null, { status: 204 }],
  ["a Headers init", "x", { headers: new Headers({ "x-h": "1" }) }],
  ["tuple headers", "x", { headers: [["x-t", "1"], ["x-t", "2"]] }],
  ["a value with spaces", "x", { headers: { "x-s": "  padded  " } }],
  ["a numeric status string", "x", { status: "203" as unknown as number }],
  ["a Blob", new Blob(["blob"], { type: "text/x-blob" }), undefined],
  ["URLSearchParams", new URLSearchParams({ q: "1" }), undefined],
];

for (const [name, body, init] of cases) {
  test(`FastResponse answers like Response: ${name}`, { skip: bunDeparts(name) }, async () => {
    const copy = (b: typeof body) => b instanceof Uint8Array ? b.slice() : b;
    assert.deepEqual(
      await view(make(copy(body), init)),
      await view(new Response(copy(body), init)),
    );
  });
}

const errors: [string, BodyInit | null, ResponseInit][] = [
  ["status 99", "x", { status: 99 }],
  ["status 600", "x", { status: 600 }],
  ["a body with 204", "x", { status: 204 }],
  ["a bad header name", "x", { headers: { "bad name": "1" } }],
  ["a newline in a value", "x", { headers: { "x-a": "a\nb" } }],
  ["a bad reason", "x", { statusText: "a\nb" }],
];

for (const [name, body, init] of errors) {
  test(`FastResponse throws like Response: ${name}`, { skip: bunDeparts(name) }, () => {
    let expected: unknown;
    try {
      new Response(body, init);
    } catch (error) {
      expected = error;
    }
    assert.ok(expected instanceof Error, "the runtime's Response accepted it");
    assert.throws(
      () => make(body, init),
      (error: Error) => error.name === (expected as Error).name,
    );
  });
}

test("FastResponse is instanceof both classes; subclasses keep their own check", () => {
  const ours = make("x");
  assert.ok(ours instanceof Response);
  assert.ok(ours instanceof (FastResponse as unknown as typeof Response));
  assert.ok(new Response("x") instanceof (FastResponse as unknown as typeof Response));
  assert.ok(Response.error() instanceof (FastResponse as unknown as typeof Response));
  class Sub extends (FastResponse as unknown as typeof Response) {}
  assert.ok(new Sub("s") instanceof Sub);
  assert.ok(!(make("x") instanceof Sub));
  assert.equal(Object.prototype.toString.call(ours), "[object Response]");
});

test("recorded(): the parts a response was made from, until something reads its body", async () => {
  assert.deepEqual(recorded(make("hi", { status: 201, headers: { "x-a": "1" } })), {
    status: 201,
    statusText: "",
    head: ["x-a", "1", "content-type", "text/plain;charset=UTF-8"],
    body: "hi",
  });
  const mutated = make("m");
  mutated.headers.set("x-later", "2");
  assert.ok(recorded(mutated)!.head.includes("x-later"));
  const read = make("r");
  assert.equal(await read.text(), "r");
  assert.equal(recorded(read), undefined, "a read response must be sent the public way");
  assert.equal(recorded(new Response("native")), undefined);
  assert.equal(recorded(make(new Blob(["b"]))), undefined);
  // The bytes are copied, as the runtime's Response copies them.
  const bytes = new Uint8Array([1, 2]);
  const response = make(bytes);
  bytes[0] = 9;
  assert.deepEqual([...(recorded(response)!.body as Uint8Array)], [1, 2]);
});

test("headers: one object for the response's life, through clone() and inspection", async () => {
  const response = make("hi");
  const headers = response.headers;
  const copy = response.clone();
  headers.set("x-late", "1");
  assert.equal(response.headers, headers);
  assert.equal(response.headers.get("x-late"), "1");
  assert.equal(copy.headers.get("x-late"), null, "the clone took a copy before the change");
  assert.equal(await response.text(), "hi");
  assert.equal(response.headers, headers);
});

test("name, length and the prototype's members are the runtime's, also on its own objects", async () => {
  const Ours = FastResponse as unknown as typeof Response;
  assert.equal(Ours.name, "Response");
  assert.equal(Ours.length, Response.length);
  const native = new Response("native text");
  assert.equal(await Ours.prototype.text.call(native), "native text");
  const status = Object.getOwnPropertyDescriptor(Ours.prototype, "status")!.get!;
  assert.equal(status.call(new Response(null, { status: 202 })), 202);
});

test("inputs the recorder leaves to the runtime's constructor", () => {
  const symbolKeyed = { [Symbol("a")]: "b" } as unknown as Record<string, string>;
  let expected: unknown;
  try {
    new Response("x", { headers: symbolKeyed });
  } catch (error) {
    expected = error;
  }
  let actual: unknown;
  try {
    make("x", { headers: symbolKeyed });
  } catch (error) {
    actual = error;
  }
  assert.equal((actual as Error | undefined)?.name, (expected as Error | undefined)?.name);
  if (typeof SharedArrayBuffer === "function") {
    // Node stringifies a view on shared memory, Deno refuses it: the runtime decides.
    const shared = new Uint8Array(new SharedArrayBuffer(2)) as unknown as BodyInit;
    let refused = false;
    try {
      new Response(shared);
    } catch {
      refused = true;
    }
    if (refused) assert.throws(() => make(shared), TypeError);
    else assert.equal(recorded(make(shared)), undefined);
  }
  let reads = 0;
  const init = {
    get status() {
      reads++;
      return 201;
    },
  };
  assert.equal(make("x", init).status, 201);
  assert.equal(reads, 1, "each member of init is read once");
});

test("a recorded body is used once sent: a second send reads it the public way", async () => {
  const response = make("once");
  assert.ok(recorded(response));
  assert.equal(response.bodyUsed, true);
  assert.equal(recorded(response), undefined);
  await assert.rejects(response.text(), TypeError);
  // A null body is never used, as with the runtime's Response.
  const empty = make(null, { status: 204 });
  assert.ok(recorded(empty));
  assert.ok(recorded(empty));
});

test("a subclass is read through its own accessors", () => {
  class Created extends (FastResponse as unknown as typeof Response) {
    override get status(): number {
      return 201;
    }
  }
  assert.equal(recorded(new Created("c")), undefined);
  assert.equal(new Created("c").status, 201);
});

test("FastResponse.json() and clone() behave like the runtime's", {
  skip: bunDeparts("json"),
}, async () => {
  const ours = (FastResponse as unknown as typeof Response).json({ a: 1 }, { status: 201 });
  assert.deepEqual(await view(ours), await view(Response.json({ a: 1 }, { status: 201 })));
  assert.throws(() => (FastResponse as unknown as typeof Response).json(undefined), TypeError);
  const original = make("twice", { headers: { "x-c": "3" } });
  const copy = original.clone();
  assert.equal(await copy.text(), "twice");
  assert.equal(await original.text(), "twice");
  assert.equal(copy.headers.get("x-c"), "3");
});

// Bun 1.4.5's Response implies a string body's type without showing it in its headers (only its
// blob() has it), so our node:http path there cannot send it; Bun.serve does.
const typeShown = (policy: string) => !(runtime === "bun" && policy === "round-robin");

const routes = (policy: string): [string, (r: Response, text: string) => void][] => [
  ["/", (r, t) => {
    assert.equal(t, "hello");
    // Bun.serve spells it "utf-8".
    const type = r.headers.get("content-type")?.toLowerCase();
    if (typeShown(policy)) assert.equal(type, "text/plain;charset=utf-8");
    assert.equal(r.headers.get("content-length"), "5");
  }],
  ["/json", (r, t) => {
    assert.equal(r.status, 201);
    assert.equal(t, '{"a":1}');
    assert.match(r.headers.get("content-type") ?? "", /^application\/json(;charset=utf-8)?$/i);
    assert.equal(r.headers.get("x-a"), "1");
  }],
  ["/teapot", (r, t) => {
    assert.equal(r.status, 418);
    // Bun.serve sends the standard reason phrase whatever the Response says.
    if (!(runtime === "bun" && policy === "default")) assert.equal(r.statusText, "I'm a teapot");
    assert.equal(t, "short and stout");
  }],
  ["/bytes", (r, t) => {
    assert.equal(t, "bytes");
    assert.equal(r.headers.get("x-b"), "2");
  }],
  ["/mutated", (r, t) => {
    assert.equal(t, "m");
    assert.equal(r.headers.get("x-first"), "1");
    assert.equal(r.headers.get("x-later"), "2");
    assert.deepEqual(r.headers.getSetCookie(), ["a=1", "b=2"]);
  }],
  ["/read", (_r, t) => assert.equal(t, "read me true")],
  ["/stream", (_r, t) => assert.equal(t, "stream")],
  ["/empty", (r, t) => {
    assert.equal(r.status, 204);
    assert.equal(t, "");
  }],
  ["/bad-status", (_r, t) => assert.equal(t, "RangeError")],
  ["/bad-header", (_r, t) => assert.equal(t, "TypeError")],
  ["/clone", (_r, t) => assert.equal(t, "twice|twice|3")],
  ["/length", (r, t) => {
    assert.equal(t, "four");
    assert.equal(r.headers.get("content-length"), "4");
  }],
  ["/late-header", (r, t) => {
    assert.equal(t, "late");
    assert.equal(r.headers.get("x-late"), "1");
  }],
];

for (const policy of ["default", "round-robin"]) {
  for (const fast of ["1", "0"]) {
    test(`serve() (${policy}, fastResponse ${fast === "1"}): every kind of Response`, async () => {
      const env: Record<string, string> = { FAST: fast };
      if (policy !== "default") env.POLICY = policy;
      await withFixture("fast_response.ts", env, async (app) => {
        const [listening] = await app.waitFor((e) => e.ev === "listening" || e.ev === "error");
        assert.equal(listening.ev, "listening");
        const base = `http://127.0.0.1:${listening.port}`;
        for (const [path, check] of routes(policy)) {
          const response = await fetch(base + path);
          check(response, await response.text());
        }
        const about = await (await fetch(base + "/class")).json();
        // Only Node's node:http path replaces the global; elsewhere the runtime's class stays.
        const replaced = runtime === "node" && fast === "1";
        assert.deepEqual(about, {
          replaced,
          name: "Response",
          ownIsNative: true,
          teapotIsResponse: true,
          responseIsTeapot: false,
          errorIsResponse: true,
          tag: "[object Response]",
        });
      });
    });
  }
}

test("serve({ fastResponse }) takes a boolean only", () => {
  validateServeOptions({ fastResponse: false });
  assert.throws(
    () => validateServeOptions({ fastResponse: "no" as unknown as boolean }),
    { name: "TypeError", message: "Invalid fastResponse: expected a boolean, got string" },
  );
});
