// fallback.js's negotiation alone: which transports to try and in what order, for how long,
// what the server's info says, and what is remembered of earlier visits.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser, info } = require("./browser");

const plain = (value) => JSON.parse(JSON.stringify(value));
const ALL = ["websocket", "flash", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"];

test("candidates keep the list's order, once each, as far as allowed and possible", () => {
  const { chooseTransports } = new FakeBrowser({ parts: true }).parts;
  const can = (name) => name != "flash";
  assert.deepStrictEqual(plain(chooseTransports(ALL, null, can, {}, 0, 1000)),
    ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]);
  assert.deepStrictEqual(plain(chooseTransports(["xhr", "websocket", "xhr"], null, can, {}, 0, 1000)), ["xhr", "websocket"]);
  assert.deepStrictEqual(plain(chooseTransports(ALL, ["jsonp", "xhr", "flash"], can, {}, 0, 1000)), ["xhr", "jsonp"]);
});

test("a transport that failed here recently is skipped, unless nothing else is left", () => {
  const { chooseTransports } = new FakeBrowser({ parts: true }).parts;
  const can = () => true;
  const now = 1700000000000;
  const failed = { websocket: now - 999, eventsource: now - 1000 };
  assert.deepStrictEqual(plain(chooseTransports(["websocket", "eventsource", "xhr"], null, can, failed, now, 1000)),
    ["eventsource", "xhr"]); // failed 1000 ms ago: retried
  assert.deepStrictEqual(plain(chooseTransports(["websocket"], null, can, failed, now, 1000)), ["websocket"]);
  assert.deepStrictEqual(plain(chooseTransports(["websocket", "jsonp"], ["websocket"], can, failed, now, 1000)), ["websocket"]);
});

// A Plan for http://example.test/echo as a socket with these options makes it.
function plan(browserOptions, options) {
  const b = new FakeBrowser(Object.assign({ parts: true }, browserOptions));
  const o = Object.assign({}, b.FallbackSocket.defaults, options);
  return [b, new b.parts.Plan(b.parts.parseUrl("http://example.test/echo"), o)];
}

test("the server's info decides the order, the heartbeat, the grace period and resume", () => {
  const [, p] = plan({}, {});
  p.choose(info({ transports: ["xhr-polling", "websocket", "iframe-eventsource"], heartbeat_delay: 10, resume: { v: 1, grace: 30 } }), 50);
  assert.deepStrictEqual(plain(p.candidates), ["xhr", "websocket", "eventsource"]);
  assert.deepStrictEqual(plain(p.all), ["xhr", "websocket", "eventsource"]);
  assert.strictEqual(p.heartbeat, 10000);
  assert.strictEqual(p.grace, 30000);
  assert.strictEqual(p.resume, true);
  assert.strictEqual(p.rtt, 50);
  assert.strictEqual(p.timeout, 1000);
  p.choose(info({ resume: { v: 2, grace: 30 }, heartbeat_delay: 0 }), 300);
  assert.strictEqual(p.resume, false); // a version we do not speak
  assert.strictEqual(p.heartbeat, 0);
  assert.strictEqual(p.timeout, 2400);
  p.choose(info({ resume: undefined }), 0);
  assert.deepStrictEqual([p.resume, p.grace], [false, 60000]);
  p.choose(null, 0); // no answer: our order, no heartbeat known
  assert.deepStrictEqual(plain(p.candidates), ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]);
  assert.deepStrictEqual([p.heartbeat, p.timeout, p.resume], [0, 8000, false]);
});

