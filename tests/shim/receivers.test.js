// The shipped fallback.js's receivers: how each HTTP transport's frames are read and how
// a receiving request that ends, breaks or falls silent is followed up (see browser.js).
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, callbackOf, frames, info, settle } = require("./browser");

const URL_ = "http://example.test/echo";
const CID = "C1aaaaaaaaaaaaaaaaa";

function start(transport, overrides) {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: [transport] });
  b.runPending();
  b.answerInfo(info(Object.assign({ heartbeat_delay: 25 }, overrides)));
  return [b, sock];
}

test("eventsource data is decoded as sockjs-node escapes it and sockjs-client reads it", () => {
  const [b, sock] = start("eventsource");
  const es = b.eventsources[0];
  es.receive("o");
  // What sockjs-node (and fallback) write for each message: every % escaped as %25.
  const messages = ["%", "%20", "%25", "%E0%A4", "100%", "%%", "\r\n", "\u2028", "\u0000", "\ud83d\ude00", "#%23"];
  for (const m of messages) {
    const frame = "a" + JSON.stringify([m]).replace(/\u2028/g, "\\u2028");
    es.receive(frame.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/\u0000/g, "%00"));
  }
  assert.deepStrictEqual(sock.received, messages);
});

test("eventsource data that is not percent-escaped is taken as it is", () => {
  const [b, sock] = start("eventsource");
  b.eventsources[0].receive("o");
  b.eventsources[0].receive('a["%E0%A4 100%"]'); // decodeURI would throw on both
  assert.deepStrictEqual(sock.received, ["%E0%A4 100%"]);
});

test("a broken xhr poll is followed by one that says how much arrived", () => {
  const [b, sock] = start("xhr");
  let poll = b.pendingRequests("/xhr")[0];
  assert.strictEqual(poll.query.get("fb_resume"), "1");
  poll.answer(200, "o\n");
  poll = b.pendingRequests("/xhr")[0];
  poll.answer(200, 'r{"cid":"' + CID + '","resumed":false,"seen":0}\n');
  poll = b.pendingRequests("/xhr")[0];
  assert.strictEqual(poll.query.get("fb_resume"), CID + ".0");
  // Cut inside the second frame: only the complete one counts.
  poll.answer(200, 'a["one"]\na["tw');
  poll = b.pendingRequests("/xhr")[0];
  assert.strictEqual(poll.query.get("fb_resume"), CID + ".1");
  assert.deepStrictEqual(sock.received, ["one"]);
  assert.deepStrictEqual(sock.log, [["open"]]);
});

test("an xhr_streaming response that ends is followed by one that says how much arrived", () => {
  const [b, sock] = start("xhr_streaming");
  let stream = b.pendingRequests("/xhr_streaming")[0];
  stream.progress("h".repeat(2048) + "\no\n");
  stream.progress('r{"cid":"' + CID + '","resumed":false,"seen":0}\na["one"]\na["t');
  stream.answer(200, ""); // ended in the middle of a frame
  stream = b.pendingRequests("/xhr_streaming")[0];
  assert.strictEqual(stream.query.get("fb_resume"), CID + ".1");
  assert.deepStrictEqual(sock.received, ["one"]);
});

test("an xhr_streaming response that breaks is followed by a resume on a new session", () => {
  const [b, sock] = start("xhr_streaming");
  const first = b.pendingRequests("/xhr_streaming")[0];
  first.progress("h".repeat(2048) + "\no\n");
  first.progress('r{"cid":"' + CID + '","resumed":false,"seen":0}\na["one"]\na["t');
  first.fail(); // reset in the middle of a frame
  b.advance(200);
  const stream = b.pendingRequests("/xhr_streaming")[0];
  assert.strictEqual(stream.query.get("fb_resume"), CID + ".1.1"); // resume attempt 1
  assert.notStrictEqual(stream.path, first.path);
  stream.progress("h".repeat(2048) + "\no\n");
  stream.progress('r{"cid":"' + CID + '","resumed":true,"seen":0}\na["two"]\n');
  assert.deepStrictEqual(sock.received, ["one", "two"]);
  assert.deepStrictEqual(sock.log, [["open"], ["resume"]]);
});

