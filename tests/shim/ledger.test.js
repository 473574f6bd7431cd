// fallback.js's resume ledger alone (the protocol: fallback/resume.py): what is kept until
// acknowledged, the {seq}/{ack} of each send, the fb_resume argument, the grace clock.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser } = require("./browser");

const { Ledger } = new FakeBrowser({ parts: true }).parts;
const plain = (value) => JSON.parse(JSON.stringify(value));

// A ledger of a connection the server made resumable (its id "C1").
function resumable() {
  const ledger = new Ledger();
  ledger.offered = true;
  ledger.cid = "C1";
  return ledger;
}

// What the socket does with one page message: keep it, queue it, send the queue.
function send(ledger, queue, text) {
  ledger.sent(text);
  queue.push(text);
  const batch = ledger.batch(queue.splice(0));
  return batch && plain(batch);
}

test("nothing is kept where resume was not offered, and sends carry no controls", () => {
  const ledger = new Ledger();
  assert.strictEqual(ledger.keeps(), false);
  assert.deepStrictEqual(send(ledger, [], "a"), ["a"]);
  ledger.rx = 40; // received, but without an id there is no one to acknowledge them to
  assert.deepStrictEqual(send(ledger, [], "b"), ["b"]);
  assert.strictEqual(ledger.batch([]), null);
  assert.strictEqual(ledger.unacked.length, 0);
});

test("once resume is offered, every send is kept and numbered until the server acknowledges it", () => {
  const ledger = new Ledger();
  ledger.offered = true; // the id comes after the open frame: keep what is sent meanwhile
  assert.deepStrictEqual(send(ledger, [], "a"), [{ seq: 0 }, "a"]);
  ledger.cid = "C1";
  assert.deepStrictEqual(send(ledger, [], "b"), [{ seq: 1 }, "b"]);
  // Two queued while a send was in flight leave together, after the three before them.
  const queue = [];
  ledger.sent("c");
  queue.push("c");
  ledger.sent("d");
  queue.push("d");
  assert.deepStrictEqual(plain(ledger.batch(queue)), [{ seq: 2 }, "c", "d"]);
  assert.deepStrictEqual(plain(ledger.unacked), ["a", "b", "c", "d"]);
  ledger.acked(3);
  assert.deepStrictEqual(plain(ledger.unacked), ["d"]);
  ledger.acked(2); // an old acknowledgement changes nothing
  assert.deepStrictEqual(plain(ledger.unacked), ["d"]);
  assert.deepStrictEqual(send(ledger, [], "e"), [{ seq: 4 }, "e"]);
});

test("acknowledgements ride on sends, and go alone only when 32 are owed or one is due", () => {
  const ledger = resumable();
  ledger.rx = 5;
  assert.deepStrictEqual(send(ledger, [], "a"), [{ seq: 0 }, "a", { ack: 5 }]);
  assert.strictEqual(ledger.told, 5);
  assert.deepStrictEqual(send(ledger, [], "b"), [{ seq: 1 }, "b"]); // nothing new to acknowledge
  ledger.rx = 36;
  assert.strictEqual(ledger.batch([]), null); // 31 owed: they wait for a send
  ledger.rx = 37;
  assert.deepStrictEqual(plain(ledger.batch([])), [{ ack: 37 }]);
  ledger.rx = 38;
  ledger.ackNow = true; // the socket's 2 s timer
  assert.deepStrictEqual(plain(ledger.batch([])), [{ ack: 38 }]);
  assert.strictEqual(ledger.ackNow, false);
  assert.strictEqual(ledger.batch([]), null);
});

test("fb_resume carries the id and the count received, and during a resume the attempt", () => {
  const ledger = resumable();
  ledger.rx = 12;
  assert.strictEqual(ledger.argument(false), "fb_resume=C1.12");
  ledger.tries = 3;
  assert.strictEqual(ledger.argument(true), "fb_resume=C1.12.3");
});

test("the grace clock runs from when a loss was noticed, and every loss gets all of it", () => {
  const ledger = resumable();
  const t0 = 1700000000000;
  assert.strictEqual(ledger.expired(t0, 60000), false);
  assert.strictEqual(ledger.expired(t0 + 30000, 60000), false); // a later attempt, same loss
  assert.strictEqual(ledger.expired(t0 + 60000, 60000), false);
  assert.strictEqual(ledger.expired(t0 + 60001, 60000), true);
  ledger.attempts = 7;
  ledger.resumed({ cid: "C2", resumed: true, seen: 0 });
  assert.strictEqual(ledger.attempts, 0);
  assert.strictEqual(ledger.expired(t0 + 600000, 60000), false); // a new loss, much later
  assert.strictEqual(ledger.expired(t0 + 660001, 60000), true);
});

test("a resume takes the fresh id and gives back what the server did not get", () => {
  const ledger = resumable();
  const queue = [];
  for (const text of ["a", "b", "c"]) { send(ledger, queue, text); }
  const again = ledger.resumed({ cid: "C2", resumed: true, seen: 1 });
  assert.strictEqual(ledger.cid, "C2");
  assert.deepStrictEqual(plain(again), ["b", "c"]);
  assert.deepStrictEqual(plain(ledger.batch(again)), [{ seq: 1 }, "b", "c"]);
  ledger.resumed({ resumed: true, seen: 3 }); // (an answer without an id keeps the one it has)
  assert.strictEqual(ledger.cid, "C2");
  assert.deepStrictEqual(plain(ledger.unacked), []);
});

test("a restart starts the counts again but keeps the numbering of resume attempts", () => {
  const ledger = resumable();
  ledger.rx = ledger.told = 9;
  ledger.tries = 4;
  ledger.attempts = 2;
  ledger.lostAt = 1;
  send(ledger, [], "a");
  const queue = ledger.restart();
  assert.deepStrictEqual(plain(queue), ["a"]);
  assert.deepStrictEqual([ledger.cid, ledger.rx, ledger.told, ledger.got, ledger.attempts, ledger.lostAt, ledger.tries],
    [null, 0, 0, 0, 0, 0, 4]);
  // The new server has seen none of our messages: what goes again is numbered from 0, and
  // kept until it acknowledges it.
  ledger.sent("b");
  queue.push("b");
  assert.deepStrictEqual(plain(ledger.batch(queue)), [{ seq: 0 }, "a", "b"]);
  assert.deepStrictEqual(plain(ledger.unacked), ["a", "b"]);
});
