// Binary messages in fallback.js (the protocol: fallback/core/binary.py): the base64 and
// copy helpers, the wire form, the ledger's {seq} with messages held back, and a socket
// that sends and receives binary messages on WebSocket and XHR.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, info } = require("./browser");

const URL_ = "http://example.test/echo";
const BINARY = { binary: { v: 1, max: 100 } };
const parts = new FakeBrowser({ parts: true }).parts;

test("base64 round-trips every byte value, past the chunk size", () => {
  const all = new Uint8Array(20000).map((_, i) => (i * 7) % 256);
  const text = parts.toBase64(all);
  assert.strictEqual(text, Buffer.from(all).toString("base64"));
  assert.deepStrictEqual(Array.from(parts.fromBase64(text)), Array.from(all));
  assert.strictEqual(parts.toBase64(new Uint8Array(0)), "");
});

test("bytesOf copies an ArrayBuffer or only a view's own bytes, and refuses the rest", () => {
  const buffer = new Uint8Array([1, 2, 3, 4, 5]).buffer;
  const copy = parts.bytesOf(buffer);
  new Uint8Array(buffer)[0] = 9; // changed after send: the copy is not
  assert.deepStrictEqual(Array.from(copy), [1, 2, 3, 4, 5]);
  assert.deepStrictEqual(Array.from(parts.bytesOf(new Uint8Array(buffer, 1, 2))), [2, 3]);
  assert.deepStrictEqual(Array.from(parts.bytesOf(new DataView(buffer, 3))), [4, 5]);
  assert.strictEqual(parts.bytesOf({}), null);
  assert.strictEqual(parts.bytesOf({ buffer: "x" }), null);
});

test("binary items travel as {\"b\": base64} among strings and controls", () => {
  const list = [{ seq: 3 }, "a", { bin: new Uint8Array([0, 255]) }, { ack: 2 }];
  assert.strictEqual(parts.encode(list), '[{"seq":3},"a",{"b":"AP8="},{"ack":2}]');
});

test("a batch's {seq} counts the messages held back behind it", () => {
  const ledger = new parts.Ledger();
  ledger.offered = true;
  ledger.cid = "C1";
  for (const m of ["a", "b", "c"]) { ledger.sent(m); }
  // "a" went; "b" is ready, "c" (a Blob being read) is not: b is message 1.
  ledger.acked(0);
  const batch = JSON.parse(JSON.stringify(ledger.batch(["b"], 1)));
  assert.deepStrictEqual(batch, [{ seq: 1 }, "b"]);
});

function open(transport, overrides, options) {
  const b = new FakeBrowser(options);
  const sock = b.socket(URL_, { transports: [transport] });
  b.runPending();
  b.answerInfo(info(Object.assign({ resume: undefined }, overrides)));
  return [b, sock];
}

test("on WebSocket, binary messages go and come as binary messages, text around them", () => {
  const [b, sock] = open("websocket", BINARY);
  const ws = b.websockets[0];
  assert.strictEqual(ws.query.get("fb_binary"), "1");
  assert.strictEqual(ws.binaryType, "arraybuffer");
  ws.receive("o");
  sock.send("t1");
  sock.send(new Uint8Array([1, 2]));
  sock.send("t2");
  assert.strictEqual(ws.sent.length, 3);
  assert.strictEqual(ws.sent[0], '["t1"]');
  assert.deepStrictEqual(Array.from(ws.sent[1]), [1, 2]);
  assert.strictEqual(ws.sent[2], '["t2"]');
  sock.binaryType = "arraybuffer";
  ws.receive(new Uint8Array([7, 8]).buffer);
  ws.receive('a["x",{"b":"CQo="}]');
  assert.strictEqual(sock.received[1], "x");
  assert.deepStrictEqual(Array.from(new Uint8Array(sock.received[0])), [7, 8]);
  assert.deepStrictEqual(Array.from(new Uint8Array(sock.received[2])), [9, 10]);
});

test("on XHR, a send request carries no more than the server's max of messages", () => {
  const [b, sock] = open("xhr", BINARY);
  b.pendingRequests("/xhr")[0].answer(200, "o\n");
  sock.send(new Uint8Array(60));
  const first = b.pendingRequests("/xhr_send");
  assert.strictEqual(first.length, 1);
  sock.send(new Uint8Array(60)); // queued while the first is in flight...
  sock.send(new Uint8Array(60));
  sock.send("short");
  first[0].answer(204, "");
  // ...60 + 60 bytes would pass max 100: the second request carries one message,
  const second = b.pendingRequests("/xhr_send");
  assert.strictEqual(JSON.parse(second[0].body).length, 1);
  second[0].answer(204, "");
  // and 60 + 5 fit together in the third.
  const third = b.pendingRequests("/xhr_send");
  assert.strictEqual(JSON.parse(third[0].body).length, 2);
});

test("without the server's offer, or without typed arrays, binary sends are refused", () => {
  const [b, sock] = open("websocket", {});
  assert.strictEqual(b.websockets[0].query.get("fb_binary"), null);
  b.websockets[0].receive("o");
  assert.throws(() => sock.send(new Uint8Array(1)), /no binary messages/);
  sock.send("text still goes");
  assert.strictEqual(b.websockets[0].sent.length, 1);
  const [old] = open("websocket", BINARY, { binary: false });
  assert.strictEqual(old.websockets[0].query.get("fb_binary"), null);
});