test("an htmlfile stream that dies without an end event is noticed by its silence", () => {
  const [b, sock] = start("htmlfile");
  const first = frames(b, "htmlfile")[0];
  const c = callbackOf(b, first);
  c.message("o");
  c.message('r{"cid":"' + CID + '","resumed":false,"seen":0}');
  c.message('a["one"]');
  assert.strictEqual(sock.readyState, 1);
  // The stream is cut: Chromium fires no load event and the iframe stays "loading".
  b.advance(1.5 * 25 * 1000 + 2000 - 100);
  assert.strictEqual(frames(b, "htmlfile").length, 1);
  b.advance(100 + 200);
  const next = frames(b, "htmlfile");
  assert.strictEqual(next.length, 2, "no new request after the silence");
  assert.strictEqual(new URL(next[1].src).searchParams.get("fb_resume"), CID + ".1.1");
  assert.strictEqual(first.parentNode, null, "the dead iframe is removed");
});

test("a JSONP poll whose script fails is followed by a resume", () => {
  const [b, sock] = start("jsonp");
  let script = frames(b, "jsonp")[0];
  callbackOf(b, script)("o");
  script.onload();
  script = frames(b, "jsonp")[1];
  callbackOf(b, script)('r{"cid":"' + CID + '","resumed":false,"seen":0}');
  script.onload();
  script = frames(b, "jsonp")[2];
  assert.strictEqual(new URL(script.src).searchParams.get("fb_resume"), CID + ".0");
  script.onerror();
  b.advance(200);
  const again = frames(b, "jsonp")[3];
  assert.strictEqual(new URL(again.src).searchParams.get("fb_resume"), CID + ".0.1");
  assert.strictEqual(sock.readyState, 1);
});

test("where fetch streams, xhr_streaming reads each chunk as it comes", async () => {
  const b = new FakeBrowser({ fetch: true });
  const sock = b.socket(URL_, { transports: ["xhr_streaming"] });
  b.runPending();
  b.answerInfo(info({ heartbeat_delay: 25 }));
  const first = b.fetches[0];
  assert.strictEqual(first.path.endsWith("/xhr_streaming"), true);
  assert.strictEqual(first.init.method, "POST");
  assert.strictEqual(first.init.credentials, "same-origin");
  first.answer(200);
  first.push("h".repeat(2048) + "\no\n");
  await settle();
  assert.deepStrictEqual(sock.log, [["open"]]);
  first.push('r{"cid":"' + CID + '","resumed":false,"seen":0}\na["one"]\na["t');
  await settle();
  assert.deepStrictEqual(sock.received, ["one"]);
  first.push('wo"]\n'); // a frame split across chunks, then a character split across two
  const bytes = new TextEncoder().encode('a["\u00e9\ud83d\ude00"]\n');
  first.push(bytes.slice(0, 6));
  first.push(bytes.slice(6));
  await settle();
  assert.deepStrictEqual(sock.received, ["one", "two", "\u00e9\ud83d\ude00"]);
  first.end(); // the response ended (response_limit): a new one, same session
  await settle();
  const second = b.fetches[1];
  assert.strictEqual(second.path, first.path);
  assert.strictEqual(second.query.get("fb_resume"), CID + ".3");
  second.answer(200);
  second.fail(); // broken: a resume on a new session
  await settle();
  b.advance(200);
  const third = b.fetches[2];
  assert.notStrictEqual(third.path, first.path);
  assert.strictEqual(third.query.get("fb_resume"), CID + ".3.1");
  sock.close();
  assert.strictEqual(third.aborted, true);
});
