// The shipped fallback.js's resume rules, with a clock the test controls (see browser.js).
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, info } = require("./browser");

const URL_ = "http://example.test/echo";
const HEARTBEAT = 25; // seconds, as the server's info says
const GRACE = 60;
const WATCHDOG = 1.5 * HEARTBEAT * 1000 + 2000;

// A socket open on `transport` with resume agreed (cid "C1"); returns [browser, sock].
function openResumable(transport, overrides) {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: [transport || "websocket"] });
  b.runPending();
  b.answerInfo(info(Object.assign({ heartbeat_delay: HEARTBEAT, resume: { v: 1, grace: GRACE } }, overrides)));
  const ws = b.websockets[0];
  assert.strictEqual(ws.query.get("fb_resume"), "1");
  ws.receive("o");
  ws.receive('r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":false,"seen":0}');
  assert.strictEqual(sock.readyState, 1);
  assert.deepStrictEqual(sock.log, [["open"]]);
  return [b, sock];
}

// Let the back-off timer run; returns the WebSocket of the resume attempt.
function nextAttempt(b, before) {
  for (let i = 0; i < 200 && b.websockets.length == before; i++) { b.advance(50); }
  assert.ok(b.websockets.length > before, "no resume attempt");
  return b.websockets[b.websockets.length - 1];
}

function resumeOn(ws, seen) {
  ws.receive("o");
  ws.receive('r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":true,"seen":' + (seen || 0) + "}");
}

// Keep the transport alive for `ms` with a heartbeat every HEARTBEAT seconds.
function liveFor(b, ws, ms) {
  for (let t = 0; t < ms; t += HEARTBEAT * 1000) {
    b.advance(Math.min(HEARTBEAT * 1000, ms - t));
    ws.receive("h");
  }
}

test("a resume asks for what arrived, and the page sees no close", () => {
  const [b, sock] = openResumable();
  b.websockets[0].receive('a["one","two"]');
  b.websockets[0].drop();
  const ws = nextAttempt(b, 1);
  assert.strictEqual(ws.query.get("fb_resume"), "C1aaaaaaaaaaaaaaaaa.2.1"); // attempt 1
  resumeOn(ws, 0);
  assert.deepStrictEqual(sock.log, [["open"], ["resume"]]);
  assert.deepStrictEqual(sock.received, ["one", "two"]);
});

test("every loss gets the whole grace period, however long after the first one", () => {
  const [b, sock] = openResumable();
  let ws = b.websockets[0];
  for (let loss = 0; loss < 4; loss++) {
    ws.drop();
    ws = nextAttempt(b, b.websockets.length);
    resumeOn(ws);
    // Alive much longer than the grace period before the next loss.
    liveFor(b, ws, 2 * GRACE * 1000);
  }
  ws.drop();
  ws = nextAttempt(b, b.websockets.length);
  assert.ok(ws.query.get("fb_resume").startsWith("C1"));
  // Attempts are numbered for the life of the socket: this is the fifth.
  assert.strictEqual(ws.query.get("fb_resume").split(".")[2], "5");
  assert.deepStrictEqual(sock.log.filter((e) => e[0] == "close"), []);
  assert.strictEqual(sock.readyState, 1);
});

test("the grace period runs from the current loss, and ends the socket with 3009", () => {
  const [b, sock] = openResumable();
  liveFor(b, b.websockets[0], 10 * 1000);
  const lostAt = b.clock.now;
  b.websockets[0].drop();
  // Every attempt fails at once (the network is gone).
  while (sock.readyState == 1 && b.clock.now - lostAt < 2 * GRACE * 1000) {
    const before = b.websockets.length;
    b.advance(100);
    if (b.websockets.length > before) { b.websockets[b.websockets.length - 1].drop(); }
  }
  const close = sock.log.find((e) => e[0] == "close");
  assert.deepStrictEqual(close, ["close", 3009, "Resume grace period expired"]);
  const elapsed = b.clock.now - lostAt;
  // Not before the grace period; and at the first attempt after it (back-off <= 5 s).
  assert.ok(elapsed > GRACE * 1000, "gave up after " + elapsed + " ms");
  assert.ok(elapsed <= GRACE * 1000 + 5000 * 1.5 + 200, "gave up after " + elapsed + " ms");
});

