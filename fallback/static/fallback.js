/*! fallback.js 0.1.0 | MIT | the WebSocket API over SockJS transports */
/*
 *   var sock = new FallbackSocket("https://example.com/chat");
 *   sock.onmessage = function (e) { ... e.data ... };
 *   sock.onopen = function () { sock.send("hello"); };
 *
 * One file, no dependencies, no build step. ES5 at most (it even parses as ES3, for IE 6-8),
 * feature-detected throughout. It speaks the SockJS protocol (framed WebSocket, EventSource,
 * XHR streaming, htmlfile, XHR polling, JSONP polling) to any SockJS server, plus, where the
 * page provides web-socket-js, a Flash socket against the server's raw WebSocket endpoint.
 * The README ("The browser shim") documents the API, the options and drop-in mode.
 *
 * Its parts, in order: plain helpers (wire text, binary messages, URLs, timing rules); HTTP requests;
 * transports, which report to the socket only by emitting events; Plan (negotiation);
 * Ledger (resume: fallback/resume.py); channels; watchdog; FallbackSocket, which drives them.
 * (tests/shim/ unit-tests the parts by loading this file with their names exported.)
 */
(function (window, document) {
  // eslint-disable-next-line no-unused-expressions -- ES3 has no directives; ES5 engines heed it
  "use strict";

  var CONNECTING = 0, OPEN = 1, CLOSING = 2, CLOSED = 3;
  // Captured before drop-in mode may replace window.WebSocket with FallbackSocket.
  var NativeWS = window.WebSocket || window.MozWebSocket;
  var XHR = window.XMLHttpRequest;
  var XDR = window.XDomainRequest;
  var ES = window.EventSource;
  var JSON_ = window.JSON;
  var XHR2 = false;
  try { XHR2 = !!XHR && "withCredentials" in new XHR(); } catch (e) { /* no XHR at all */ }
  var FETCH = !!(window.fetch && window.ReadableStream && window.TextDecoder && window.AbortController);
  // Binary messages (fallback/core/binary.py) need typed arrays and base64 (IE 10 and later).
  var U8 = window.Uint8Array, AB = window.ArrayBuffer, BLOB = window.Blob;
  var BINARY = !!(U8 && AB && window.atob && window.btoa);
  var storage = null;
  try { storage = window.localStorage; } catch (e) { /* file:// or privacy settings */ }

  // Every transport the shim speaks, best first when the server does not say otherwise.
  var ORDER = ["websocket", "flash", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"];
  var ALIASES = {
    "xhr-streaming": "xhr_streaming", "xhr-polling": "xhr", "xhr_polling": "xhr",
    "jsonp-polling": "jsonp", "jsonp_polling": "jsonp", "iframe-htmlfile": "htmlfile",
    "iframe-eventsource": "eventsource", "flashsocket": "flash"
  };
  // Characters sent as \uXXXX: quotes, controls, and what browsers or proxies mangle
  // (the set the server escapes); the ASCII variant is for form posts (jsonp_send).
  var ESCAPE = /[\x00-\x1f"\\\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g;
  var ESCAPE_ASCII = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
  var CALLBACKS = "_fallbackjs"; // the global that JSONP and htmlfile responses call into
  var callbacks = window[CALLBACKS] = window[CALLBACKS] || {};
  // Every open socket: a page going away says goodbye on each.
  var live = [];
  // Callback and frame names; the count lives on the shared global so that two copies
  // of this script on one page never hand out the same name.
  function nextId(kind) { callbacks.n = (callbacks.n || 0) + 1; return kind + callbacks.n; }

  function noop() {}
  function now() { return new Date().getTime(); }
  function later(fn, ms) { return setTimeout(fn, ms || 0); }
  function isArray(x) { return Object.prototype.toString.call(x) == "[object Array]"; }
  function indexOf(list, x) {
    for (var i = 0; i < list.length; i++) { if (list[i] === x) { return i; } }
    return -1;
  }
  function listen(el, type, fn) {
    if (el.addEventListener) { el.addEventListener(type, fn, false); } else if (el.attachEvent) { el.attachEvent("on" + type, fn); }
  }
  function unlisten(el, type, fn) {
    if (el.removeEventListener) { el.removeEventListener(type, fn, false); } else if (el.detachEvent) { el.detachEvent("on" + type, fn); }
  }
  function remove(el) { if (el && el.parentNode) { el.parentNode.removeChild(el); } }
  function inject(script) { (document.getElementsByTagName("head")[0] || document.documentElement).appendChild(script); }
  function loaded(script) { return /loaded|complete/.test(script.readyState); } // old IE's onreadystatechange
  // A script or frame added before the page's load event holds that event back for as long
  // as it loads (a long poll: up to 25 s of spinner): those receivers start after it.
  function whenLoaded(fn) {
    var state = document.readyState;
    if (!state || state == "complete") { fn(); } else { listen(window, "load", function () { later(fn); }); }
  }
  function parse(text) { return JSON_ ? JSON_.parse(text) : new Function("return " + text)(); }
  function domError(name, message) {
    message = "fallback.js: " + message;
    try { return new window.DOMException(message, name); } catch (e) {
      var error = new Error(message);
      error.name = name;
      return error;
    }
  }
  function hasFlash() {
    var nav = window.navigator, mime = nav && nav.mimeTypes && nav.mimeTypes["application/x-shockwave-flash"];
    if (mime && mime.enabledPlugin) { return true; }
    try { return !!new window.ActiveXObject("ShockwaveFlash.ShockwaveFlash"); } catch (e) { return false; }
  }

  // -- helpers: text on the wire ------------------------------------------------------

  function quote(s, ascii) {
    return '"' + s.replace(ascii ? ESCAPE_ASCII : ESCAPE, function (c) {
      return c == '"' ? '\\"' : c == "\\" ? "\\\\" : "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    }) + '"';
  }
  // Strings, binary messages {bin: bytes} as {"b": base64}, and the resume controls
  // {seq: n}, {ack: n}, {close: [code, reason]}.
  function encode(list, ascii) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var item = list[i];
      out.push(typeof item == "string" ? quote(item, ascii) :
        item.bin ? '{"b":"' + toBase64(item.bin) + '"}' :
        item.close ? '{"close":[' + item.close[0] + "," + quote(item.close[1], ascii) + "]}" :
        item.seq !== undefined ? '{"seq":' + item.seq + "}" : '{"ack":' + item.ack + "}");
    }
    return "[" + out.join(",") + "]";
  }
  // -- helpers: binary messages ----------------------------------------------------------

  // A copy of the bytes of an ArrayBuffer or ArrayBufferView (the caller may change them
  // after send, as the WebSocket API allows), or null for anything else.
  function bytesOf(data) {
    var buffer = data instanceof AB ? data : data.buffer, copy;
    if (!(buffer instanceof AB)) { return null; }
    copy = new U8(data === buffer ? buffer.byteLength : data.byteLength);
    copy.set(data === buffer ? new U8(buffer) : new U8(buffer, data.byteOffset, data.byteLength));
    return copy;
  }
  function toBase64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 8192) { s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192)); }
    return window.btoa(s);
  }
  function fromBase64(text) {
    var s = window.atob(text), bytes = new U8(s.length);
    for (var i = 0; i < s.length; i++) { bytes[i] = s.charCodeAt(i); }
    return bytes;
  }

  // EventSource data is percent-escaped as sockjs-node escapes it (%, CR, LF and NUL), and
  // decoded as sockjs-client decodes it, with decodeURI; data that is not escaped that way
  // (and so cannot be decoded) is taken as it is.
  function unescapeEvent(data) {
    if (data.indexOf("%") < 0) { return data; }
    try { return decodeURI(data); } catch (e) { return data; }
  }
  // Called with a growing body, each time all of it: each complete line to onFrame, once.
  function lines(onFrame) {
    var seen = 0;
    return function (text) {
      var i;
      while ((i = text.indexOf("\n", seen)) >= 0) {
        var line = text.slice(seen, i);
        seen = i + 1;
        if (line) { onFrame(line); }
      }
    };
  }
  function utf8Length(s) {
    try { return encodeURIComponent(s).replace(/%../g, "x").length; } catch (e) { return Infinity; }
  }
  // Session ids are unguessable: bytes from crypto.getRandomValues where the browser has it
  // (IE 11 and every browser since), Math.random only where there is nothing better (IE <= 10);
  // bytes past the last whole multiple of chars.length are skipped, so no character is favoured.
  function randomString(length, chars) {
    var s = "", i = 0, n = chars.length, bytes = [], c = window.crypto || window.msCrypto, b, a;
    try { a = new Uint8Array(length * 4); c.getRandomValues(a); bytes = a; } catch (e) { /* no crypto */ }
    while (s.length < length) {
      b = i < bytes.length ? bytes[i++] : Math.floor(Math.random() * 256);
      if (b < 256 - 256 % n) { s += chars.charAt(b % n); }
    }
    return s;
  }

  // -- helpers: URLs and names ---------------------------------------------------------

  // `url` (absolute, relative, or ws(s)://host/prefix/websocket) -> its parts. The raw
  // WebSocket URL of a SockJS service maps to the service: that is what drop-in mode needs.
  function parseUrl(url) {
    var ws = /^ws(s?):/i.test(url), a = document.createElement("a");
    a.href = ws ? url.replace(/^ws/i, "http") : url;
    var m = /^(https?:)\/\/([^\/?#]+)([^?#]*)(\?[^#]*)?/i.exec(a.href);
    if (!m) { throw domError("SyntaxError", "cannot connect to " + url); }
    var scheme = m[1].toLowerCase(), host = m[2], path = m[3].replace(/\/+$/, "");
    host = host.replace(scheme == "http:" ? /:80$/ : /:443$/, "");
    if (ws) { path = path.replace(/\/websocket$/, ""); }
    if (path && path.charAt(0) != "/") { path = "/" + path; } // old IE drops the slash
    return { scheme: scheme, origin: scheme + "//" + host, base: scheme + "//" + host + path, query: m[4] || "" };
  }
  function withQuery(query, extra) { return query + (query ? "&" : "?") + extra; }
  // A new SockJS session address under `target`; `extra` goes into its query.
  function sessionUrl(target, extra) {
    var server = randomString(3, "0123456789"), session = randomString(24, "abcdefghijklmnopqrstuvwxyz0123456789");
    return { base: target.base, query: extra ? withQuery(target.query, extra) : target.query, session: target.base + "/" + server + "/" + session };
  }
  function normalize(name) { name = String(name).replace(/^\s+|\s+$/g, ""); return ALIASES[name] || name; }
  // Transport names from a list or a comma list, aliases resolved.
  function names(list) {
    if (!list) { return null; }
    if (!isArray(list)) { list = String(list).split(","); }
    var out = [];
    for (var i = 0; i < list.length; i++) { out.push(normalize(list[i])); }
    return out;
  }

  // -- helpers: the timing rules -------------------------------------------------------

  // Before the n-th reconnection: reconnectDelay doubling up to maxReconnectDelay, with jitter.
  function backoff(n, options, random) {
    return Math.min(options.maxReconnectDelay, options.reconnectDelay * Math.pow(2, n - 1)) * (0.5 + random);
  }
  // How long a transport may stay silent (or a send take) before it counts as lost; 0: never.
  function heartbeatLimit(option, heartbeat) {
    return option == null ? (heartbeat ? 1.5 * heartbeat + 2000 : 60000) : option; // null or undefined
  }
  // As sockjs-client: a retransmission timeout from the /info RTT, two round trips to open.
  function openTimeout(options, info, rtt) {
    var rto = info ? (rtt > 100 ? 4 * rtt : 300 + rtt) : 4000;
    return options.timeout || Math.max(options.minTimeout, 2 * rto);
  }
  // The last candidate has nothing to fall back to: give it longer. Flash first asks
  // port 843 for a policy and waits 3 s before asking in-band.
  function attemptTimeout(timeout, last, name) {
    var ms = last ? Math.max(3 * timeout, 10000) : timeout;
    return name == "flash" ? ms + 4000 : ms;
  }
  // A watchdog timer fired: look again in that many ms, or 0: lost. A timer that fired late
  // (a throttled tab, a machine that slept) is not a silent network: it looks again a
  // moment after, which gives frames the browser was holding back their chance first.
  function recheck(silent, late, limit) {
    return silent < limit ? limit - silent : late > 1000 ? 1500 : 0;
  }

  // -- HTTP requests -------------------------------------------------------------------

  // One request; `progress(text)` sees the body as it grows, `done(ok, text)` once.
  // Returns a function that aborts it (after which nothing is called).
  function ajax(mode, method, url, body, progress, done) {
    // XHR tells script about a growing body at most every 50 ms (Chromium and Firefox
    // follow the spec there; WebKit does not), which a streamed echo feels as 50 ms of
    // latency: a fetch body stream has no such delay.
    if (progress && FETCH && mode != "xdr") { return fetchStream(mode, method, url, progress, done); }
    var x, finished = false;
    function finish(ok) {
      if (finished) { return; }
      finished = true;
      var text = "";
      try { text = x.responseText || ""; } catch (e) { /* not readable after an error */ }
      if (ok && progress) { progress(text); }
      done(ok, text);
    }
    function grow() { try { if (progress && !finished) { progress(x.responseText || ""); } } catch (e) { /* IE < 10 */ } }
    try {
      if (mode == "xdr") {
        x = new XDR();
        x.onprogress = grow;
        x.onload = function () { finish(true); };
        x.onerror = x.ontimeout = function () { finish(false); };
        x.open(method, url);
      } else {
        x = new XHR();
        x.open(method, url, true);
        if (mode == "cors") { x.withCredentials = true; }
        x.onreadystatechange = function () {
          if (x.readyState == 3) { grow(); }
          if (x.readyState == 4) {
            var status = 0;
            try { status = x.status; } catch (e) { /* aborted */ }
            finish((status >= 200 && status < 300) || status == 1223);
          }
        };
        if (body && x.setRequestHeader) { x.setRequestHeader("Content-Type", "text/plain;charset=UTF-8"); }
      }
      x.send(body || null);
    } catch (e) {
      later(function () { finish(false); });
    }
    return function abort() {
      if (finished) { return; }
      finished = true;
      try { x.onreadystatechange = x.onprogress = x.onload = x.onerror = noop; x.abort(); } catch (e) { /* gone */ }
    };
  }

  function fetchStream(mode, method, url, progress, done) {
    var control = new window.AbortController(), decoder = new window.TextDecoder(), text = "", over = false;
    function finish(ok) { if (!over) { over = true; done(ok, text); } }
    window.fetch(url, { method: method, credentials: mode == "cors" ? "include" : "same-origin", cache: "no-store", signal: control.signal })
      .then(function (response) {
        if (!response.ok || !response.body) { return finish(false); }
        var reader = response.body.getReader();
        function read() {
          return reader.read().then(function (chunk) {
            if (over) { return; }
            text += decoder.decode(chunk.value || new window.Uint8Array(0), { stream: !chunk.done });
            progress(text);
            return chunk.done ? finish(true) : read();
          });
        }
        return read();
      })["catch"](function () { finish(false); });
    return function abort() { if (!over) { over = true; try { control.abort(); } catch (e) { /* gone */ } } };
  }

  function loadScript(url, done) {
    if (!url) { return later(function () { done(true); }); }
    var script = document.createElement("script"), ended = false;
    function end(ok) {
      if (!ended) { ended = true; script.onload = script.onerror = script.onreadystatechange = null; done(ok); }
    }
    script.onload = function () { end(true); };
    script.onerror = function () { end(false); };
    script.onreadystatechange = function () { if (loaded(script)) { end(true); } };
    script.async = true;
    script.src = url;
    inject(script);
  }

  // -- receivers: one request carrying frames to us; end(failed) when it is over ----------

  function xhrReceiver(path) {
    return function (url, env, onFrame, end) {
      return ajax(env.ajax, "POST", url.session + "/" + path + url.query, null, lines(onFrame), function (ok) { end(!ok); });
    };
  }

  function eventSourceReceiver(url, env, onFrame, end) {
    var address = url.session + "/eventsource" + url.query, over = false;
    // Cross-origin with credentials, so that a sticky-session cookie goes along as with XHR.
    var es = env.same ? new ES(address) : new ES(address, { withCredentials: true });
    es.onmessage = function (e) { onFrame(unescapeEvent(e.data)); };
    // The end of a response and a failure look the same; the session loop tells them apart
    // by whether anything arrived. Never let EventSource reconnect on its own.
    es.onerror = function () { if (!over) { over = true; es.close(); end(false); } };
    return function () { over = true; es.close(); };
  }

  function htmlfileReceiver(url, env, onFrame, end) {
    var id = nextId("h"), iframe = document.createElement("iframe"), over = false;
    function stop() { if (!over) { over = true; callbacks[id] = noop; later(function () { remove(iframe); }); end(false); } }
    callbacks[id] = { start: noop, message: onFrame, stop: stop };
    iframe.style.display = "none";
    // fb_direct=1: this page is the frame's parent (not sockjs-client's iframe.html, which
    // set document.domain): a fallback server then does not set document.domain either.
    whenLoaded(function () {
      if (over) { return; }
      iframe.src = url.session + "/htmlfile" + withQuery(url.query, "fb_direct=1&c=" + CALLBACKS + "." + id);
      document.body.appendChild(iframe);
      listen(iframe, "load", stop);
    });
    return function () { over = true; callbacks[id] = noop; remove(iframe); };
  }

  function jsonpReceiver(url, env, onFrame, end) {
    var id = nextId("j"), script = document.createElement("script"), over = false;
    function finish(failed) {
      if (!over) { over = true; later(function () { delete callbacks[id]; remove(script); }); end(failed); }
    }
    callbacks[id] = function (frame) { if (!over) { onFrame(frame); } };
    script.onload = function () { finish(false); };
    script.onerror = function () { finish(true); };
    script.onreadystatechange = function () { if (loaded(script)) { finish(false); } };
    script.async = true;
    whenLoaded(function () {
      if (!over) { script.src = url.session + "/jsonp" + withQuery(url.query, "c=" + CALLBACKS + "." + id); inject(script); }
    });
    return function () { over = true; callbacks[id] = noop; remove(script); };
  }

  // -- senders: post a batch of messages, then done(ok) ---------------------------------

  function xhrSender(url, env, list, done) {
    ajax(env.ajax, "POST", url.session + "/xhr_send" + url.query, encode(list), null, done);
  }

  // JSONP's sends are form posts into a hidden iframe: no CORS needed. When the post fails
  // (the connection is reset or closed before an answer) the browser loads its own error
  // page into the frame, which fires load as the answer does and which, like an answer from
  // another origin, cannot be read. So a send has arrived only when the frame's answer reads
  // "ok" (same origin) or the answer tells this window it did (a fallback server, asked
  // with fb_signal=1, answers with a page that posts "fallback:sent" to its parent). Only
  // against another origin's plain SockJS server is load all there is to go by.
  function formSender(url, env, list, done) {
    var id = nextId("f"), form = document.createElement("form"), area = document.createElement("textarea"), iframe, over = false;
    try { iframe = document.createElement('<iframe name="' + id + '">'); } catch (e) { iframe = document.createElement("iframe"); iframe.name = id; }
    form.style.display = iframe.style.display = "none";
    form.method = "POST";
    form.enctype = "application/x-www-form-urlencoded";
    form.acceptCharset = "UTF-8";
    form.target = id;
    form.action = url.session + "/jsonp_send" + withQuery(url.query, "i=" + id + (env.signal ? "&fb_signal=1" : ""));
    area.name = "d";
    area.value = encode(list, true);
    form.appendChild(area);
    // A post that never ends (Gecko fires no load when it dies) is given up after a minute,
    // its frame removed; the send's own deadline has called it lost long before.
    var timer = later(function () { end(false); }, 60000);
    function end(ok) {
      if (over) { return; }
      over = true;
      clearTimeout(timer);
      unlisten(window, "message", signalled);
      later(function () { remove(form); remove(iframe); });
      done(ok);
    }
    function signalled(e) { if (e.source === iframe.contentWindow && e.data === "fallback:sent") { end(true); } }
    if (env.signal) { listen(window, "message", signalled); }
    document.body.appendChild(iframe);
    document.body.appendChild(form);
    form.submit();
    listen(iframe, "load", function () {
      var answer = null, body;
      try {
        // Some browsers report the empty frame's own load late: wait for the answer's.
        if (iframe.contentWindow.location.href == "about:blank") { return; }
        body = iframe.contentWindow.document.body;
        answer = body ? body.textContent || body.innerText || "" : "";
      } catch (e) { /* unreadable: another origin's answer, or the browser's error page */ }
      if (answer !== null) { return end(/^\s*ok\s*$/.test(answer)); }
      if (!env.signal) { return end(true); }
      later(function () { end(false); }, 1000); // the answer's message may come just after its load
    });
  }

  // -- transports -----------------------------------------------------------------------
  // TRANSPORTS[name](url, env, emit, options) -> {send(list), close(code, reason)}, plus
  // ws: true (SockJS over WebSocket) or raw: true (unframed: no heartbeats, no resume). It
  // reports by emit(): "frame" (text), "message" (text, unframed), "close" (code, reason,
  // unframed), "end" (gone without a close frame), "sent" (ok, list), "poll" (a receiving
  // request starts: url.query is read now).

  // The HTTP transports: one receiving request at a time, the next started when the last
  // one ends, so frames arrive in order. A request that ends without bringing a single
  // frame means the transport (or the session) is gone.
  function httpTransport(receiver, sender) {
    return function (url, env, emit) {
      var abort = null, dead = false;
      function start() {
        var got = false;
        emit("poll");
        abort = receiver(url, env, function (frame) { got = true; emit("frame", frame); }, function (failed) {
          abort = null;
          if (dead) { return; }
          if (failed || !got) { emit("end"); } else { start(); }
        });
      }
      start();
      return {
        send: function (list) { sender(url, env, list, function (ok) { emit("sent", ok, list); }); },
        close: function () { dead = true; if (abort) { abort(); } }
      };
    };
  }

  function websocketTransport(url, env, emit) {
    var ws = new NativeWS(url.session.replace(/^http/, "ws") + "/websocket" + url.query);
    ws.binaryType = "arraybuffer";
    // A binary message of a binary session comes as a WebSocket binary message.
    ws.onmessage = function (e) { emit(typeof e.data == "string" ? "frame" : "binary", e.data); };
    ws.onclose = function () { emit("end"); };
    return {
      ws: true,
      // Binary messages go as binary messages, the text and controls between them as arrays.
      send: function (list) {
        var text = [], item;
        try {
          for (var i = 0; i <= list.length; i++) {
            item = list[i];
            if (i < list.length && !item.bin) { text.push(item); continue; }
            if (text.length) { ws.send(encode(text)); text = []; }
            if (item) { ws.send(item.bin); }
          }
        } catch (e) { return emit("sent", false, list); }
        emit("sent", true, list);
      },
      close: function (code, reason) {
        ws.onmessage = ws.onclose = ws.onerror = null;
        try { if (code) { ws.close(code, reason || ""); } else { ws.close(); } } catch (e) { /* already closed */ }
      }
    };
  }

  // Flash: web-socket-js's emulated WebSocket against the unframed <prefix>/websocket.
  function flashTransport(url, env, emit, options) {
    var ws = null, dead = false;
    loadFlash(options.flash, function (FlashWS) {
      if (dead) { return; }
      if (!FlashWS) { return emit("end"); }
      ws = new FlashWS(url.base.replace(/^http/, "ws") + "/websocket" + url.query);
      ws.onopen = function () { emit("frame", "o"); };
      ws.onmessage = function (e) { emit("message", e.data); };
      ws.onclose = function (e) { emit("close", e && e.code, e && e.reason); };
    });
    return {
      raw: true,
      send: function (list) {
        try { for (var i = 0; i < list.length; i++) { ws.send(list[i]); } } catch (e) { return emit("sent", false, list); }
        emit("sent", true, list);
      },
      close: function (code, reason) {
        dead = true;
        if (ws) { ws.onopen = ws.onmessage = ws.onclose = null; try { ws.close(code, reason); } catch (e) { /* gone */ } }
      }
    };
  }

  var TRANSPORTS = {
    websocket: websocketTransport,
    flash: flashTransport,
    eventsource: httpTransport(eventSourceReceiver, xhrSender),
    xhr_streaming: httpTransport(xhrReceiver("xhr_streaming"), xhrSender),
    htmlfile: httpTransport(htmlfileReceiver, xhrSender),
    xhr: httpTransport(xhrReceiver("xhr"), xhrSender),
    jsonp: httpTransport(jsonpReceiver, formSender)
  };

  // web-socket-js defines window.WebSocket (and is called back by Flash under that global
  // name). In drop-in mode that global is ours, so we let it load, keep its constructor,
  // and give ours its static members, which then hold its state.
  var flashWS = null, flashWaiting = null;
  function loadFlash(config, done) {
    if (flashWS) { return later(function () { done(flashWS); }); }
    if (flashWaiting) { return flashWaiting.push(done); }
    flashWaiting = [done];
    var current = window.WebSocket, ours = current === FallbackSocket;
    if (current && current.__isFlashImplementation) { return flashLoaded(current, false); }
    if (!window.WEB_SOCKET_SWF_LOCATION) { window.WEB_SOCKET_SWF_LOCATION = config.swf; }
    if (ours) { window.WEB_SOCKET_FORCE_FLASH = true; }
    loadScript(window.swfobject ? null : config.swfobject, function () {
      loadScript(config.script, function (ok) {
        var FlashWS = window.WebSocket;
        flashLoaded(ok && FlashWS && FlashWS.__isFlashImplementation ? FlashWS : null, ours);
      });
    });
  }
  function flashLoaded(FlashWS, ours) {
    if (FlashWS && ours) {
      for (var key in FlashWS) {
        if (Object.prototype.hasOwnProperty.call(FlashWS, key) && key != "__isFlashImplementation") { FallbackSocket[key] = FlashWS[key]; }
      }
      window.WebSocket = FallbackSocket;
    }
    flashWS = FlashWS;
    var waiting = flashWaiting;
    flashWaiting = null; // after a failure, the next attempt loads again
    for (var i = 0; i < waiting.length; i++) { waiting[i](FlashWS); }
  }

  // -- negotiation: which transports, in what order, for how long ----------------------

  // What this page can do with that server; `info` is the server's /info answer (or null).
  function environment(target, info) {
    var loc = window.location, file = loc.protocol == "file:";
    var host = loc.host.replace(loc.protocol == "http:" ? /:80$/ : /:443$/, "");
    var same = !file && target.origin == loc.protocol + "//" + host;
    var cookies = !!(info && info.cookie_needed);
    // How this page makes HTTP requests to the server: plain XHR (same origin), CORS XHR,
    // XDomainRequest (IE 8-9: same scheme, no cookies), or not at all.
    var ajax = same && XHR ? "xhr" : XHR2 ? "cors" :
      XDR && !file && !cookies && target.scheme == loc.protocol ? "xdr" : "";
    // signal: jsonp_send can tell its frame that a post arrived (formSender).
    var signal = !!(info && info.send_signal && info.send_signal.v == 1);
    return { same: same, file: file, ajax: ajax, signal: signal };
  }

  function usable(name, env, options) {
    var flash = options.flash;
    switch (name) {
      case "websocket": return !!NativeWS;
      case "flash": return !NativeWS && !!flash && !!flash.swf && !!flash.script && !env.file && hasFlash();
      case "eventsource": return !!ES && !!env.ajax && (env.same || "withCredentials" in ES.prototype);
      case "xhr_streaming": return env.ajax == "cors" || env.ajax == "xdr" || (env.ajax == "xhr" && XHR2);
      case "htmlfile": return env.same && !!document.body;
      case "xhr": return !!env.ajax;
      case "jsonp": return true;
    }
    return false;
  }

  // `list` (best first) minus what `can` refuses, what `allowed` (if any) lacks, and what
  // failed here (`failed`: name -> when) recently -- unless that would leave nothing.
  function chooseTransports(list, allowed, can, failed, time, retryAfter) {
    var candidates = [], skipped = [], name;
    for (var i = 0; i < list.length; i++) {
      name = list[i];
      if (indexOf(candidates, name) >= 0 || (allowed && indexOf(allowed, name) < 0) || !can(name)) { continue; }
      if (failed[name] && time - failed[name] < retryAfter) { skipped.push(name); } else { candidates.push(name); }
    }
    return candidates.length ? candidates : skipped;
  }

  // What worked and failed before, per server (localStorage).
  function recall(base) {
    try { return parse(storage.getItem("fallback.js:" + base)) || {}; } catch (e) { return {}; }
  }
  function memorize(base, memory) {
    try { storage.setItem("fallback.js:" + base, JSON_.stringify(memory)); } catch (e) { /* no storage */ }
  }

  // One socket's negotiation. choose() sets env, candidates (to try), all, failed, timeout,
  // rtt, and from info heartbeat, grace (ms) and resume (offered and wanted); next() attempt.
  function Plan(target, options) {
    this.target = target;
    this.options = options;
  }
  Plan.prototype = {
    // done(info or null, round trip in ms), once; returns an abort function (or null).
    ask: function (done) {
      var target = this.target, env = environment(target, null), started = now(), answered = false, timer, abort;
      if (!env.ajax) { done(null, 0); return null; } // no way to ask: the client's own order
      function answer(info) {
        if (answered) { return; }
        answered = true;
        clearTimeout(timer);
        done(info, now() - started);
      }
      timer = later(function () { abort(); answer(null); }, this.options.timeout || 5000);
      abort = ajax(env.ajax, "GET", target.base + "/info" + withQuery(target.query, "t=" + now()), null, null, function (ok, text) {
        var info = null;
        try { info = ok ? parse(text) : null; } catch (e) { /* not a SockJS server */ }
        answer(info && typeof info == "object" ? info : null);
      });
      return abort;
    },
    // The server's order (or ours), minus what the browser cannot do or the page excluded.
    choose: function (info, rtt) {
      var o = this.options, target = this.target, env = environment(target, info), resume = info && info.resume;
      var memory = o.remember ? recall(target.base) : {}, noWebSocket = info && info.websocket === false;
      this.env = env;
      this.memory = memory;
      this.candidates = chooseTransports(info && isArray(info.transports) ? names(info.transports) : ORDER.slice(), names(o.transports), function (name) {
        return !(noWebSocket && (name == "websocket" || name == "flash")) && usable(name, env, o);
      }, memory.failed || {}, now(), o.retryAfter);
      this.all = this.candidates.slice();
      this.failed = [];
      this.heartbeat = info && info.heartbeat_delay > 0 ? info.heartbeat_delay * 1000 : 0;
      this.resume = !!(o.resume && resume && resume.v == 1);
      this.binary = BINARY && !!(info && info.binary && info.binary.v == 1);
      this.max = this.binary && info.binary.max > 0 ? info.binary.max : Infinity;
      this.grace = resume && resume.grace > 0 ? resume.grace * 1000 : 60000;
      this.rtt = rtt;
      this.timeout = openTimeout(o, info, rtt);
    },
    next: function () {
      var name = this.candidates.shift();
      if (name) { this.attempt = name; }
      return name;
    },
    // The attempt opened: remember it, and what failed before it.
    worked: function () {
      var memory = this.memory, failed = memory.failed || {}, name = this.attempt;
      if (this.options.remember) {
        for (var i = 0; i < this.failed.length; i++) { failed[this.failed[i]] = now(); }
        delete failed[name];
        memory.failed = failed;
        memory.ok = name;
        memorize(this.target.base, memory);
      }
      return name;
    },
    again: function () { this.candidates = this.all.slice(); },
    // The n-th attempt of a resume: after a few failures on this transport, try the others.
    forResume: function (n, current) {
      var list = n > 3 && this.all.length ? this.all : [current];
      return list[(n - 1) % list.length];
    }
  };

  // -- resume: one logical connection's ledger (the protocol: fallback/resume.py) ---------
  // cid: its id (a new one after each resume); offered: resume offered, so keep what is sent
  // until the id comes; unacked: what the server has not acknowledged; got: what it has;
  // rx: messages received; told: the count last acknowledged; ackNow: acknowledge at the
  // next flush; lostAt: when this loss was noticed; attempts: reconnections since (the
  // back-off); tries: resume attempts for the life of the socket (numbered on the wire).
  function Ledger() {
    this.unacked = [];
    this.restart();
    this.tries = 0;
  }
  Ledger.prototype = {
    keeps: function () { return !!(this.cid || this.offered); },
    sent: function (data) { if (this.keeps()) { this.unacked.push(data); } },
    // Nothing to resume (an unframed transport; no id came).
    drop: function () { this.offered = false; this.unacked = []; },
    // The server has received `count` of our messages in all.
    acked: function (count) {
      var drop = count - this.got;
      if (drop > 0) { this.unacked.splice(0, drop); this.got = count; }
    },
    // What to send for `queue` (followed by `behind` messages not ready yet), or null.
    // Acknowledgements ride on sends; alone only when 32 are owed (or ackNow). {seq}: the
    // number of messages before these -- browsers retry a POST whose connection was reset,
    // and the server must not take them twice.
    batch: function (queue, behind) {
      var ack = this.cid && this.rx > this.told ? this.rx : 0, batch = queue;
      if (!queue.length && !(ack && (this.rx - this.told >= 32 || this.ackNow))) { return null; }
      this.ackNow = false;
      if (queue.length && this.keeps()) { batch = [{ seq: this.got + this.unacked.length - queue.length - (behind || 0) }].concat(queue); }
      if (ack) { batch = batch.concat([{ ack: ack }]); this.told = ack; }
      return batch;
    },
    // fb_resume=<id>.<received>, and while a resume is under way, .<its attempt number>.
    argument: function (resuming) {
      return "fb_resume=" + this.cid + "." + this.rx + (resuming ? "." + this.tries : "");
    },
    // Whether more than `grace` ms passed since this loss was noticed (each loss gets it all).
    expired: function (t, grace) {
      if (!this.lostAt) { this.lostAt = t; }
      return t - this.lostAt > grace;
    },
    // r{"resumed": true}: everything the server did not get goes again, before anything newer.
    resumed: function (body) {
      if (body.cid) { this.cid = String(body.cid); } // a fresh id after every resume: the old one is void
      this.attempts = 0;
      this.lostAt = 0; // this loss is over: the next one gets the whole grace period
      this.acked(body.seen);
      return this.unacked.slice();
    },
    // A new connection (1012): counts from 0; what the old server did not acknowledge goes
    // first, and stays kept until the new one does.
    restart: function () {
      this.cid = null;
      this.rx = this.told = this.got = this.attempts = this.lostAt = 0;
      return this.unacked.slice();
    }
  };

  // -- channels: the envelope protocol of a fallback channel server, over `sock`'s public
  // API (readyState, send). The socket tells it envelope(text), opened() and reset().
  // On a channel with history each publication carries its position {offset, epoch}: a
  // subscription keeps the last one it got, and subscribing again asks to recover since it.
  function channels(sock) {
    // waiting: request id -> done(answer), null until the first request (and then no
    // message is an envelope); early: requests made while CONNECTING.
    var subs = {}, waiting = null, early = null, n = 0;
    function request(op, fields, done) {
      var id = ++n, body = { v: 1, op: op, id: id };
      for (var key in fields) { if (fields[key] !== undefined) { body[key] = fields[key]; } }
      (waiting || (waiting = {}))[id] = done || noop;
      var text = JSON_.stringify(body);
      if (sock.readyState == CONNECTING) { (early || (early = [])).push(text); } else { sock.send(text); }
    }
    function position(e) { return { offset: e.offset, epoch: e.epoch }; }
    // (since: where to recover from; the page's options.since the first time)
    function subscribe(channel, handler, options, since) {
      var all = subs, sub = all[channel] = { handler: handler || noop, options: options || {} };
      since = sub.position = since || sub.options.since || null;
      request("subscribe", { channel: channel, token: sub.options.token, since: since || undefined }, function (answer) {
        if (all[channel] !== sub) { return; }
        if (answer.op == "error") {
          delete all[channel];
          return (sub.options.onerror || noop)(answer);
        }
        // Recovered: the missed publications follow (and move the position on); else
        // nothing before the channel's current position is coming.
        if (typeof answer.offset == "number" && answer.recovered !== true) { sub.position = position(answer); }
        (sub.options.onsubscribe || noop)(answer);
        if (since && answer.recovered === false) { unrecovered(sub, channel, since, answer); }
      });
      return {
        unsubscribe: function () { unsubscribe(channel); },
        publish: function (data, done) { publish(channel, data, done); },
        presence: function (done) { presence(channel, done); },
        position: function () { return all[channel] === sub ? sub.position : null; }
      };
    }
    function unsubscribe(channel, done) {
      delete subs[channel];
      request("unsubscribe", { channel: channel }, done);
    }
    function publish(channel, data, done) {
      request("publish", { channel: channel, data: data }, done);
    }
    function presence(channel, done) {
      request("presence", { channel: channel }, function (answer) {
        if (done) { done(answer.op == "ok" ? answer.presence : null, answer); }
      });
    }
    // A publication of `sub` at e's position: false if it had it already. Another epoch
    // live means history was lost meanwhile (a Redis restarted): the page may have a gap.
    function advance(sub, e, channel) {
      var at = sub.position;
      if (typeof e.offset != "number") { return true; }
      if (at && at.epoch === e.epoch && e.offset <= at.offset) { return false; }
      sub.position = position(e);
      if (at && at.epoch !== e.epoch) { unrecovered(sub, channel, at, e); }
      return true;
    }
    function unrecovered(sub, channel, since, answer) {
      (sub.options.onunrecovered || noop)(answer);
      sock._emit("unrecovered", { channel: channel, since: since, position: sub.position });
    }
    return {
      subscribe: subscribe,
      unsubscribe: unsubscribe,
      publish: publish,
      presence: presence,
      trigger: function (event, data, done) { request("trigger", { event: event, data: data }, done); },
      // True when `text` is an envelope for us (handled), false for an ordinary message.
      envelope: function (text) {
        var e, sub;
        if (!waiting || text.charAt(0) != "{") { return false; }
        try { e = parse(text); } catch (error) { return false; }
        if (!e || e.v !== 1 || typeof e.op != "string") { return false; }
        if ((e.op == "ok" || e.op == "error") && waiting[e.id]) {
          var done = waiting[e.id];
          delete waiting[e.id];
          done(e);
        } else if (e.op == "message" && (sub = subs[e.channel])) {
          if (advance(sub, e, e.channel)) { sub.handler(e.data, e); }
        } else if ((e.op == "join" || e.op == "leave") && (sub = subs[e.channel])) {
          if (advance(sub, e, e.channel)) { (sub.options["on" + e.op] || noop)(e.member, e); }
        } else {
          return false;
        }
        return true;
      },
      opened: function () {
        var list = early || [];
        early = null;
        for (var i = 0; i < list.length && sock.readyState == OPEN; i++) { sock.send(list[i]); }
      },
      // Whether a subscription has a position to recover from (worth a new connection
      // when the old one cannot be resumed).
      recoverable: function () {
        for (var channel in subs) { if (subs[channel].position) { return true; } }
        return false;
      },
      // What of the unacknowledged `sent` a new connection gets again: not our (un)subscribes.
      replayable: function (sent) {
        var keep = [];
        for (var i = 0; i < sent.length; i++) { if (!/^\{"v":1,"op":"(un)?subscribe"/.test(sent[i])) { keep.push(sent[i]); } }
        return keep;
      },
      // A new server-side connection: what this socket had subscribed, again, each
      // recovering from the last position it got.
      reset: function () {
        var old = subs, channel;
        waiting = {};
        subs = {};
        for (channel in old) { subscribe(channel, old[channel].handler, old[channel].options, old[channel].position); }
      }
    };
  }

  // -- the watchdog: a transport silent for too long (by the clock, see recheck) is lost ---
  function watchdog(lost) {
    var last = 0, timer = null; // when the last frame arrived; the next look
    return {
      // A frame arrived: silent for `limit` ms (0: unwatched) from now, it is lost.
      alive: function (limit) {
        last = now();
        clearTimeout(timer);
        if (!limit) { return; }
        function watch(delay) {
          var due = now() + delay;
          timer = later(function () {
            var t = now(), again = recheck(t - last, t - due, limit);
            if (again) { watch(again); } else { lost(); }
          }, delay);
        }
        watch(limit);
      },
      stop: function () { clearTimeout(timer); }
    };
  }

  // -- the socket -----------------------------------------------------------------------

  /**
   * FallbackSocket(url, options): the WebSocket API over the best transport that works.
   * `url`: http(s)://host/prefix (or ws(s)://host/prefix/websocket, or relative).
   * Options: transports (names to allow), timeout, minTimeout, heartbeatTimeout,
   * retryAfter, remember, flash {swf, script, swfobject}; defaults in FallbackSocket.defaults.
   */
  function FallbackSocket(url, options) {
    if (!(this instanceof FallbackSocket)) { return new FallbackSocket(url, options); }
    // new WebSocket(url, protocols) in drop-in mode: subprotocols do not exist in SockJS.
    if (typeof options == "string" || isArray(options)) { options = null; }
    var self = this, o = {}, key, defaults = FallbackSocket.defaults;
    for (key in defaults) { o[key] = defaults[key]; }
    for (key in options || {}) { o[key] = options[key]; }
    self._options = o;
    self._target = parseUrl(String(url));
    self.url = String(url);
    self.readyState = CONNECTING;
    self.transport = "";
    self.protocol = self.extensions = "";
    self.bufferedAmount = 0;
    self.binaryType = "blob";
    self._listeners = {};
    self._queue = [];    // messages not yet handed to a transport
    self._tr = null;     // the current transport (TRANSPORTS'); _url is its address
    // Also: _sending (the batch in flight), _resuming (resume attempts under way),
    // _reconnecting (a new connection after a restart; the socket stays OPEN).
    self._plan = new Plan(self._target, o);
    self._ledger = new Ledger();
    self._channels = channels(self);
    self._dog = watchdog(function () { self._lost("No heartbeat"); });
    live.push(self);
    later(function () { self._start(); });
  }

  var proto = FallbackSocket.prototype;
  proto.CONNECTING = FallbackSocket.CONNECTING = CONNECTING;
  proto.OPEN = FallbackSocket.OPEN = OPEN;
  proto.CLOSING = FallbackSocket.CLOSING = CLOSING;
  proto.CLOSED = FallbackSocket.CLOSED = CLOSED;
  FallbackSocket.version = "0.1.0";
  FallbackSocket.transports = ORDER.slice();
  // The transports this browser could use to reach `url` (the server may offer fewer):
  // what a page's transport picker should offer.
  FallbackSocket.usable = function (url, options) {
    var env = environment(parseUrl(String(url)), null), out = [];
    for (var i = 0; i < ORDER.length; i++) { if (usable(ORDER[i], env, options || {})) { out.push(ORDER[i]); } }
    return out;
  };
  FallbackSocket.defaults = {
    transports: null,          // allowed transports (names or a comma list); null: all
    timeout: 0,                // ms to wait for each transport to open; 0: from the info RTT
    minTimeout: 1000,          // the RTT-derived timeout is never shorter than this
    heartbeatTimeout: null,    // ms a transport may stay silent (by the clock) before it counts as lost;
                               // null: 1.5 x the server's heartbeat_delay plus 2 s (60 s if unknown); 0: never
    resume: true,              // survive dropped transports where the server offers resume
    reconnectDelay: 100,       // first reconnect after this many ms, doubling, with jitter ...
    maxReconnectDelay: 5000,   // ... up to this
    recoverTimeout: 60000,     // ms to keep reaching for a server while channels can recover
    retryAfter: 3600000,       // a transport that failed is skipped for this long
    remember: true,            // keep what worked and failed in localStorage
    flash: null                // {swf, script, swfobject}: web-socket-js files the site hosts
  };

  proto.addEventListener = function (type, fn) {
    var list = this._listeners[type] || (this._listeners[type] = []);
    if (fn && indexOf(list, fn) < 0) { list.push(fn); }
  };
  proto.removeEventListener = function (type, fn) {
    var list = this._listeners[type], i = list ? indexOf(list, fn) : -1;
    if (i >= 0) { list.splice(i, 1); }
  };
  proto.dispatchEvent = function (event) {
    var list = (this._listeners[event.type] || []).slice(), handler = this["on" + event.type];
    event.target = event.currentTarget = this;
    if (typeof handler == "function") { list.unshift(handler); }
    for (var i = 0; i < list.length; i++) {
      try {
        if (typeof list[i] == "function") { list[i].call(this, event); } else if (list[i] && list[i].handleEvent) { list[i].handleEvent(event); }
      } catch (error) {
        // Report like the browser would, without breaking delivery of what follows.
        later(function () { throw error; });
      }
    }
    return true;
  };
  proto._emit = function (type, extra) {
    var event = { type: type, timeStamp: now(), bubbles: false, cancelable: false };
    for (var key in extra || {}) { event[key] = extra[key]; }
    this.dispatchEvent(event);
  };

  // send(text | ArrayBuffer | ArrayBufferView | Blob). A Blob is read first; what is sent
  // after it waits for it, so that everything leaves in order.
  proto.send = function (data) {
    var self = this, item = null, reader;
    if (self.readyState == CONNECTING) { throw domError("InvalidStateError", "still CONNECTING"); }
    if (BINARY && data && typeof data == "object") {
      item = BLOB && data instanceof BLOB ? { bin: null } : (item = bytesOf(data)) && { bin: item };
    }
    if (item && !(self._plan.binary && self.transport != "flash")) {
      throw domError("NotSupportedError", "this server takes no binary messages");
    }
    if (self.readyState != OPEN) { return; }
    if (item && !item.bin) {
      reader = new window.FileReader();
      reader.onload = function () { item.bin = new U8(reader.result); self._flush(); };
      reader.onerror = function () { self._finish(1006, "Blob unreadable", false, true); };
      reader.readAsArrayBuffer(data);
    }
    item = item || String(data);
    self._queue.push(item);
    self._ledger.sent(item);
    self._flush();
  };

  // One send in flight at a time; whatever is queued meanwhile leaves in the next request.
  // A resumable connection also tells the server how many messages it has received.
  proto._flush = function () {
    var self = this, tr = this._tr, queue = this._queue, k = 0, size = 0, batch, limit;
    if (self._sending || !tr || self._resuming || self._reconnecting || self.readyState != OPEN) { return; }
    // Only what is ready (a Blob still being read holds back what was sent after it), and
    // on a binary session no more than the server's max_message_size in one request.
    for (; k < queue.length && queue[k].bin !== null; k++) {
      size += (queue[k].bin || queue[k]).length;
      if (k && size > self._plan.max) { break; }
    }
    batch = self._ledger.batch(queue.slice(0, k), queue.length - k);
    if (!batch) { return; }
    self._queue = queue.slice(k);
    // A send that never ends (a stalled connection; a JSONP form post whose frame gets no
    // load event after a network error) is lost once the heartbeat limit has passed; one
    // left behind by its transport is dropped (`_stop`). Whatever it carried is still in
    // the ledger for the next transport, and its late answer, if any, counts for nothing.
    limit = self._limit();
    self._sending = batch;
    if (limit) { self._sendTimer = later(function () { if (self._sending === batch) { self._endSend(); self._lost("Sending failed"); } }, limit); }
    tr.send(batch);
  };
  proto._onsent = function (tr, ok, batch) {
    if (batch !== this._sending) { return; }
    this._endSend();
    if (ok) { this._flush(); } else { this._lost("Sending failed"); }
  };
  proto._endSend = function () {
    this._sending = null;
    clearTimeout(this._sendTimer);
  };

  proto.close = function (code, reason) {
    if (code !== undefined && code != 1000 && (code < 3000 || code > 4999)) {
      throw domError("InvalidAccessError", "close code must be 1000 or 3000-4999");
    }
    if (reason && utf8Length(reason) > 123) {
      throw domError("SyntaxError", "close reason longer than 123 bytes");
    }
    if (this.readyState == CONNECTING) { return this._finish(1006, "", false, true); }
    if (this.readyState != OPEN) { return; }
    this.readyState = CLOSING;
    this._bye(code || 1000, reason || "");
    this._stop(code, reason);
    var self = this;
    later(function () { self._finish(code || 1000, reason || "", true); });
  };

  // HTTP transports have no close frame: a resumable connection says goodbye explicitly,
  // or the server would keep it for its grace period. (WebSocket closes say it already.)
  proto._bye = function (code, reason) {
    var tr = this._tr, url = this._url, nav = window.navigator, list = [{ close: [code, reason] }];
    // (Before its id arrives a connection may already be resumable on the server.)
    if (!this._ledger.keeps() || !tr || tr.ws || this._resuming) { return; }
    if (nav && nav.sendBeacon && url) {
      try { if (nav.sendBeacon(url.session + "/xhr_send" + url.query, encode(list))) { return; } } catch (e) { /* try the transport */ }
    }
    try { tr.send(list); } catch (e) { /* gone */ }
  };

  // -- the life cycle: negotiate, open, lose and resume, restart, finish -----------------

  proto._start = function () {
    var self = this;
    if (self.readyState != CONNECTING) { return; }
    self._abortInfo = self._plan.ask(function (info, rtt) {
      self._abortInfo = null;
      if (self.readyState != CONNECTING) { return; }
      self._plan.choose(info, rtt);
      self._ledger.offered = self._plan.resume;
      self._next();
    });
  };

  proto._next = function () {
    var self = this, plan = this._plan, name = plan.next();
    if (!name && self._reconnecting) { return self._retryRestart(1006, "All transports failed"); }
    if (!name) { return self._finish(1006, "All transports failed", false, true); }
    // fb_binary=1: this session takes binary messages (Flash's raw WebSocket needs no asking).
    var framed = name != "flash", extra = self._ledger.offered && framed ? ["fb_resume=1"] : [];
    if (self._plan.binary && framed) { extra.push("fb_binary=1"); }
    var url = self._sessionUrl(extra.join("&"));
    self._connect(name, url, attemptTimeout(plan.timeout, !plan.candidates.length, name), "_abandon");
  };

  // A new SockJS session address for this socket (tests/security reads it).
  proto._sessionUrl = function (extra) { return sessionUrl(this._target, extra); };

  // Transport `name` on `url` becomes the current one; this[fail]() after `ms`, or if it
  // cannot start. Its event x calls _onx(tr, ...) while it is current, and never after.
  proto._connect = function (name, url, ms, fail) {
    var self = this, tr;
    self._timer = later(function () { self[fail](); }, ms);
    self._url = url;
    try {
      tr = self._tr = TRANSPORTS[name](url, self._plan.env, function (type, a, b) { if (tr === self._tr) { self["_on" + type](tr, a, b); } }, self._options);
    } catch (e) { self[fail](); }
  };

  // Each receiving request of a resumable connection says how much arrived so far.
  proto._onpoll = function () {
    var ledger = this._ledger;
    if (ledger.cid) { this._url.query = withQuery(this._target.query, ledger.argument(this._resuming)); }
  };
  proto._onmessage = function (tr, text) { this._deliver(tr, [text]); };
  proto._onbinary = function (tr, buffer) {
    this._alive();
    if (this.readyState == OPEN) { this._deliver(tr, [new U8(buffer)]); }
  };
  proto._onclose = function (tr, code, reason) {
    if (this.readyState == OPEN && code && code != 1006) { return this._finish(code, reason || "", true); }
    this._onend();
  };

  proto._abandon = function () {
    if (this.readyState != CONNECTING && !this._reconnecting) { return; }
    this._plan.failed.push(this._plan.attempt);
    this._stop();
    this._next();
  };

  proto._opened = function () {
    var ledger = this._ledger, tr = this._tr;
    clearTimeout(this._timer);
    this.readyState = OPEN;
    this.transport = this._plan.worked();
    this._alive();
    if (tr && tr.raw) { ledger.drop(); } // no SockJS framing: no resume
    if (ledger.offered && !ledger.cid) {
      // Its id follows the open frame; a server whose transport cannot resume never
      // sends one, and then there is nothing to keep.
      this._cidTimer = later(function () { if (!ledger.cid) { ledger.drop(); } }, this._plan.timeout);
    }
    if (this._reconnecting) {
      // A new connection after a server restart: the page's socket stayed open.
      this._reconnecting = false;
      this._channels.reset();
      this._emit("reconnect", { transport: this.transport });
      return this._flush();
    }
    this._emit("open");
    this._channels.opened();
  };

  // A frame from the current transport: o(pen), h(eartbeat), a[rray of messages],
  // c(lose), and on resumable connections r{control}: its id, a resume's outcome, acks.
  proto._onframe = function (tr, frame) {
    var type = frame.charAt(0), body = null;
    this._alive();
    if (type == "o" && (this.readyState == CONNECTING || this._reconnecting)) { return this._opened(); }
    if (type != "a" && type != "c" && type != "r") { return; } // h(eartbeat): being alive was the point
    try { body = parse(frame.slice(1)); } catch (e) { /* handled below */ }
    if (type == "r") { return body && typeof body == "object" ? this._control(body) : undefined; }
    if (!isArray(body)) { return this._finish(1002, "Broken frame", false, true); }
    if (type == "a" && this.readyState == OPEN) { this._deliver(tr, body); }
    if (type == "c") { this._closed(body[0], body[1]); }
  };

  proto._deliver = function (tr, messages) {
    var self = this, ledger = this._ledger;
    // (A handler may close the socket, or lose the transport by sending: the rest comes again.)
    for (var i = 0, data; i < messages.length && tr === self._tr && self.readyState == OPEN; i++) {
      ledger.rx++;
      data = messages[i];
      if (typeof data != "string" && BINARY) {
        // {"b": base64} (HTTP transports) or the bytes of a WebSocket binary message,
        // handed over as binaryType says: "arraybuffer", or (the default) "blob".
        data = typeof data.b == "string" ? fromBase64(data.b) : data;
        data = self.binaryType == "arraybuffer" || !BLOB ? data.buffer : new BLOB([data]);
      } else if (self._channels.envelope(data)) {
        continue;
      }
      self._emit("message", { data: data, origin: self._target.origin, lastEventId: "" });
    }
    if (!ledger.cid) { return; }
    if (ledger.rx - ledger.told >= 32) { return self._flush(); }
    // A few owed and nothing to send: acknowledge them a little later, in one request.
    if (!self._ackTimer) {
      self._ackTimer = later(function () { self._ackTimer = null; ledger.ackNow = true; self._flush(); }, 2000);
    }
  };

  proto._control = function (body) {
    var ledger = this._ledger, resuming = this._resuming;
    if (body.cid && !ledger.cid && !resuming && this._options.resume) {
      ledger.cid = String(body.cid); // a new resumable connection
      clearTimeout(this._cidTimer);
    }
    if (typeof body.ack == "number") { ledger.acked(body.ack); }
    if (body.resumed === true && resuming) {
      clearTimeout(this._timer);
      this._resuming = false;
      this._queue = ledger.resumed(body);
      this._alive();
      this._emit("resume", { transport: this.transport });
      this._flush();
    }
  };

  proto._closed = function (code, reason) {
    // Reconnecting after a restart, we may still reach a server on its way out (1012) or
    // one that is full (1013): try again, as long as a resume would have been allowed.
    if (this._reconnecting && (code == 1012 || code == 1013)) { return this._retryRestart(code, reason); }
    // A resume refused (3009-3011: the server died, or we were away too long; an
    // EventSource may even have retried by itself): channels with history recover on a
    // new connection instead.
    if (code >= 3009 && code <= 3011 && (this._resuming || this._ledger.cid) && this._channels.recoverable()) { return this._restart(); }
    if (this._ledger.cid && this.readyState == OPEN) {
      // 1012: the server is restarting. It acknowledged what it got just before; open a
      // new connection (a load balancer picks another server) and send the rest there.
      if (code == 1012) { return this._restart(); }
      // 2010: our previous request still holds the session on the server (it has not
      // noticed that request died): take the session over on a new one.
      if (code == 2010) { return this._lost("Another connection still open"); }
    }
    this._finish(code, reason, true);
  };

  // The transport is gone without a close frame: try the next one, resume, or report.
  proto._onend = function () {
    if (this.readyState == CONNECTING || this._reconnecting) { return this._abandon(); }
    this._lost("Connection lost");
  };

  proto._lost = function (reason) {
    if (this._resuming) { return this._retry(); }
    if (this._ledger.cid && this.readyState == OPEN) { return this._resume(); }
    this._finish(1006, reason, false, true);
  };

  // Reconnect on a new SockJS session that carries fb_resume=<id>.<received>.<attempt>:
  // attempts are numbered for the life of the socket, so that the server can tell an old
  // one the network held up from the latest.
  proto._resume = function () {
    var self = this, ledger = this._ledger, plan = this._plan, n;
    self._stop();
    self._resuming = true;
    if (ledger.expired(now(), plan.grace)) {
      if (self._channels.recoverable()) { return self._restart(); }
      return self._finish(3009, "Resume grace period expired", false, true);
    }
    n = ++ledger.attempts;
    self._timer = later(function () {
      if (self.readyState != OPEN || !self._resuming) { return; }
      // After a few failures on this transport, try the others the plan allowed.
      var name = self.transport = plan.forResume(n, self.transport);
      ledger.tries++;
      var url = self._sessionUrl(ledger.argument(true));
      self._connect(name, url, plan.timeout, "_retry");
    }, backoff(n, self._options, Math.random()));
  };

  proto._retry = function () {
    if (this.readyState == OPEN && this._resuming) { this._resume(); }
  };

  proto._retryRestart = function (code, reason) {
    var self = this, n = ++this._ledger.attempts;
    self._stop();
    var limit = self._channels.recoverable() ? self._options.recoverTimeout : self._plan.grace;
    if (now() - self._restartAt > limit) { return self._finish(code, reason, code != 1006, code == 1006); }
    self._timer = later(function () {
      self._plan.again();
      self._next();
    }, backoff(n, self._options, Math.random()));
  };

  proto._restart = function () {
    this._restartAt = now();
    this._stop();
    // (Subscriptions are made again, recovering, by the channels' reset: not replayed.)
    this._ledger.unacked = this._channels.replayable(this._ledger.unacked);
    this._queue = this._ledger.restart();
    this._resuming = false;
    this._reconnecting = true; // the page's socket stays OPEN meanwhile
    this._plan.failed = [];
    this._plan.again();
    this._next();
  };

  proto._limit = function () { return heartbeatLimit(this._options.heartbeatTimeout, this._plan.heartbeat); };
  proto._alive = function () {
    var tr = this._tr;
    this._dog.alive(tr && !tr.raw && this.readyState == OPEN && !this._resuming ? this._limit() : 0);
  };

  proto._stop = function (code, reason) {
    var tr = this._tr;
    this._tr = null;
    this._endSend();
    clearTimeout(this._timer);
    this._dog.stop();
    if (this._abortInfo) { this._abortInfo(); this._abortInfo = null; }
    if (tr) { tr.close(code, reason); }
  };

  proto._finish = function (code, reason, wasClean, error) {
    if (this.readyState == CLOSED) { return; }
    this._stop();
    this.readyState = CLOSED;
    this._resuming = this._reconnecting = false;
    this._queue = [];
    this._ledger.unacked = [];
    var at = indexOf(live, this);
    if (at >= 0) { live.splice(at, 1); }
    if (error) { this._emit("error"); }
    this._emit("close", { code: code, reason: reason || "", wasClean: !!wasClean });
  };

  // -- the channel API (README: "Channels, tokens and the backend API") -----------------
  // subscribe(channel, handler, {token, since, onjoin, onleave, onerror, onsubscribe,
  // onunrecovered}) returns {unsubscribe, publish, presence, position}; unsubscribe(channel,
  // done); publish(channel, data, done); presence(channel, done(members)); trigger(event,
  // data, done). The socket emits "unrecovered" when history did not reach back.
  function channelMethod(name) {
    return function (a, b, c) { return this._channels[name](a, b, c); };
  }
  for (var api = ["subscribe", "unsubscribe", "publish", "presence", "trigger"], at = 0; at < api.length; at++) {
    proto[api[at]] = channelMethod(api[at]);
  }

  // -- drop-in mode and configuration from the script tag ---------------------------------

  /** Install FallbackSocket as window.WebSocket where the browser has none (or `force`). */
  FallbackSocket.install = function (force) {
    if (NativeWS && !force) { return false; }
    window.WebSocket = FallbackSocket;
    return true;
  };

  /** Forget what worked and failed for the server at `url`. */
  FallbackSocket.forget = function (url) {
    try { storage.removeItem("fallback.js:" + parseUrl(url).base); } catch (e) { /* no storage */ }
  };

  // A page going away says goodbye on every open socket (see _bye).
  FallbackSocket._live = live;
  listen(window, "pagehide", function () {
    for (var i = 0; i < live.length; i++) {
      if (live[i].readyState == OPEN) { live[i]._bye(1001, "Page closed"); }
    }
  });

  window.FallbackSocket = FallbackSocket;

  var scripts = document.getElementsByTagName("script");
  var me = document.currentScript || scripts[scripts.length - 1];
  function attribute(name) { return me && me.getAttribute ? me.getAttribute(name) : null; }
  if (attribute("data-transports")) { FallbackSocket.defaults.transports = attribute("data-transports"); }
  if (attribute("data-flash-swf")) {
    FallbackSocket.defaults.flash = { swf: attribute("data-flash-swf"), script: attribute("data-flash-script"), swfobject: attribute("data-flash-swfobject") };
  }
  if (attribute("data-fallback-websocket") != null) { FallbackSocket.install(attribute("data-fallback-websocket") == "force"); }
})(window, document);
