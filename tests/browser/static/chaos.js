// The page side of the browser chaos test: the shipped fallback.js on one transport,
// numbered messages both ways (see tests/chaos/app.py, `Numbered`), every one checked.
//
//   chaos.start(url, page, transport, specials, options) -> opens the socket
//   chaos.finish()                                        -> stops sending, asks the server to stop
//   chaos.report()                                        -> what this page saw
(function () {
  "use strict";
  var state = {
    sent: 0, ticks: [], echoes: [], corrupted: [], events: [], stopped: null, resumes: [],
    opened: null
  };
  var sock = null, sender = null, specials = [], started = 0;

  function body(n) { return specials[n % specials.length]; }

  function onMessage(e) {
    var text = String(e.data), first = text.indexOf(":");
    var kind = text.slice(0, first), rest = text.slice(first + 1);
    if (kind == "stopped") { state.stopped = parseInt(rest, 10); return; }
    var second = rest.indexOf(":"), n = parseInt(rest.slice(0, second), 10);
    if (rest.slice(second + 1) !== body(n)) { state.corrupted.push(text); }
    if (kind == "t") { state.ticks.push(n); } else if (kind == "e") { state.echoes.push(n); } else { state.corrupted.push(text); }
  }

  window.chaos = {
    start: function (url, page, transport, list, options) {
      specials = list;
      started = Date.now();
      var o = { transports: [transport] };
      for (var key in options || {}) { o[key] = options[key]; }
      sock = window.sock = new FallbackSocket(url, o);
      sock.onopen = function () {
        state.opened = { transport: sock.transport, ms: Date.now() - started };
        sock.send("hello:" + page);
      };
      sock.onmessage = onMessage;
      sock.onclose = function (e) { state.events.push({ type: "close", code: e.code, reason: e.reason, at: Date.now() - started }); };
      // How each loss was noticed (for the test's report): the shim's own reasons.
      var lost = sock._lost;
      state.lost = {};
      sock._lost = function (reason) { state.lost[reason] = (state.lost[reason] || 0) + 1; state.trace.push([Date.now() - started, "lost", reason]); return lost.apply(this, arguments); };
      state.trace = [];
      var resume = sock._resume;
      sock._resume = function () { state.trace.push([Date.now() - started, "attempt", this._ledger.attempts]); return resume.apply(this, arguments); };
      var control = sock._control;
      sock._control = function (body) { if (body.resumed) { state.trace.push([Date.now() - started, "resumed"]); } return control.apply(this, arguments); };
      sock.addEventListener("resume", function () { state.resumes.push(Date.now() - started); });
      sock.addEventListener("reconnect", function () { state.events.push({ type: "reconnect", at: Date.now() - started }); });
    },
    sendEvery: function (ms) {
      sender = setInterval(function () {
        if (sock.readyState != 1) { return; }
        state.sent++;
        sock.send("m:" + state.sent + ":" + body(state.sent));
      }, ms);
    },
    finish: function () {
      clearInterval(sender);
      if (sock.readyState == 1) { sock.send("stop"); }
    },
    // Everything arrived: the ticks up to the last one, an echo of every message.
    complete: function () {
      return state.stopped !== null && state.echoes.length >= state.sent &&
        state.ticks.length >= state.stopped;
    },
    report: function () { return state; }
  };
})();
