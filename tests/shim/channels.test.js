// fallback.js's channel part alone, over a stand-in for the socket's public API (readyState
// and send): the envelopes it sends, and how the envelopes it receives are dispatched.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser } = require("./browser");

const { channels } = new FakeBrowser({ parts: true }).parts;

// A socket as the channels see it; `sent` are the envelopes, parsed.
function fakeSocket(readyState) {
  const sock = { readyState, sent: [], send(text) { sock.sent.push(JSON.parse(text)); } };
  return sock;
}

test("requests made while connecting go out once the socket opens, in order", () => {
  const sock = fakeSocket(0);
  const c = channels(sock);
  c.subscribe("news", () => {}, { token: "t1" });
  c.publish("chat", { text: "hi" });
  assert.deepStrictEqual(sock.sent, []);
  sock.readyState = 1;
  c.opened();
  assert.deepStrictEqual(sock.sent, [
    { v: 1, op: "subscribe", id: 1, channel: "news", token: "t1" },
    { v: 1, op: "publish", id: 2, channel: "chat", data: { text: "hi" } },
  ]);
  c.trigger("typing", 1);
  c.unsubscribe("news");
  assert.deepStrictEqual(sock.sent.slice(2), [
    { v: 1, op: "trigger", id: 3, event: "typing", data: 1 },
    { v: 1, op: "unsubscribe", id: 4, channel: "news" },
  ]);
  c.opened(); // nothing held any more
  assert.strictEqual(sock.sent.length, 4);
});

test("no message is taken for an envelope before the first request", () => {
  const c = channels(fakeSocket(1));
  assert.strictEqual(c.envelope('{"v":1,"op":"message","channel":"news","data":1}'), false);
});

test("answers reach their request once, messages and presence their subscription", () => {
  const sock = fakeSocket(1);
  const c = channels(sock);
  const seen = [];
  c.subscribe("room", (data, e) => seen.push(["message", data, e.channel]), {
    onsubscribe: (answer) => seen.push(["subscribed", answer.id]),
    onjoin: (member) => seen.push(["join", member.id]),
    onleave: (member) => seen.push(["leave", member.id]),
  });
  c.presence("room", (members, answer) => seen.push(["presence", members, answer.op]));
  assert.strictEqual(c.envelope('{"v":1,"op":"ok","id":1}'), true);
  assert.strictEqual(c.envelope('{"v":1,"op":"ok","id":1}'), false); // answered already: a message
  assert.strictEqual(c.envelope('{"v":1,"op":"ok","id":2,"presence":["a","b"]}'), true);
  assert.strictEqual(c.envelope('{"v":1,"op":"message","channel":"room","data":{"n":1}}'), true);
  assert.strictEqual(c.envelope('{"v":1,"op":"join","channel":"room","member":{"id":"a"}}'), true);
  assert.strictEqual(c.envelope('{"v":1,"op":"leave","channel":"room","member":{"id":"a"}}'), true);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(seen)), [
    ["subscribed", 1], ["presence", ["a", "b"], "ok"], ["message", { n: 1 }, "room"], ["join", "a"], ["leave", "a"],
  ]);
});

test("what is not an envelope for us is an ordinary message", () => {
  const c = channels(fakeSocket(1));
  c.subscribe("room", () => { throw new Error("not for the handler"); });
  for (const text of [
    "hello", "{not json", "[1]", "{}", '{"v":2,"op":"message","channel":"room"}', '{"v":1,"op":5}',
    '{"v":1,"op":"message","channel":"elsewhere","data":1}', '{"v":1,"op":"ok","id":99}', '{"v":1,"op":"shout"}', " {}",
  ]) {
    assert.strictEqual(c.envelope(text), false, text);
  }
});

test("a refused subscription is forgotten and its onerror told; presence errors come back as null", () => {
  const sock = fakeSocket(1);
  const c = channels(sock);
  const seen = [];
  c.subscribe("secret", () => seen.push("message"), { onerror: (answer) => seen.push(["error", answer.code]) });
  c.presence("secret", (members, answer) => seen.push(["presence", members, answer.code]));
  c.envelope('{"v":1,"op":"error","id":1,"code":4003}');
  c.envelope('{"v":1,"op":"error","id":2,"code":4004}');
  assert.strictEqual(c.envelope('{"v":1,"op":"message","channel":"secret","data":1}'), false);
  assert.deepStrictEqual(seen, [["error", 4003], ["presence", null, 4004]]);
});

test("a subscription's handle publishes, asks presence and unsubscribes on its channel", () => {
  const sock = fakeSocket(1);
  const c = channels(sock);
  const handle = c.subscribe("room", () => {});
  handle.publish("x");
  handle.presence(() => {});
  handle.unsubscribe();
  assert.deepStrictEqual(sock.sent.map((e) => [e.op, e.channel]),
    [["subscribe", "room"], ["publish", "room"], ["presence", "room"], ["unsubscribe", "room"]]);
  assert.strictEqual(c.envelope('{"v":1,"op":"message","channel":"room","data":1}'), false);
});

test("after a reconnection every subscription is made again, and old requests are void", () => {
  const sock = fakeSocket(1);
  const c = channels(sock);
  const seen = [];
  c.subscribe("a", (data) => seen.push(["a", data]), { token: "ta" });
  c.subscribe("b", (data) => seen.push(["b", data]));
  c.publish("a", 1, () => seen.push("old answer"));
  c.reset();
  assert.deepStrictEqual(sock.sent.slice(3), [
    { v: 1, op: "subscribe", id: 4, channel: "a", token: "ta" },
    { v: 1, op: "subscribe", id: 5, channel: "b" },
  ]);
  assert.strictEqual(c.envelope('{"v":1,"op":"ok","id":3}'), false);
  assert.strictEqual(c.envelope('{"v":1,"op":"message","channel":"b","data":2}'), true);
  assert.deepStrictEqual(seen, [["b", 2]]);
});
