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

// -- positions and recovery (channels with history) ----------------------------------------

const plain = (value) => JSON.parse(JSON.stringify(value)); // (objects of the page's realm)

function positioned() {
  const sock = fakeSocket(1);
  sock.events = [];
  sock._emit = (type, extra) => sock.events.push([type, extra.channel]);
  return [sock, channels(sock)];
}

test("a subscription keeps the last position it got and drops what it had already", () => {
  const [sock, c] = positioned();
  const seen = [];
  const sub = c.subscribe("news", (data) => seen.push(data));
  assert.strictEqual(c.recoverable(), false);
  c.envelope('{"v":1,"op":"ok","id":1,"offset":4,"epoch":"e1"}');
  assert.deepStrictEqual(plain(sub.position()), { offset: 4, epoch: "e1" });
  assert.strictEqual(c.recoverable(), true);
  c.envelope('{"v":1,"op":"message","channel":"news","data":"a","offset":5,"epoch":"e1"}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"a again","offset":5,"epoch":"e1"}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"b","offset":6,"epoch":"e1"}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"new epoch","offset":1,"epoch":"e2"}');
  assert.deepStrictEqual(seen, ["a", "b", "new epoch"]);
  assert.deepStrictEqual(plain(sub.position()), { offset: 1, epoch: "e2" });
  assert.deepStrictEqual(sock.events, [["unrecovered", "news"]]); // history was lost meanwhile
});

test("subscribing again asks to recover since the last position, and the recovered ones move it on", () => {
  const [sock, c] = positioned();
  const seen = [];
  c.subscribe("news", (data) => seen.push(data));
  c.envelope('{"v":1,"op":"ok","id":1,"offset":7,"epoch":"e1"}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"m8","offset":8,"epoch":"e1"}');
  c.reset(); // a new connection
  assert.deepStrictEqual(sock.sent[1], {
    v: 1, op: "subscribe", id: 2, channel: "news", since: { offset: 8, epoch: "e1" },
  });
  // recovered: the answer names the newest position, but the position moves only as the
  // missed publications arrive (a connection lost in between asks from there again)
  c.envelope('{"v":1,"op":"ok","id":2,"offset":10,"epoch":"e1","recovered":true}');
  c.reset();
  assert.deepStrictEqual(sock.sent[2].since, { offset: 8, epoch: "e1" });
  c.envelope('{"v":1,"op":"ok","id":3,"offset":10,"epoch":"e1","recovered":true}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"m9","offset":9,"epoch":"e1"}');
  c.envelope('{"v":1,"op":"message","channel":"news","data":"m10","offset":10,"epoch":"e1"}');
  assert.deepStrictEqual(seen, ["m8", "m9", "m10"]);
});

test("when history does not reach back the page hears it, and the position jumps to the newest", () => {
  const [sock, c] = positioned();
  const told = [];
  const sub = c.subscribe("news", () => {}, {
    since: { offset: 3, epoch: "old" },
    onunrecovered: (answer) => told.push(answer.offset),
  });
  assert.deepStrictEqual(sock.sent[0].since, { offset: 3, epoch: "old" });
  c.envelope('{"v":1,"op":"ok","id":1,"offset":40,"epoch":"e9","recovered":false}');
  assert.deepStrictEqual(told, [40]);
  assert.deepStrictEqual(sock.events, [["unrecovered", "news"]]);
  assert.deepStrictEqual(plain(sub.position()), { offset: 40, epoch: "e9" });
});
