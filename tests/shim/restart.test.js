// A server restart (1012) seen by fallback.js: the page's socket stays open, a new
// connection is made, and what the old server had not acknowledged goes on the new one,
// numbered from 0 and kept until the new server acknowledges it.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, info } = require("./browser");

const URL_ = "http://example.test/echo";

// A socket open over WebSocket, resumable (cid C1), that sent "one" and "two" and got no
// acknowledgement before the server said it restarts; returns [browser, sock, new ws].
function restarted() {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: ["websocket"] });
  b.runPending();
  b.answerInfo(info());
  const ws = b.websockets[0];
  ws.receive("o");
  ws.receive('r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":false,"seen":0}');
  sock.send("one");
  sock.send("two");
  assert.deepStrictEqual(ws.sent, ['[{"seq":0},"one"]', '[{"seq":1},"two"]']);
  ws.receive('c[1012,"Server restarting"]');
  for (let i = 0; i < 200 && b.websockets.length == 1; i++) { b.advance(50); }
  assert.strictEqual(b.websockets.length, 2, "no new connection");
  const next = b.websockets[1];
  assert.strictEqual(next.query.get("fb_resume"), "1"); // a new connection, not a resume
  return [b, sock, next];
}

test("after a restart, what the old server did not acknowledge goes first, numbered from 0", () => {
  const [, sock, ws] = restarted();
  sock.send("three"); // while reconnecting: queued behind them
  ws.receive("o");
  assert.deepStrictEqual(sock.log, [["open"], ["reconnect"]]);
  assert.deepStrictEqual(ws.sent, ['[{"seq":0},"one","two","three"]']);
});

test("after a restart, those messages are kept until the new server acknowledges them", () => {
  const [b, sock, ws] = restarted();
  ws.receive("o");
  ws.receive('r{"cid":"C2bbbbbbbbbbbbbbbbb","resumed":false,"seen":0}');
  ws.drop(); // lost before any acknowledgement: they must go again on the resume
  for (let i = 0; i < 200 && b.websockets.length == 2; i++) { b.advance(50); }
  const resume = b.websockets[2];
  assert.match(resume.query.get("fb_resume"), /^C2b+\.0\.1$/);
  resume.receive("o");
  resume.receive('r{"cid":"C3ccccccccccccccccc","resumed":true,"seen":1}');
  assert.deepStrictEqual(resume.sent, ['[{"seq":1},"two"]']);
  assert.deepStrictEqual(sock.log, [["open"], ["reconnect"], ["resume"]]);
});
