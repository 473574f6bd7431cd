// Channels with history across a refused resume: the server that held the connection is
// gone (SIGKILL), so the resume gets 3011; fallback.js opens a new connection instead and
// subscribes again, asking to recover since the last position it got.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, info } = require("./browser");

const URL_ = "http://example.test/acme";

function subscribed(withHistory) {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: ["websocket"] });
  b.runPending();
  b.answerInfo(info());
  const ws = b.websockets[0];
  ws.receive("o");
  ws.receive('r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":false,"seen":0}');
  const got = [];
  sock.subscribe("feed", (data) => got.push(data));
  const position = withHistory ? ',"offset":3,"epoch":"e1"' : "";
  ws.receive(`a["{\\"v\\":1,\\"op\\":\\"ok\\",\\"id\\":1${position.replace(/"/g, '\\"')}}"]`);
  if (withHistory) {
    ws.receive('a["{\\"v\\":1,\\"op\\":\\"message\\",\\"channel\\":\\"feed\\",\\"data\\":4,\\"offset\\":4,\\"epoch\\":\\"e1\\"}"]');
  }
  ws.close(1006); // the server died
  for (let i = 0; i < 200 && b.websockets.length == 1; i++) { b.advance(50); }
  const resume = b.websockets[1];
  assert.match(resume.query.get("fb_resume"), /^C1a+\.\d+\.1$/);
  resume.receive("o");
  resume.receive('c[3011,"Cannot resume: unknown connection"]');
  return [b, sock, got];
}

test("a refused resume with channels to recover opens a new connection that recovers them", () => {
  const [b, sock, got] = subscribed(true);
  for (let i = 0; i < 200 && b.websockets.length == 2; i++) { b.advance(50); }
  assert.strictEqual(b.websockets.length, 3, "no new connection");
  const next = b.websockets[2];
  assert.strictEqual(next.query.get("fb_resume"), "1"); // a new connection, not a resume
  next.receive("o");
  assert.deepStrictEqual(sock.log, [["open"], ["reconnect"]]);
  // only the new subscribe: the old one (never acknowledged) is not replayed before it
  assert.strictEqual(next.sent.length, 1);
  const batch = JSON.parse(next.sent[0]);
  assert.deepStrictEqual(batch[0], { seq: 0 });
  assert.deepStrictEqual(batch.slice(1).map((text) => JSON.parse(text)), [
    { v: 1, op: "subscribe", id: 2, channel: "feed", since: { offset: 4, epoch: "e1" } },
  ]);
  assert.deepStrictEqual(got, [4]);
});

test("without a position to recover from, a refused resume still closes the socket", () => {
  const [b, sock] = subscribed(false);
  b.advance(5000);
  assert.strictEqual(b.websockets.length, 2);
  assert.deepStrictEqual(sock.log[sock.log.length - 1][0], "close");
});
