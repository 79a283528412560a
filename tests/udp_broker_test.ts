// Unit tests for the UDP half of src/_broker.ts: a udp query's handle key and the UNSUPPORTED
// answer where the adapter cannot share UDP sockets, with a fake adapter. No socket is opened.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BrokerMember, ServerBroker, udpKey } from "../src/_broker.ts";
import type { QueryMessage, QueryResult } from "../src/protocol.ts";
import { fakeAdapter } from "./_fake_adapter.ts";

test("udp: the broker answers UNSUPPORTED where the adapter cannot share UDP sockets", async () => {
  const adapter = fakeAdapter({ sharedUdp: { reason: "its IPC cannot carry datagram sockets" } });
  const broker = new ServerBroker(Promise.resolve(adapter), {
    policy: undefined,
    maxInFlight: 4,
    strictReloads: false,
    predecessor: () => undefined,
  });
  const replies: QueryResult[] = [];
  const member: BrokerMember = {
    id: 1,
    connected: true,
    handoff: () => Promise.resolve(true),
    lend: () => Promise.resolve(undefined),
    reply: (_ack, result) => (replies.push(result), Promise.resolve()),
  };
  const q: QueryMessage = {
    cmd: "query",
    seq: 1,
    hostname: "127.0.0.1",
    port: 5300,
    policy: null,
    backlog: null,
    index: 0,
    api: "listen",
    udp: "udp4",
  };
  await broker.query(member, q);
  assert.equal(replies.length, 1);
  assert.equal(replies[0].ok, false);
  assert.equal(!replies[0].ok && replies[0].code, "UNSUPPORTED");
  assert.match(
    !replies[0].ok ? replies[0].message : "",
    /cannot share udp4 sockets on fake 1\.0: its IPC cannot carry datagram sockets; bind the socket exclusive/,
  );
  assert.equal(udpKey(q), "udp4|127.0.0.1|5300");
  assert.equal(udpKey({ ...q, port: 0, index: 1 }), "udp4|127.0.0.1|0#1");
  assert.equal(udpKey({ ...q, fd: 7 }), "udp4|fd:7");
});
