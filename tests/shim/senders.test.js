// The shipped fallback.js's senders: when a send counts as arrived (see browser.js). A JSONP
// send is a form post into a hidden frame; when the post fails the browser shows its own
// error page there, which fires load and cannot be read, just like an answer from another
// origin. Only an answer read as "ok", or the server's page saying so, may count.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, callbackOf, frames, info } = require("./browser");

const URL_ = "http://example.test/echo";
const CID = "C1aaaaaaaaaaaaaaaaa";

function polls(b) { return frames(b, "jsonp"); }
function forms(b) { return b.appended.filter((e) => e.tagName == "FORM"); }
function frameOf(b, form) { return b.appended.find((e) => e.tagName == "IFRAME" && e.name == form.target); }
function messagesOf(form) { return JSON.parse(form.children[0].value).filter((m) => typeof m == "string"); }

// A resumable JSONP socket, open, with its third poll waiting; overrides go into /info.
function openJsonp(overrides) {
  const b = new FakeBrowser();
  const sock = b.socket(URL_, { transports: ["jsonp"] });
  b.runPending();
  b.answerInfo(info(overrides));
  let script = polls(b)[0];
  callbackOf(b, script)("o");
  script.onload();
  script = polls(b)[1];
  callbackOf(b, script)('r{"cid":"' + CID + '","resumed":false,"seen":0}');
  script.onload();
  assert.strictEqual(sock.readyState, 1);
  return [b, sock];
}

// What a frame holds after its load: the browser's error page (or another origin's
// answer), or a same-origin answer with `text` as its body.
const UNREADABLE = { get location() { throw new Error("SecurityError"); } };
function answered(text) {
  return { location: { href: "http://example.test/echo/x/y/jsonp_send" }, document: { body: { textContent: text } } };
}
function load(b, form, content) {
  const frame = frameOf(b, form);
  frame.contentWindow = content;
  frame.dispatch("load");
  return frame;
}

test("a JSONP send whose frame shows the browser's error page fails, and goes again with the resume", () => {
  const [b, sock] = openJsonp();
  sock.send("one");
  const form = forms(b)[0];
  assert.strictEqual(new URL(form.action).searchParams.get("fb_signal"), "1");
  assert.deepStrictEqual(messagesOf(form), ["one"]);
  load(b, form, UNREADABLE);
  b.advance(999); // the server's message may still come
  assert.strictEqual(polls(b).length, 3, "gave up before the signal could come");
  b.advance(1 + 300);
  const resume = polls(b)[polls(b).length - 1];
  assert.strictEqual(new URL(resume.src).searchParams.get("fb_resume"), CID + ".0.1");
  callbackOf(b, resume)("o");
  callbackOf(b, resume)('r{"cid":"' + CID + '","resumed":true,"seen":0}');
  const again = forms(b)[forms(b).length - 1];
  assert.notStrictEqual(again, form);
  assert.deepStrictEqual(messagesOf(again), ["one"]);
  assert.deepStrictEqual(sock.log, [["open"], ["resume"]]);
});

test("a JSONP send counts as arrived when the server's answer signals its frame", () => {
  const [b, sock] = openJsonp();
  sock.send("one");
  sock.send("two"); // waits for the first send
  assert.strictEqual(forms(b).length, 1);
  const frame = frameOf(b, forms(b)[0]);
  frame.contentWindow = UNREADABLE;
  b.postMessage({}, "fallback:sent"); // another window's message counts for nothing
  b.postMessage(frame.contentWindow, "something else");
  assert.strictEqual(forms(b).length, 1);
  b.postMessage(frame.contentWindow, "fallback:sent");
  assert.strictEqual(forms(b).length, 2);
  assert.deepStrictEqual(messagesOf(forms(b)[1]), ["two"]);
  frame.dispatch("load"); // its load, after the message, changes nothing
  b.advance(5000);
  assert.strictEqual(polls(b).length, 3);
  assert.deepStrictEqual(sock.log, [["open"]]);
  assert.strictEqual(b.windowListeners.message.length, 1); // the second send's
  const second = frameOf(b, forms(b)[1]);
  second.contentWindow = UNREADABLE;
  b.postMessage(second.contentWindow, "fallback:sent");
  assert.deepStrictEqual(b.windowListeners.message, [], "a sent frame's listener stays behind");
});

test("a same-origin JSONP answer counts only when it reads ok", () => {
  const [b, sock] = openJsonp();
  sock.send("one");
  load(b, forms(b)[0], answered(" ok\n"));
  sock.send("two");
  assert.deepStrictEqual(messagesOf(forms(b)[1]), ["two"]);
  load(b, forms(b)[1], answered("Session not found."));
  b.advance(300);
  const resume = polls(b)[polls(b).length - 1];
  assert.strictEqual(new URL(resume.src).searchParams.get("fb_resume"), CID + ".0.1");
  assert.strictEqual(sock.readyState, 1);
});

test("a plain SockJS server on another origin gives no signal: load alone counts", () => {
  const [b, sock] = openJsonp({ send_signal: undefined });
  sock.send("one");
  const form = forms(b)[0];
  assert.strictEqual(new URL(form.action).searchParams.get("fb_signal"), null);
  load(b, form, UNREADABLE);
  sock.send("two");
  assert.deepStrictEqual(messagesOf(forms(b)[1]), ["two"]);
  b.advance(5000);
  assert.deepStrictEqual(sock.log, [["open"]]);
});

test("a JSONP post that never ends is given up after a minute, its frame and listener gone", () => {
  const [b, sock] = openJsonp();
  sock.send("one");
  const form = forms(b)[0];
  const frame = frameOf(b, form);
  assert.strictEqual(b.windowListeners.message.length, 1);
  b.advance(60000 + 10); // no load, no message (the send's deadline gave it up long before)
  assert.strictEqual(frame.parentNode, null);
  assert.strictEqual(form.parentNode, null);
  assert.deepStrictEqual(b.windowListeners.message, []);
  assert.strictEqual(sock.readyState, 1);
});
