// Drives the sockjs-tornado applications of tests/compat/realapps with the npm sockjs-client,
// in Node or in a browser page, and reports what each client saw as JSON.
//
//   node sockjs_tornado_apps.js SCENARIO URL TRANSPORT [OPTIONS_JSON]
//
// prints one JSON line: {"error": null | "...", "report": {...}}. In a page that loaded
// sockjs-client's browser build and this file: scenarios.run(SCENARIO, SockJS, URL,
// TRANSPORT, OPTIONS) returns a promise of the same object. Scenarios:
//
//   chat       two participants of one room: join, unicode message, leave, stats
//   leave      the leave part alone, OPTIONS.runs times (OPTIONS.parallel: all at once;
//              OPTIONS.jitter: start each after a random pause of up to that many ms)
//   multiplex  channels over one connection: echo, shout, bye, stats, a two-client room,
//              which hears one client leave when its connection ends
//
// OPTIONS.leave says when the leaver closes: "inside" (synchronously inside the
// onmessage handler of its last message, so no request of its own is open: a polling
// client then has no poll in flight and the server can only notice it by timeout),
// "next" (in a promise continuation of that handler -- where code that awaits a
// message runs -- which in Node comes after sockjs-client sent its next poll: the close
// follows that poll on the same kept-alive connection at once) or "later"
// (OPTIONS.pause ms after it, when a polling client has its next poll open).
// Every wait is bounded (OPTIONS.timeout ms, OPTIONS.leaveTimeout ms for a leave).
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.scenarios = factory();
  }
})(this, function () {
  "use strict";

  // A SockJS client that records everything and lets the scenario wait for a condition.
  function Client(SockJS, url, transport, label, decode) {
    var self = this;
    this.label = label;
    this.decode = decode;
    this.received = [];
    this.closed = null;
    this.transport = null;
    this.onEach = null; // called synchronously after each message is recorded
    this._waiters = [];
    this.sock = new SockJS(url, null, { transports: [transport], timeout: 5000 });
    this.sock.onopen = function () {
      self.transport = self.sock.transport;
      self._poke();
    };
    this.sock.onmessage = function (event) {
      self.received.push(self.decode ? self.decode(event.data) : event.data);
      if (self.onEach) self.onEach(self.received[self.received.length - 1]);
      self._poke();
    };
    this.sock.onclose = function (event) {
      self.closed = { code: event.code, reason: event.reason };
      self._poke();
    };
  }

  Client.prototype._poke = function () {
    this._waiters = this._waiters.filter(function (check) {
      return !check();
    });
  };

  // Resolves when predicate(this) holds; rejects after `ms` with what was seen so far.
  Client.prototype.until = function (what, predicate, ms) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error(self.label + ": no " + what + " within " + ms + " ms; received " +
          JSON.stringify(self.received) + ", closed " + JSON.stringify(self.closed)));
      }, ms);
      var check = function () {
        try {
          if (!predicate(self)) return false;
        } catch (error) {
          clearTimeout(timer);
          reject(error);
          return true;
        }
        clearTimeout(timer);
        resolve();
        return true;
      };
      if (!check()) self._waiters.push(check);
    });
  };

  Client.prototype.whenOpen = function (ms) {
    return this.until("open", function (c) {
      if (c.closed) throw new Error(c.label + " closed before opening: " + JSON.stringify(c.closed));
      return c.transport !== null;
    }, ms);
  };

  Client.prototype.close = function () {
    this.sock.close();
    return this.until("close", function (c) { return c.closed !== null; }, 15000);
  };

  function options(o) {
    var merged = { timeout: 10000, leaveTimeout: 12000, leave: "later", pause: 200, runs: 1 };
    Object.keys(o || {}).forEach(function (k) { merged[k] = o[k]; });
    return merged;
  }

  function has(event) {
    return function (c) {
      return c.received.some(function (e) {
        return Object.keys(event).every(function (k) { return e[k] === event[k]; });
      });
    };
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Makes `leaver` close when it receives a message matching `event`: inside that very
  // onmessage call ("inside") or `pause` ms later ("later"). Resolves with the time of
  // the close.
  function closeOn(leaver, event, o) {
    return new Promise(function (resolve) {
      var matches = has(event);
      leaver.onEach = function () {
        if (!matches(leaver)) return;
        leaver.onEach = null;
        if (o.leave === "inside") {
          leaver.sock.close();
          resolve(Date.now());
        } else if (o.leave === "next") {
          Promise.resolve().then(function () {
            leaver.sock.close();
            resolve(Date.now());
          });
        } else {
          setTimeout(function () {
            leaver.sock.close();
            resolve(Date.now());
          }, o.pause);
        }
      };
    });
  }

  function chatUrl(url, name, room) {
    return url + "?name=" + encodeURIComponent(name) + "&room=" + encodeURIComponent(room);
  }

  function join(SockJS, url, transport, name, room, o) {
    var client = new Client(SockJS, chatUrl(url, name, room), transport, name, JSON.parse);
    return client.whenOpen(o.timeout).then(function () {
      return client.until("welcome", has({ event: "welcome" }), o.timeout);
    }).then(function () { return client; });
  }

  function say(client, text) {
    client.sock.send(JSON.stringify({ type: "say", text: text }));
  }

  async function chat(SockJS, url, transport, raw) {
    var o = options(raw);
    var room = o.room || "room-" + Math.random().toString(36).slice(2);
    var alice = await join(SockJS, url, transport, "alice", room, o);
    var bob = await join(SockJS, url, transport, "bob", room, o);
    await alice.until("bob's join", has({ event: "join", name: "bob" }), o.timeout);

    say(alice, o.text);
    var fromAlice = has({ event: "message", name: "alice", text: o.text });
    await alice.until("her own message", fromAlice, o.timeout);
    await bob.until("alice's message", fromAlice, o.timeout);

    var closedAt = closeOn(bob, { event: "message", name: "bob" }, o);
    say(bob, "hi alice");
    await alice.until("bob's message", has({ event: "message", name: "bob" }), o.timeout);
    var leftAt = await closedAt;
    await alice.until("bob's leave", has({ event: "leave", name: "bob" }), o.leaveTimeout);
    var leaveMs = Date.now() - leftAt;
    await bob.until("close", function (c) { return c.closed !== null; }, o.timeout);

    alice.sock.send(JSON.stringify({ type: "stats" }));
    await alice.until("stats", has({ event: "stats" }), o.timeout);
    await alice.close();
    return {
      transports: { alice: alice.transport, bob: bob.transport },
      alice: alice.received,
      bob: bob.received,
      closes: { alice: alice.closed, bob: bob.closed },
      leaveMs: leaveMs,
    };
  }

  // One leave: two participants, the leaver speaks and closes, the stayer must hear it.
  async function leaveOnce(SockJS, url, transport, o, n) {
    // Starting at a random moment samples every phase of the server's periodic session
    // check, which decides when a session with no request open expires.
    if (o.jitter) await delay(Math.random() * o.jitter);
    var room = "leave-" + n + "-" + Math.random().toString(36).slice(2);
    var stayer = await join(SockJS, url, transport, "stayer", room, o);
    var leaver = await join(SockJS, url, transport, "leaver", room, o);
    var closedAt = closeOn(leaver, { event: "message", name: "leaver" }, o);
    say(leaver, "bye " + n);
    var leftAt = await closedAt;
    var result = { run: n, heard: false, leaveMs: null, error: null };
    try {
      await stayer.until("leave", has({ event: "leave", name: "leaver" }), o.leaveTimeout);
      result.heard = true;
      result.leaveMs = Date.now() - leftAt;
    } catch (error) {
      result.error = String(error.message || error);
    }
    await stayer.close();
    return result;
  }

  async function leave(SockJS, url, transport, raw) {
    var o = options(raw);
    var runs = [];
    if (o.parallel) {
      var all = [];
      for (var i = 0; i < o.runs; i++) all.push(leaveOnce(SockJS, url, transport, o, i));
      runs = await Promise.all(all);
    } else {
      for (var j = 0; j < o.runs; j++) runs.push(await leaveOnce(SockJS, url, transport, o, j));
    }
    return { runs: runs };
  }

  // The client side of the multiplex protocol: one SockJS connection, channels by name.
  function Mux(SockJS, url, transport, label) {
    var self = this;
    this.channels = {};
    this.client = new Client(SockJS, url, transport, label, function (data) {
      var first = data.indexOf(","), second = data.indexOf(",", first + 1);
      var type = data.slice(0, first);
      var name = second < 0 ? data.slice(first + 1) : data.slice(first + 1, second);
      var payload = second < 0 ? null : data.slice(second + 1);
      (self.channels[name] = self.channels[name] || []).push(type === "uns" ? "[uns]" : payload);
      return data;
    });
  }
  Mux.prototype.sub = function (name) { this.client.sock.send("sub," + name); };
  Mux.prototype.msg = function (name, text) { this.client.sock.send("msg," + name + "," + text); };
  Mux.prototype.uns = function (name) { this.client.sock.send("uns," + name); };
  Mux.prototype.heard = function (what, name, texts, ms) {
    var self = this;
    return this.client.until(what, function () {
      var got = self.channels[name] || [];
      return texts.every(function (t) {
        return got.filter(function (g) { return g === t; }).length >=
          texts.filter(function (u) { return u === t; }).length;
      });
    }, ms);
  };

  async function multiplex(SockJS, url, transport, raw) {
    var o = options(raw);
    var room = "&room=room-" + Math.random().toString(36).slice(2);
    var ann = new Mux(SockJS, url + "?name=ann" + room, transport, "ann");
    await ann.client.whenOpen(o.timeout);
    ["echo", "shout", "bye", "nope", "stats", "room"].forEach(function (c) { ann.sub(c); });
    await ann.heard("echo ready", "echo", ["echo ready"], o.timeout);
    await ann.heard("bye and its close", "bye", ["bye", "[uns]"], o.timeout);
    await ann.heard("room welcome", "room", ["welcome ann"], o.timeout);

    ann.msg("echo", o.text);
    ann.msg("shout", "quiet é ✓");
    ann.msg("nope", "anyone?");
    ann.msg("bye", "hello?");
    await ann.heard("echo", "echo", ["echo: " + o.text], o.timeout);
    await ann.heard("shout", "shout", ["QUIET É ✓"], o.timeout);
    ann.msg("stats", "dump");
    await ann.client.until("stats", function () { return (ann.channels.stats || []).length; }, o.timeout);

    var bob = new Mux(SockJS, url + "?name=bob" + room, transport, "bob");
    await bob.client.whenOpen(o.timeout);
    bob.sub("room");
    await bob.heard("room welcome", "room", ["welcome bob"], o.timeout);
    await ann.heard("bob's join", "room", ["bob joined"], o.timeout);
    bob.msg("room", "hi from bob ✓");
    await ann.heard("bob's message", "room", ["bob: hi from bob ✓"], o.timeout);
    await bob.heard("his own message", "room", ["bob: hi from bob ✓"], o.timeout);
    bob.uns("room");
    await ann.heard("bob unsubscribing", "room", ["bob left"], o.timeout);
    // Ann's connection ends when she hears Bob join again (OPTIONS.leave says how):
    // every channel of hers closes with it.
    var annClosedAt = new Promise(function (resolve) {
      ann.client.onEach = function () {
        if ((ann.channels.room || []).filter(function (m) { return m === "bob joined"; }).length < 2) return;
        ann.client.onEach = null;
        if (o.leave === "inside") {
          ann.client.sock.close();
          resolve(Date.now());
        } else {
          setTimeout(function () { ann.client.sock.close(); resolve(Date.now()); }, o.pause);
        }
      };
    });
    bob.sub("room");
    await bob.heard("room welcome again", "room", ["welcome bob", "welcome bob"], o.timeout);
    var leftAt = await annClosedAt;
    await ann.client.until("close", function (c) { return c.closed !== null; }, o.timeout);
    await bob.heard("ann's leave", "room", ["ann left"], o.leaveTimeout);
    var leaveMs = Date.now() - leftAt;
    await bob.client.close();
    return {
      transports: { ann: ann.client.transport, bob: bob.client.transport },
      ann: ann.channels,
      bob: bob.channels,
      closes: { ann: ann.client.closed, bob: bob.client.closed },
      leaveMs: leaveMs,
    };
  }

  var SCENARIOS = { chat: chat, leave: leave, multiplex: multiplex };

  function run(name, SockJS, url, transport, o) {
    var scenario = SCENARIOS[name];
    if (!scenario) return Promise.resolve({ error: "no scenario " + name, report: null });
    return scenario(SockJS, url, transport, o).then(
      function (report) { return { error: null, report: report }; },
      function (error) { return { error: String(error && error.message || error), report: null }; }
    );
  }

  return { run: run };
});

if (typeof require !== "undefined" && typeof module !== "undefined" && require.main === module) {
  const [name, url, transport, optionsJson] = process.argv.slice(2);
  const SockJS = require("sockjs-client");
  const deadline = setTimeout(() => {
    process.stdout.write(JSON.stringify({ error: "overall timeout", report: null }) + "\n");
    process.exit(1);
  }, 300000);
  module.exports.run(name, SockJS, url, transport, JSON.parse(optionsJson || "{}")).then((result) => {
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(result.error ? 1 : 0);
  });
}