test("a silent transport counts as lost after one and a half heartbeats and 2 s", () => {
  const [b] = openResumable();
  b.advance(WATCHDOG - 100);
  assert.strictEqual(b.websockets.length, 1, "resumed while heartbeats were still due");
  b.advance(200);
  const ws = nextAttempt(b, 1);
  assert.strictEqual(ws.query.get("fb_resume"), "C1aaaaaaaaaaaaaaaaa.0.1");
});

test("a late watchdog timer (throttled tab) looks again before calling the transport dead", () => {
  const [b] = openResumable();
  b.clock.jump(3 * WATCHDOG); // the tab slept: timers did not run
  b.advance(0); // the watchdog fires, late
  b.websockets[0].receive("h"); // what the browser held back arrives
  b.advance(2000);
  assert.strictEqual(b.websockets.length, 1);
});

test("the heartbeat limit follows the server's heartbeat_delay", () => {
  const [b] = openResumable("websocket", { heartbeat_delay: 1 });
  b.advance(1.5 * 1000 + 2000 - 100);
  assert.strictEqual(b.websockets.length, 1);
  b.advance(200 + 100 * 1.5); // the limit, then the first back-off at its longest
  assert.strictEqual(b.websockets.length, 2);
});

test("a send left in flight by a lost transport does not hold up the next one", () => {
  // (Firefox: a JSONP form post whose frame never loads after a network error.)
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: ["xhr"] });
  b.runPending();
  b.answerInfo(info({ heartbeat_delay: HEARTBEAT, resume: { v: 1, grace: GRACE } }));
  let poll = b.pendingRequests("/xhr")[0];
  poll.answer(200, "o\n");
  poll = b.pendingRequests("/xhr")[0];
  poll.answer(200, 'r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":false,"seen":0}\n');
  sock.send("one");
  const stuck = b.pendingRequests("/xhr_send")[0];
  assert.ok(stuck, "no send request");
  b.pendingRequests("/xhr")[0].fail(); // the transport is lost; the send never answers
  b.advance(200);
  const resume = b.pendingRequests("/xhr")[0];
  assert.strictEqual(resume.query.get("fb_resume"), "C1aaaaaaaaaaaaaaaaa.0.1");
  resume.answer(200, 'o\nr{"cid":"C2bbbbbbbbbbbbbbbbb","resumed":true,"seen":0}\n');
  const again = b.pendingRequests("/xhr_send").filter((x) => x !== stuck);
  assert.strictEqual(again.length, 1, "the unacknowledged message was not sent again");
  assert.deepStrictEqual(JSON.parse(again[0].body), [{ seq: 0 }, "one"]);
  stuck.answer(204); // its late answer changes nothing
  assert.strictEqual(b.pendingRequests("/xhr_send").length, 1);
});

test("a send that never ends counts as lost after the heartbeat limit", () => {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: ["xhr"] });
  b.runPending();
  b.answerInfo(info({ heartbeat_delay: HEARTBEAT, resume: { v: 1, grace: GRACE } }));
  b.pendingRequests("/xhr")[0].answer(200, "o\n");
  b.pendingRequests("/xhr")[0].answer(200, 'r{"cid":"C1aaaaaaaaaaaaaaaaa","resumed":false,"seen":0}\n');
  sock.send("one"); // its request hangs; polls go on answering heartbeats
  for (let n = 0; n < 3; n++) {
    b.advance(10000);
    b.pendingRequests("/xhr")[0].answer(200, "h\n");
  }
  b.advance(WATCHDOG - 30000 - 100);
  assert.strictEqual(b.pendingRequests("/xhr")[0].query.get("fb_resume"), "C1aaaaaaaaaaaaaaaaa.0");
  b.advance(100 + 200); // past the limit, and the first back-off
  const resume = b.pendingRequests("/xhr").find((x) => x.query.get("fb_resume").split(".").length == 3);
  assert.ok(resume, "no resume after the send hung");
  assert.strictEqual(sock.readyState, 1);
});
