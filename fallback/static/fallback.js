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
 */
(function (window, document) {
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
  function remove(el) { if (el && el.parentNode) { el.parentNode.removeChild(el); } }
  function parse(text) { return JSON_ ? JSON_.parse(text) : new Function("return " + text)(); }
  function quote(s, ascii) {
    return '"' + s.replace(ascii ? ESCAPE_ASCII : ESCAPE, function (c) {
      return c == '"' ? '\\"' : c == "\\" ? "\\\\" : "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    }) + '"';
  }
  function encode(list, ascii) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var item = list[i];
      out.push(typeof item == "string" ? quote(item, ascii) :
        item.close ? '{"close":[' + item.close[0] + "," + quote(item.close[1], ascii) + "]}" :
        item.seq !== undefined ? '{"seq":' + item.seq + "}" : '{"ack":' + item.ack + "}");
    }
    return "[" + out.join(",") + "]";
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
  function domError(name, message) {
    try { return new window.DOMException(message, name); } catch (e) {
      var error = new Error(message);
      error.name = name;
      return error;
    }
  }
  function utf8Length(s) {
    try { return encodeURIComponent(s).replace(/%../g, "x").length; } catch (e) { return Infinity; }
  }
  function normalize(name) { name = String(name).replace(/^\s+|\s+$/g, ""); return ALIASES[name] || name; }
  function names(list) {
    if (!list) { return null; }
    if (!isArray(list)) { list = String(list).split(","); }
    var out = [];
    for (var i = 0; i < list.length; i++) { out.push(normalize(list[i])); }
    return out;
  }
  function hasFlash() {
    var nav = window.navigator, mime = nav && nav.mimeTypes && nav.mimeTypes["application/x-shockwave-flash"];
    if (mime && mime.enabledPlugin) { return true; }
    try { return !!new window.ActiveXObject("ShockwaveFlash.ShockwaveFlash"); } catch (e) { return false; }
  }

  // -- URLs ------------------------------------------------------------------------------

  // `url` (absolute, relative, or ws(s)://host/prefix/websocket) -> its parts. The raw
  // WebSocket URL of a SockJS service maps to the service: that is what drop-in mode needs.
  function parseUrl(url) {
    var ws = /^ws(s?):/i.test(url), a = document.createElement("a");
    a.href = ws ? url.replace(/^ws/i, "http") : url;
    var m = /^(https?:)\/\/([^\/?#]+)([^?#]*)(\?[^#]*)?/i.exec(a.href);
    if (!m) { throw domError("SyntaxError", "fallback.js: cannot connect to " + url); }
    var scheme = m[1].toLowerCase(), host = m[2], path = m[3].replace(/\/+$/, "");
    host = host.replace(scheme == "http:" ? /:80$/ : /:443$/, "");
    if (ws) { path = path.replace(/\/websocket$/, ""); }
    if (path && path.charAt(0) != "/") { path = "/" + path; } // old IE drops the slash
    return { scheme: scheme, origin: scheme + "//" + host, base: scheme + "//" + host + path, query: m[4] || "" };
  }

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
    return { same: same, file: file, ajax: ajax };
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
    script.onreadystatechange = function () { if (/loaded|complete/.test(script.readyState)) { end(true); } };
    script.async = true;
    script.src = url;
    (document.getElementsByTagName("head")[0] || document.documentElement).appendChild(script);
  }

  // -- receivers: one request carrying frames to us; end(failed) when it is over ----------

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

  function xhrReceiver(path) {
    return function (url, env, onFrame, end) {
      return ajax(env.ajax, "POST", url.session + "/" + path + url.query, null, lines(onFrame), function (ok) { end(!ok); });
    };
  }

  // EventSource data is percent-escaped as sockjs-node escapes it (%, CR, LF and NUL), and
  // decoded as sockjs-client decodes it, with decodeURI; data that is not escaped that way
  // (and so cannot be decoded) is taken as it is.
  function unescapeEvent(data) {
    if (data.indexOf("%") < 0) { return data; }
    try { return decodeURI(data); } catch (e) { return data; }
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
    iframe.src = url.session + "/htmlfile" + url.query + (url.query ? "&" : "?") + "fb_direct=1&c=" + CALLBACKS + "." + id;
    document.body.appendChild(iframe);
    listen(iframe, "load", stop);
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
    script.onreadystatechange = function () { if (/loaded|complete/.test(script.readyState)) { finish(false); } };
    script.async = true;
    script.src = url.session + "/jsonp" + url.query + (url.query ? "&" : "?") + "c=" + CALLBACKS + "." + id;
    (document.getElementsByTagName("head")[0] || document.documentElement).appendChild(script);
    return function () { over = true; callbacks[id] = noop; remove(script); };
  }

  // -- senders: post a batch of messages, then done(ok) ---------------------------------

  function xhrSender(url, env, list, done) {
    ajax(env.ajax, "POST", url.session + "/xhr_send" + url.query, encode(list), null, done);
  }

  // JSONP's sends are form posts into a hidden iframe: no CORS needed, nothing to read back.
  function formSender(url, env, list, done) {
    var id = nextId("f"), form = document.createElement("form"), area = document.createElement("textarea"), iframe;
    try { iframe = document.createElement('<iframe name="' + id + '">'); } catch (e) { iframe = document.createElement("iframe"); iframe.name = id; }
    form.style.display = iframe.style.display = "none";
    form.method = "POST";
    form.enctype = "application/x-www-form-urlencoded";
    form.acceptCharset = "UTF-8";
    form.target = id;
    form.action = url.session + "/jsonp_send" + url.query + (url.query ? "&" : "?") + "i=" + id;
    area.name = "d";
    area.value = encode(list, true);
    form.appendChild(area);
    document.body.appendChild(iframe);
    document.body.appendChild(form);
    form.submit();
    listen(iframe, "load", function () {
      // Some browsers report the empty frame's own load late: wait for the answer's.
      try { if (iframe.contentWindow.location.href == "about:blank") { return; } } catch (e) { /* other origin: it is */ }
      later(function () { remove(form); remove(iframe); });
      done(true);
    });
  }

  // -- transports -----------------------------------------------------------------------

  // The HTTP transports: one receiving request at a time, the next started when the last
  // one ends, so frames arrive in order. A request that ends without bringing a single
  // frame means the transport (or the session) is gone.
  function httpTransport(receiver, sender) {
    return function (sock, url, env) {
      var tr = {}, abort = null, dead = false;
      function start() {
        var got = false;
        // A resumable connection tells each receiving request how much arrived so far.
        if (sock._cid) { url.query = sock._resumeQuery(); }
        abort = receiver(url, env, function (frame) { got = true; sock._frame(tr, frame); }, function (failed) {
          abort = null;
          if (dead) { return; }
          if (failed || !got) { sock._end(tr); } else { start(); }
        });
      }
      tr.send = function (list, done) { sender(url, env, list, done); };
      tr.close = function () { dead = true; if (abort) { abort(); } };
      start();
      return tr;
    };
  }

  function websocketTransport(sock, url) {
    var tr = { ws: true }, ws = new NativeWS(url.session.replace(/^http/, "ws") + "/websocket" + url.query);
    ws.onmessage = function (e) { sock._frame(tr, e.data); };
    ws.onclose = function () { sock._end(tr); };
    tr.send = function (list, done) {
      try { ws.send(encode(list)); } catch (e) { return done(false); }
      done(true);
    };
    tr.close = function (code, reason) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { if (code) { ws.close(code, reason || ""); } else { ws.close(); } } catch (e) { /* already closed */ }
    };
    return tr;
  }

  // Flash: web-socket-js's emulated WebSocket against the unframed <prefix>/websocket.
  function flashTransport(sock, url) {
    var tr = { raw: true }, ws = null, dead = false;
    loadFlash(sock._options.flash, function (FlashWS) {
      if (dead) { return; }
      if (!FlashWS) { return sock._end(tr); }
      ws = new FlashWS(url.base.replace(/^http/, "ws") + "/websocket" + url.query);
      ws.onopen = function () { sock._frame(tr, "o"); };
      ws.onmessage = function (e) { sock._deliver(tr, [e.data]); };
      ws.onclose = function (e) {
        if (sock.readyState == OPEN && e && e.code && e.code != 1006) { sock._finish(e.code, e.reason || "", true); } else { sock._end(tr); }
      };
    });
    tr.send = function (list, done) {
      try { for (var i = 0; i < list.length; i++) { ws.send(list[i]); } } catch (e) { return done(false); }
      done(true);
    };
    tr.close = function (code, reason) {
      dead = true;
      if (ws) { ws.onopen = ws.onmessage = ws.onclose = null; try { ws.close(code, reason); } catch (e) { /* gone */ } }
    };
    return tr;
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
        var loaded = window.WebSocket;
        flashLoaded(ok && loaded && loaded.__isFlashImplementation ? loaded : null, ours);
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

  // -- what worked before, per server (localStorage) ------------------------------------

  function recall(base) {
    try { return parse(storage.getItem("fallback.js:" + base)) || {}; } catch (e) { return {}; }
  }
  function memorize(base, memory) {
    try { storage.setItem("fallback.js:" + base, JSON_.stringify(memory)); } catch (e) { /* no storage */ }
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
    var o = {}, key, defaults = FallbackSocket.defaults;
    for (key in defaults) { o[key] = defaults[key]; }
    for (key in options || {}) { o[key] = options[key]; }
    this._options = o;
    this._target = parseUrl(String(url));
    this.url = String(url);
    this.readyState = CONNECTING;
    this.transport = "";
    this.protocol = this.extensions = "";
    this.bufferedAmount = 0;
    this.binaryType = "blob";
    this._listeners = {};
    this._queue = [];   // messages not yet handed to a transport
    this._failed = [];
    // Resume (a fallback server extension, see fallback/resume.py): what the server has
    // not acknowledged yet stays in _unacked; _rx counts messages received.
    this._unacked = [];
    this._rx = 0;
    this._toldRx = 0;
    this._cid = null;
    this._lostAt = 0;  // when the current loss of transport was noticed (0: none)
    live.push(this);
    var self = this;
    later(function () { self._start(); });
  }

  var proto = FallbackSocket.prototype;
  proto.CONNECTING = FallbackSocket.CONNECTING = CONNECTING;
  proto.OPEN = FallbackSocket.OPEN = OPEN;
  proto.CLOSING = FallbackSocket.CLOSING = CLOSING;
  proto.CLOSED = FallbackSocket.CLOSED = CLOSED;
  FallbackSocket.version = "0.1.0";
  FallbackSocket.transports = ORDER.slice();
  FallbackSocket.defaults = {
    transports: null,          // allowed transports (names or a comma list); null: all
    timeout: 0,                // ms to wait for each transport to open; 0: from the info RTT
    minTimeout: 1000,          // the RTT-derived timeout is never shorter than this
    heartbeatTimeout: null,    // ms a transport may stay silent (by the clock) before it counts as lost;
                               // null: 1.5 x the server's heartbeat_delay plus 2 s (60 s if unknown); 0: never
    resume: true,              // survive dropped transports where the server offers resume
    reconnectDelay: 100,       // first reconnect after this many ms, doubling, with jitter ...
    maxReconnectDelay: 5000,   // ... up to this
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

  proto.send = function (data) {
    if (this.readyState == CONNECTING) { throw domError("InvalidStateError", "fallback.js: still CONNECTING"); }
    if (this.readyState != OPEN) { return; }
    data = String(data);
    this._queue.push(data);
    if (this._cid || this._resumeOffered) { this._unacked.push(data); }
    this._flush();
  };

  // One send in flight at a time; whatever is queued meanwhile leaves in the next request.
  // A resumable connection also tells the server how many messages it has received.
  proto._flush = function () {
    var self = this, tr = this._tr, batch = this._queue;
    if (this._sending || !tr || this._resuming || this._reconnecting || this.readyState != OPEN) { return; }
    var ack = this._cid && this._rx > this._toldRx ? this._rx : 0;
    // Acknowledgements ride on sends; alone only when 32 are owed (or the ack timer says).
    if (!batch.length && !(ack && (this._rx - this._toldRx >= 32 || this._ackNow))) { return; }
    this._ackNow = false;
    this._queue = [];
    if (batch.length && (this._cid || this._resumeOffered)) {
      // The number of messages before these: browsers retry a POST whose connection was
      // reset, and the server must not take the same messages twice.
      batch = [{ seq: (this._serverGot || 0) + this._unacked.length - batch.length }].concat(batch);
    }
    if (ack) { batch = batch.concat([{ ack: ack }]); this._toldRx = ack; }
    // A send that never ends (a stalled connection; a JSONP form post whose frame gets no
    // load event after a network error) is lost once the heartbeat limit has passed; one
    // left behind by its transport is dropped (`_stop`). Whatever it carried is still in
    // _unacked for the next transport, and its late answer, if any, counts for nothing.
    var id = this._sends = (this._sends || 0) + 1, limit = this._limit();
    this._sending = true;
    if (limit) { this._sendTimer = later(function () { if (self._sends === id) { self._endSend(); self._lost("Sending failed"); } }, limit); }
    tr.send(batch, function (ok) {
      if (self._sends !== id) { return; }
      self._endSend();
      if (ok) { self._flush(); } else { self._lost("Sending failed"); }
    });
  };
  proto._endSend = function () {
    this._sends = (this._sends || 0) + 1;
    this._sending = false;
    clearTimeout(this._sendTimer);
  };

  proto.close = function (code, reason) {
    if (code !== undefined && code != 1000 && (code < 3000 || code > 4999)) {
      throw domError("InvalidAccessError", "fallback.js: close code must be 1000 or 3000-4999");
    }
    if (reason && utf8Length(reason) > 123) {
      throw domError("SyntaxError", "fallback.js: close reason longer than 123 bytes");
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
    var tr = this._tr;
    // (Before its id arrives a connection may already be resumable on the server.)
    if (!(this._cid || this._resumeOffered) || !tr || tr.ws || this._resuming) { return; }
    var body = '[{"close":[' + code + "," + quote(reason) + "]}]";
    var beacon = window.navigator && navigator.sendBeacon;
    if (beacon && this._url) {
      try { if (navigator.sendBeacon(this._url.session + "/xhr_send" + this._url.query, body)) { return; } } catch (e) { /* try the transport */ }
    }
    try { tr.send([{ close: [code, reason] }], noop); } catch (e) { /* gone */ }
  };

  proto._start = function () {
    var self = this, o = this._options, target = this._target, env = environment(target, null);
    if (this.readyState != CONNECTING) { return; }
    if (!env.ajax) { return this._plan(null, 0); } // no way to ask: the client's own order
    var started = now(), answered = false;
    function answer(info) {
      if (answered) { return; }
      answered = true;
      clearTimeout(timer);
      self._abortInfo = null;
      if (self.readyState == CONNECTING) { self._plan(info, now() - started); }
    }
    var timer = later(function () { if (self._abortInfo) { self._abortInfo(); } answer(null); }, o.timeout || 5000);
    this._abortInfo = ajax(env.ajax, "GET", target.base + "/info" + target.query + (target.query ? "&" : "?") + "t=" + now(), null, null, function (ok, text) {
      var info = null;
      try { info = ok ? parse(text) : null; } catch (e) { /* not a SockJS server */ }
      answer(info && typeof info == "object" ? info : null);
    });
  };

  // Candidates: the server's order (or ours), minus what the browser cannot do, what the
  // page excluded, and what failed here recently -- unless that would leave nothing.
  proto._plan = function (info, rtt) {
    var o = this._options, env = environment(this._target, info), allowed = names(o.transports);
    var list = info && isArray(info.transports) ? names(info.transports) : ORDER.slice();
    var memory = o.remember ? recall(this._target.base) : {}, failed = memory.failed || {};
    var candidates = [], skipped = [], noWebSocket = info && info.websocket === false, name, i;
    for (i = 0; i < list.length; i++) {
      name = list[i];
      if (!TRANSPORTS[name] || indexOf(candidates, name) >= 0 || (allowed && indexOf(allowed, name) < 0) ||
          (noWebSocket && (name == "websocket" || name == "flash")) || !usable(name, env, o)) { continue; }
      if (failed[name] && now() - failed[name] < o.retryAfter) { skipped.push(name); } else { candidates.push(name); }
    }
    this._env = env;
    this._memory = memory;
    this._candidates = candidates.length ? candidates : skipped;
    this._candidatesAll = this._candidates.slice();
    var resume = info && info.resume;
    this._heartbeat = info && info.heartbeat_delay > 0 ? info.heartbeat_delay * 1000 : 0;
    this._resumeOffered = !!(o.resume && resume && resume.v == 1);
    this._grace = resume && resume.grace > 0 ? resume.grace * 1000 : 60000;
    // As sockjs-client: a retransmission timeout from the RTT, two round trips to open.
    var rto = info ? (rtt > 100 ? 4 * rtt : 300 + rtt) : 4000;
    this._rtt = rtt;
    this._timeout = o.timeout || Math.max(o.minTimeout, 2 * rto);
    this._next();
  };

  proto._next = function () {
    var self = this, name = this._candidates.shift(), o = this._options;
    if (!name) { return this._finish(1006, "All transports failed", false, true); }
    var url = this._sessionUrl(this._resumeOffered && name != "flash" ? "fb_resume=1" : "");
    // The last candidate has nothing to fall back to: give it longer. Flash first asks
    // port 843 for a policy and waits 3 s before asking in-band.
    var timeout = this._candidates.length ? this._timeout : Math.max(3 * this._timeout, 10000);
    if (name == "flash") { timeout += 4000; }
    this._attempt = name;
    this._timer = later(function () { self._abandon(); }, timeout);
    this._url = url;
    try { this._tr = TRANSPORTS[name](this, url, this._env); } catch (e) { return this._abandon(); }
  };

  // fb_resume=<id>.<received>, and while a resume is under way, .<its attempt number>.
  proto._resumeArgument = function () {
    return "fb_resume=" + this._cid + "." + this._rx + (this._resuming ? "." + this._tries : "");
  };
  proto._resumeQuery = function () {
    var query = this._target.query;
    return query + (query ? "&" : "?") + this._resumeArgument();
  };

  // A new SockJS session address; `extra` goes into its query string.
  proto._sessionUrl = function (extra) {
    var target = this._target, server = randomString(3, "0123456789"), session = randomString(24, "abcdefghijklmnopqrstuvwxyz0123456789");
    var query = target.query;
    if (extra) { query += (query ? "&" : "?") + extra; }
    return { base: target.base, query: query, session: target.base + "/" + server + "/" + session };
  };

  proto._abandon = function () {
    if (this.readyState != CONNECTING && !this._reconnecting) { return; }
    this._failed.push(this._attempt);
    this._stop();
    this._next();
  };

  proto._opened = function () {
    var memory = this._memory, failed = memory.failed || {}, i;
    clearTimeout(this._timer);
    this.readyState = OPEN;
    this.transport = this._attempt;
    if (this._options.remember) {
      for (i = 0; i < this._failed.length; i++) { failed[this._failed[i]] = now(); }
      delete failed[this.transport];
      memory.failed = failed;
      memory.ok = this.transport;
      memorize(this._target.base, memory);
    }
    this._alive();
    if (this._tr && this._tr.raw) { this._resumeOffered = false; this._unacked = []; } // no SockJS framing: no resume
    if (this._resumeOffered && !this._cid) {
      // Its id follows the open frame; a server whose transport cannot resume never
      // sends one, and then there is nothing to keep.
      var self = this;
      this._cidTimer = later(function () { if (!self._cid) { self._resumeOffered = false; self._unacked = []; } }, this._timeout);
    }
    if (this._reconnecting) {
      // A new connection after a server restart: the page's socket stayed open.
      this._reconnecting = false;
      this._waiting = {};
      this._resubscribe();
      this._emit("reconnect", { transport: this.transport });
      return this._flush();
    }
    this._emit("open");
    var early = this._early || [];
    this._early = null;
    for (var i = 0; i < early.length && this.readyState == OPEN; i++) { this.send(early[i]); }
  };

  // A frame from the current transport: o(pen), h(eartbeat), a[rray of messages],
  // c(lose), and on resumable connections r{control}: its id, a resume's outcome, acks.
  proto._frame = function (tr, frame) {
    if (tr !== this._tr) { return; }
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
    for (var i = 0; i < messages.length && tr === this._tr && this.readyState == OPEN; i++) {
      this._rx++;
      if (!this._envelope(messages[i])) {
        this._emit("message", { data: messages[i], origin: this._target.origin, lastEventId: "" });
      }
    }
    if (!this._cid) { return; }
    if (this._rx - this._toldRx >= 32) { return this._flush(); }
    // A few owed and nothing to send: acknowledge them a little later, in one request.
    var self = this;
    if (!this._ackTimer) {
      this._ackTimer = later(function () { self._ackTimer = null; self._ackNow = true; self._flush(); }, 2000);
    }
  };

  proto._control = function (body) {
    var o = this._options, resuming = this._resuming;
    if (body.cid && !this._cid && !resuming && o.resume) {
      this._cid = String(body.cid); // a new resumable connection
      clearTimeout(this._cidTimer);
    }
    if (typeof body.ack == "number") { this._acked(body.ack); }
    if (body.resumed === true && resuming) {
      if (body.cid) { this._cid = String(body.cid); } // a fresh id after every resume: the old one is void
      clearTimeout(this._timer);
      this._resuming = false;
      this._attempts = 0;
      this._lostAt = 0; // this loss is over: the next one gets the whole grace period
      // Everything the server did not get goes again, before anything newer.
      this._acked(body.seen);
      this._queue = this._unacked.slice();
      this._alive();
      this._emit("resume", { transport: this.transport });
      this._flush();
    }
  };

  // The server has received `count` of our messages in all.
  proto._acked = function (count) {
    var drop = count - (this._serverGot || 0);
    if (drop > 0) { this._unacked.splice(0, drop); this._serverGot = count; }
  };

  proto._closed = function (code, reason) {
    // Reconnecting after a restart, we may still reach a server on its way out (1012) or
    // one that is full (1013): try again, as long as a resume would have been allowed.
    if (this._reconnecting && (code == 1012 || code == 1013)) { return this._retryRestart(code, reason); }
    if (this._cid && this.readyState == OPEN) {
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
  proto._end = function (tr) {
    if (tr !== this._tr) { return; }
    if (this.readyState == CONNECTING || this._reconnecting) { return this._abandon(); }
    this._lost("Connection lost");
  };

  proto._lost = function (reason) {
    if (this._resuming) { return this._retry(); }
    if (this._cid && this.readyState == OPEN) { return this._resume(); }
    this._finish(1006, reason, false, true);
  };

  // Reconnect on a new SockJS session that carries fb_resume=<id>.<received>.<attempt>:
  // attempts are numbered for the life of the socket, so that the server can tell an old
  // one the network held up from the latest.
  proto._resume = function () {
    var self = this;
    this._stop();
    this._resuming = true;
    if (!this._lostAt) { this._lostAt = now(); }
    if (now() - this._lostAt > this._grace) {
      return this._finish(3009, "Resume grace period expired", false, true);
    }
    var o = this._options, n = this._attempts = (this._attempts || 0) + 1;
    var delay = Math.min(o.maxReconnectDelay, o.reconnectDelay * Math.pow(2, n - 1)) * (0.5 + Math.random());
    this._timer = later(function () {
      if (self.readyState != OPEN || !self._resuming) { return; }
      // After a few failures on this transport, try the others the plan allowed.
      var names = n > 3 && self._candidatesAll.length ? self._candidatesAll : [self.transport];
      var name = names[(n - 1) % names.length];
      self.transport = name;
      self._tries = (self._tries || 0) + 1;
      var url = self._sessionUrl(self._resumeArgument());
      self._timer = later(function () { self._retry(); }, self._timeout);
      self._url = url;
      try { self._tr = TRANSPORTS[name](self, url, self._env); } catch (e) { self._retry(); }
    }, delay);
  };

  proto._retry = function () {
    if (this.readyState == OPEN && this._resuming) { this._resume(); }
  };

  proto._retryRestart = function (code, reason) {
    var self = this, n = this._attempts = (this._attempts || 0) + 1, o = this._options;
    this._stop();
    if (now() - this._restartAt > this._grace) { return this._finish(code, reason, true); }
    this._timer = later(function () {
      self._candidates = self._candidatesAll.slice();
      self._next();
    }, Math.min(o.maxReconnectDelay, o.reconnectDelay * Math.pow(2, n - 1)) * (0.5 + Math.random()));
  };

  proto._restart = function () {
    this._restartAt = now();
    this._attempts = 0;
    this._lostAt = 0;
    this._stop();
    this._cid = null;
    this._rx = this._toldRx = 0;
    this._serverGot = 0;
    this._queue = this._unacked.slice();
    this._unacked = [];
    this._resuming = false;
    this._reconnecting = true; // the page's socket stays OPEN meanwhile
    this._failed = [];
    this._candidates = this._candidatesAll.slice();
    this._next();
  };

  // The watchdog works from the clock, not from timer counts: a background tab's timers
  // run late, and a late timer is not a silent network. When it fires later than it was
  // meant to (throttled, or the machine slept), it looks again a moment after, which
  // gives frames the browser was holding back their chance to arrive first.
  // How long a transport may stay silent (or a send take) before it counts as lost; 0: never.
  proto._limit = function () {
    var ms = this._options.heartbeatTimeout;
    return ms === null || ms === undefined ? (this._heartbeat ? 1.5 * this._heartbeat + 2000 : 60000) : ms;
  };
  proto._alive = function () {
    var self = this, ms = this._limit();
    this._lastFrame = now();
    clearTimeout(this._watchdog);
    if (!ms || !this._tr || this._tr.raw || this.readyState != OPEN || this._resuming) { return; }
    function watch(delay) {
      var due = now() + delay;
      self._watchdog = later(function () {
        var silent = now() - self._lastFrame;
        if (silent < ms) { return watch(ms - silent); }
        if (now() - due > 1000) { return watch(1500); } // fired late: look again in a moment
        self._lost("No heartbeat");
      }, delay);
    }
    watch(ms);
  };

  proto._stop = function (code, reason) {
    var tr = this._tr;
    this._tr = null;
    this._endSend();
    clearTimeout(this._timer);
    clearTimeout(this._watchdog);
    if (this._abortInfo) { this._abortInfo(); this._abortInfo = null; }
    if (tr) { tr.close(code, reason); }
  };

  proto._finish = function (code, reason, wasClean, error) {
    if (this.readyState == CLOSED) { return; }
    this._stop();
    this.readyState = CLOSED;
    this._resuming = this._reconnecting = false;
    this._queue = [];
    this._unacked = [];
    var at = indexOf(live, this);
    if (at >= 0) { live.splice(at, 1); }
    if (error) { this._emit("error"); }
    this._emit("close", { code: code, reason: reason || "", wasClean: !!wasClean });
  };


  // -- channels (the envelope protocol of a fallback channel server) ----------------------

  /**
   * sock.subscribe(channel, handler, {token, onjoin, onleave, onerror, onsubscribe}):
   * handler(data) for each message published to `channel`; presence channels also call
   * onjoin(member) and onleave(member). Subscriptions are made again by themselves when the
   * socket reconnects to another server. Returns {unsubscribe, publish, presence}.
   */
  proto.subscribe = function (channel, handler, options) {
    var self = this, subs = this._subs || (this._subs = {});
    var sub = subs[channel] = { handler: handler || noop, options: options || {} };
    this._channelRequest("subscribe", { channel: channel, token: sub.options.token }, function (answer) {
      if (subs[channel] !== sub) { return; }
      if (answer.op == "error") {
        delete subs[channel];
        return (sub.options.onerror || noop)(answer);
      }
      (sub.options.onsubscribe || noop)(answer);
    });
    return {
      unsubscribe: function () { self.unsubscribe(channel); },
      publish: function (data, done) { self.publish(channel, data, done); },
      presence: function (done) { self.presence(channel, done); }
    };
  };
  proto.unsubscribe = function (channel, done) {
    if (this._subs) { delete this._subs[channel]; }
    this._channelRequest("unsubscribe", { channel: channel }, done);
  };
  /** Publish to a channel browsers may publish to; done(answer) gets ok or error. */
  proto.publish = function (channel, data, done) {
    this._channelRequest("publish", { channel: channel, data: data }, done);
  };
  /** done(members) for a presence channel this socket subscribed to (or done(null, error)). */
  proto.presence = function (channel, done) {
    this._channelRequest("presence", { channel: channel }, function (answer) {
      if (done) { done(answer.op == "ok" ? answer.presence : null, answer); }
    });
  };
  /** Hand an event to the application's backend (its trigger hook or webhook). */
  proto.trigger = function (event, data, done) {
    this._channelRequest("trigger", { event: event, data: data }, done);
  };

  proto._channelRequest = function (op, fields, done) {
    var id = this._nextRequest = (this._nextRequest || 0) + 1, body = { v: 1, op: op, id: id };
    for (var key in fields) { if (fields[key] !== undefined) { body[key] = fields[key]; } }
    (this._waiting || (this._waiting = {}))[id] = done || noop;
    var text = JSON_.stringify(body);
    if (this.readyState == CONNECTING) { (this._early || (this._early = [])).push(text); } else { this.send(text); }
  };

  // An envelope from the server, or false when the message is not one (then it is an
  // ordinary message event).
  proto._envelope = function (text) {
    var e, waiting = this._waiting, subs = this._subs || {}, sub;
    if (!waiting || text.charAt(0) != "{") { return false; }
    try { e = parse(text); } catch (error) { return false; }
    if (!e || e.v !== 1 || typeof e.op != "string") { return false; }
    if ((e.op == "ok" || e.op == "error") && waiting[e.id]) {
      var done = waiting[e.id];
      delete waiting[e.id];
      done(e);
    } else if (e.op == "message" && (sub = subs[e.channel])) {
      sub.handler(e.data, e);
    } else if ((e.op == "join" || e.op == "leave") && (sub = subs[e.channel])) {
      (sub.options["on" + e.op] || noop)(e.member, e);
    } else {
      return false;
    }
    return true;
  };

  // A new server-side connection (after 1012): what this socket had subscribed, again.
  proto._resubscribe = function () {
    var subs = this._subs || {}, channel;
    this._subs = {};
    for (channel in subs) { this.subscribe(channel, subs[channel].handler, subs[channel].options); }
  };

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
  var live = [];
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