test("websocket: false in the info, the page's own list and the browser's abilities narrow the plan", () => {
  let [, p] = plan({}, {});
  p.choose(info({ websocket: false }), 0);
  assert.deepStrictEqual(plain(p.candidates), ["eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]);
  [, p] = plan({}, { transports: "jsonp, xhr-polling" });
  p.choose(info(), 0);
  assert.deepStrictEqual(plain(p.candidates), ["xhr", "jsonp"]);
  [, p] = plan({ websocket: false, eventsource: false }, { resume: false });
  p.choose(info({ resume: { v: 1, grace: 60 } }), 0);
  assert.deepStrictEqual(plain(p.candidates), ["xhr_streaming", "htmlfile", "xhr", "jsonp"]);
  assert.strictEqual(p.resume, false); // the page said no
  // A page of another origin: no htmlfile (it needs the same origin), CORS for the rest.
  [, p] = plan({ location: "http://other.test/page" }, {});
  p.choose(info(), 0);
  assert.deepStrictEqual(plain(p.candidates), ["websocket", "eventsource", "xhr_streaming", "xhr", "jsonp"]);
  assert.strictEqual(p.env.ajax, "cors");
});

test("attempts go through the candidates, and what worked and failed is remembered", () => {
  const [b, p] = plan({}, { transports: ["websocket", "eventsource", "xhr"] });
  p.choose(info(), 0);
  assert.strictEqual(p.next(), "websocket");
  p.failed.push(p.attempt);
  assert.strictEqual(p.next(), "eventsource");
  assert.deepStrictEqual(plain(p.candidates), ["xhr"]);
  assert.strictEqual(p.worked(), "eventsource");
  const memory = JSON.parse(b.window.localStorage.getItem("fallback.js:http://example.test/echo"));
  assert.strictEqual(memory.ok, "eventsource");
  assert.deepStrictEqual(Object.keys(memory.failed), ["websocket"]);
  // The next visit skips what failed.
  const again = new b.parts.Plan(p.target, p.options);
  again.choose(info(), 0);
  assert.deepStrictEqual(plain(again.candidates), ["eventsource", "xhr"]);
  p.again();
  assert.deepStrictEqual(plain(p.candidates), ["websocket", "eventsource", "xhr"]);
  assert.strictEqual(p.next(), "websocket");
  p.candidates = [];
  assert.strictEqual(p.next(), undefined);
  assert.strictEqual(p.attempt, "websocket");
});

test("remember: false keeps nothing in localStorage", () => {
  const [b, p] = plan({}, { remember: false });
  p.choose(info(), 0);
  p.next();
  p.worked();
  assert.strictEqual(b.window.localStorage.getItem("fallback.js:http://example.test/echo"), null);
});

test("a resume retries its transport three times, then each the plan allowed in turn", () => {
  const [, p] = plan({}, { transports: ["websocket", "eventsource", "xhr"] });
  p.choose(info(), 0);
  const picks = [];
  for (let n = 1; n <= 8; n++) { picks.push(p.forResume(n, "xhr")); }
  assert.deepStrictEqual(picks, ["xhr", "xhr", "xhr", "websocket", "eventsource", "xhr", "websocket", "eventsource"]);
});

test("the info request goes to <base>/info with a cache buster, and its answer comes once", () => {
  const [b, p] = plan({}, {});
  const answers = [];
  const abort = p.ask((answer, rtt) => answers.push([answer && answer.websocket, rtt]));
  const request = b.pendingRequests("/info")[0];
  assert.strictEqual(request.method, "GET");
  assert.match(request.url, /^http:\/\/example\.test\/echo\/info\?t=[0-9]+$/);
  b.advance(120);
  request.answer(200, JSON.stringify(info()));
  assert.deepStrictEqual(answers, [[true, 120]]);
  b.advance(10000); // its timer was cleared
  assert.deepStrictEqual(answers, [[true, 120]]);
  assert.strictEqual(typeof abort, "function");
});

test("an info request that gets no answer in time, or a broken one, means no info", () => {
  const [b, p] = plan({}, { timeout: 3000 });
  const answers = [];
  p.ask((answer) => answers.push(answer));
  const request = b.pendingRequests("/info")[0];
  b.advance(2999);
  assert.deepStrictEqual(answers, []);
  b.advance(1);
  assert.deepStrictEqual(answers, [null]);
  assert.strictEqual(request.aborted, true);
  p.ask((answer) => answers.push(answer));
  b.pendingRequests("/info")[0].answer(200, "not json");
  p.ask((answer) => answers.push(answer));
  b.pendingRequests("/info")[0].answer(500, "");
  assert.deepStrictEqual(answers, [null, null, null]);
});
