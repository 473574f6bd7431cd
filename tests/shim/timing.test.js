// fallback.js's timing rules as plain functions (back-off, heartbeat limit, open timeouts,
// the watchdog's verdict), and the watchdog itself on the fake browser's clock.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser } = require("./browser");

const parts = new FakeBrowser({ parts: true }).parts;
const DEFAULTS = { reconnectDelay: 100, maxReconnectDelay: 5000, timeout: 0, minTimeout: 1000 };

test("the back-off doubles from reconnectDelay up to maxReconnectDelay, times a jitter of 0.5-1.5", () => {
  const { backoff } = parts;
  assert.strictEqual(backoff(1, DEFAULTS, 0.5), 100);
  assert.strictEqual(backoff(2, DEFAULTS, 0.5), 200);
  assert.strictEqual(backoff(6, DEFAULTS, 0.5), 3200);
  assert.strictEqual(backoff(7, DEFAULTS, 0.5), 5000); // capped
  assert.strictEqual(backoff(40, DEFAULTS, 0.5), 5000);
  assert.strictEqual(backoff(1, DEFAULTS, 0), 50);
  assert.ok(Math.abs(backoff(1, DEFAULTS, 0.999999) - 150) < 0.001);
  assert.strictEqual(backoff(3, { reconnectDelay: 10, maxReconnectDelay: 25 }, 0.5), 25);
});

test("the heartbeat limit is 1.5 heartbeats and 2 s, 60 s unknown, or what the page says", () => {
  const { heartbeatLimit } = parts;
  assert.strictEqual(heartbeatLimit(null, 25000), 39500);
  assert.strictEqual(heartbeatLimit(undefined, 1000), 3500);
  assert.strictEqual(heartbeatLimit(null, 0), 60000);
  assert.strictEqual(heartbeatLimit(null, undefined), 60000);
  assert.strictEqual(heartbeatLimit(0, 25000), 0); // never
  assert.strictEqual(heartbeatLimit(3000, 25000), 3000);
});

test("a transport may take two retransmission timeouts of the info round trip to open", () => {
  const { openTimeout } = parts;
  const info = {};
  assert.strictEqual(openTimeout(DEFAULTS, info, 400), 3200); // 2 x 4 x RTT above 100 ms
  assert.strictEqual(openTimeout(DEFAULTS, info, 101), 1000); // 808, but at least minTimeout
  assert.strictEqual(openTimeout(Object.assign({}, DEFAULTS, { minTimeout: 500 }), info, 101), 808);
  assert.strictEqual(openTimeout(DEFAULTS, info, 100), 1000); // 2 x (300 + RTT), at least minTimeout
  assert.strictEqual(openTimeout(Object.assign({}, DEFAULTS, { minTimeout: 0 }), info, 20), 640);
  assert.strictEqual(openTimeout(DEFAULTS, null, 0), 8000); // no answer: a 4 s RTO
  assert.strictEqual(openTimeout(Object.assign({}, DEFAULTS, { timeout: 1234 }), info, 400), 1234);
});

test("the last candidate gets longer to open, and Flash 4 s more", () => {
  const { attemptTimeout } = parts;
  assert.strictEqual(attemptTimeout(1000, false, "websocket"), 1000);
  assert.strictEqual(attemptTimeout(1000, true, "xhr"), 10000);
  assert.strictEqual(attemptTimeout(5000, true, "xhr"), 15000);
  assert.strictEqual(attemptTimeout(1000, false, "flash"), 5000);
  assert.strictEqual(attemptTimeout(1000, true, "flash"), 14000);
});

test("the watchdog's verdict: wait out the silence, look again after a late timer, else lost", () => {
  const { recheck } = parts;
  assert.strictEqual(recheck(1000, 0, 39500), 38500); // a frame came meanwhile: the rest
  assert.strictEqual(recheck(39499, 0, 39500), 1);
  assert.strictEqual(recheck(39500, 0, 39500), 0); // silent for the whole limit: lost
  assert.strictEqual(recheck(39500, 1000, 39500), 0); // a little late is on time
  assert.strictEqual(recheck(120000, 1001, 39500), 1500); // slept: give held-back frames a moment
});

test("the watchdog calls lost after `limit` ms without a frame, by the clock", () => {
  const b = new FakeBrowser({ parts: true });
  let lost = 0;
  const dog = b.parts.watchdog(() => lost++);
  dog.alive(10000);
  b.advance(6000);
  dog.alive(10000); // a frame
  b.advance(9999);
  assert.strictEqual(lost, 0);
  b.advance(1);
  assert.strictEqual(lost, 1);
  b.advance(60000);
  assert.strictEqual(lost, 1, "called once per silence");
});

test("a late watchdog timer looks again 1.5 s later, and a frame meanwhile saves the transport", () => {
  const b = new FakeBrowser({ parts: true });
  let lost = 0;
  const dog = b.parts.watchdog(() => lost++);
  dog.alive(10000);
  b.clock.jump(50000); // the tab slept
  b.advance(0); // the timer fires, 40 s late
  assert.strictEqual(lost, 0);
  dog.alive(10000); // what the browser held back arrives
  b.advance(9999);
  assert.strictEqual(lost, 0);
  // Late again, and no frame this time: lost once it looked again.
  b.clock.jump(50000);
  b.advance(0);
  b.advance(1499);
  assert.strictEqual(lost, 0);
  b.advance(1);
  assert.strictEqual(lost, 1);
});

test("a watchdog given no limit, or stopped, never calls lost", () => {
  const b = new FakeBrowser({ parts: true });
  let lost = 0;
  const dog = b.parts.watchdog(() => lost++);
  dog.alive(0);
  b.advance(600000);
  dog.alive(1000);
  dog.stop();
  b.advance(600000);
  dog.alive(1000);
  dog.alive(0); // watched no more
  b.advance(600000);
  assert.strictEqual(lost, 0);
  assert.strictEqual(b.clock.pending(), 0);
});
