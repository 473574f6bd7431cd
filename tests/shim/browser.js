// A fake browser for unit tests of the shipped fallback.js in Node: the real file runs in
// a vm context whose clock, timers, XMLHttpRequest, WebSocket, EventSource and DOM are
// fakes the test drives. Time only moves when the test says (`advance`), so timing rules
// (grace periods, watchdogs, back-off) are tested exactly, with no waiting.
//
//   const b = new FakeBrowser({ location: "http://example.test/page" });
//   const sock = b.socket("http://example.test/echo", { transports: ["websocket"] });
//   b.runPending();                 // the shim starts on a timer: /info is asked for
//   b.xhr(0).answer(200, JSON.stringify(info));
//   const ws = b.websockets[0]; ws.receive("o"); ...
//
// With `parts: true` the file's inner parts are there too (`b.parts.Ledger`, ...: see PARTS).
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const SHIM = path.join(__dirname, "..", "..", "fallback", "static", "fallback.js");
const SOURCE = fs.readFileSync(SHIM, "utf8");

// The parts of the file that its unit tests call directly. The shipped file exports none of
// them: `new FakeBrowser({ parts: true })` loads it with one line added before its end,
// `window.__parts = {quote: quote, ...}`, and hands them out as `browser.parts`.
const PARTS = [
  "quote", "encode", "unescapeEvent", "lines", "utf8Length", "randomString", "parseUrl",
  "withQuery", "sessionUrl", "names", "backoff", "heartbeatLimit", "openTimeout",
  "attemptTimeout", "recheck", "chooseTransports", "Plan", "Ledger", "channels", "watchdog",
  "bytesOf", "toBase64", "fromBase64",
];
const END = "})(window, document);";
function withParts(source) {
  const at = source.lastIndexOf(END);
  if (at < 0) { throw new Error("fallback.js no longer ends with " + END); }
  const exported = PARTS.map((name) => name + ": " + name).join(", ");
  return source.slice(0, at) + "  window.__parts = { " + exported + " };\n" + source.slice(at);
}

class Clock {
  constructor(start) {
    this.now = start;
    this.timers = new Map();
    this.nextId = 1;
  }
  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + Math.max(0, ms || 0), fn, order: id });
    return id;
  }
  clearTimeout(id) { this.timers.delete(id); }
  // Run every timer due by now + ms, in time order, moving the clock to each as it fires.
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) {
        if (t.at <= until && (!next || t.at < next[1].at || (t.at == next[1].at && t.order < next[1].order))) { next = [id, t]; }
      }
      if (!next) { break; }
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
    }
    this.now = until;
  }
  // Move the clock without running timers: a throttled tab or a machine that slept.
  jump(ms) { this.now += ms; }
  pending() { return this.timers.size; }
}

class FakeXHR {
  constructor(browser) {
    this.browser = browser;
    this.readyState = 0;
    this.status = 0;
    this.responseText = "";
    this.headers = {};
    this.aborted = false;
    this.withCredentials = false;
    browser.requests.push(this);
  }
  open(method, url) { this.method = method; this.url = url; this.readyState = 1; }
  setRequestHeader(name, value) { this.headers[name] = value; }
  send(body) { this.body = body; this.sent = true; }
  abort() { this.aborted = true; }
  // Test side: the body so far (a streaming response grows), then the end.
  progress(text) {
    this.responseText += text;
    this.readyState = 3;
    if (this.onreadystatechange) { this.onreadystatechange(); }
  }
  answer(status, text) {
    if (text) { this.responseText += text; this.readyState = 3; if (this.onreadystatechange) { this.onreadystatechange(); } }
    this.status = status;
    this.readyState = 4;
    if (this.onreadystatechange) { this.onreadystatechange(); }
  }
  fail() { this.answer(0, ""); }
  get path() { return new URL(this.url).pathname; }
  get query() { return new URL(this.url).searchParams; }
}

class FakeWebSocket {
  constructor(browser, url) {
    this.browser = browser;
    this.url = url;
    this.sent = [];
    this.closed = null;
    browser.websockets.push(this);
  }
  send(data) { if (this.closed) { throw new Error("closed"); } this.sent.push(data); }
  close(code, reason) { this.closed = [code, reason]; }
  receive(frame) { if (this.onmessage) { this.onmessage({ data: frame }); } }
  drop() { this.closed = [1006, ""]; if (this.onclose) { this.onclose({ code: 1006 }); } }
  get query() { return new URL(this.url.replace(/^ws/, "http")).searchParams; }
}

// fetch() with a body stream: the test pushes chunks (`push`), ends (`end`) or breaks
// (`fail`) the response. Promises settle on the microtask queue: `await settle()`.
class FakeFetch {
  constructor(browser, url, init) {
    this.browser = browser;
    this.url = url;
    this.init = init;
    this.aborted = false;
    this.chunks = [];
    this.waiting = null;
    this.ended = false;
    this.error = null;
    browser.fetches.push(this);
    this.response = new Promise((resolve, reject) => { this._respond = resolve; this._refuse = reject; });
    init.signal.addEventListener("abort", () => { this.aborted = true; this.fail(); });
  }
  answer(status) {
    const self = this;
    const reader = {
      read() {
        if (self.chunks.length) { return Promise.resolve({ done: false, value: self.chunks.shift() }); }
        if (self.error) { return Promise.reject(self.error); }
        if (self.ended) { return Promise.resolve({ done: true, value: undefined }); }
        return new Promise((resolve, reject) => { self.waiting = { resolve, reject }; });
      },
    };
    this._respond({ ok: status >= 200 && status < 300, status, body: { getReader: () => reader } });
  }
  _wake() {
    const waiting = this.waiting;
    if (!waiting) { return; }
    this.waiting = null;
    if (this.chunks.length) { waiting.resolve({ done: false, value: this.chunks.shift() }); }
    else if (this.error) { waiting.reject(this.error); }
    else if (this.ended) { waiting.resolve({ done: true, value: undefined }); }
  }
  push(data) { this.chunks.push(typeof data == "string" ? new TextEncoder().encode(data) : data); this._wake(); }
  end() { this.ended = true; this._wake(); }
  fail() { this.error = new TypeError("network error"); this._refuse(this.error); this._wake(); }
  get path() { return new URL(this.url).pathname; }
  get query() { return new URL(this.url).searchParams; }
}

/** Let every settled promise run its callbacks. */
function settle() { return new Promise((resolve) => setImmediate(resolve)); }

class FakeEventSource {
  constructor(browser, url) {
    this.browser = browser;
    this.url = url;
    this.closed = false;
    browser.eventsources.push(this);
  }
  close() { this.closed = true; }
  receive(data) { if (this.onmessage) { this.onmessage({ data }); } }
  error() { if (this.onerror) { this.onerror({}); } }
  get query() { return new URL(this.url).searchParams; }
}

class Element {
  constructor(browser, tag) {
    this.browser = browser;
    this.tagName = tag.toUpperCase();
    this.style = {};
    this.children = [];
    this.parentNode = null;
    this.listeners = {};
    this._href = "";
  }
  set href(value) { this._href = new URL(value, this.browser.location.href).href; }
  get href() { return this._href; }
  setAttribute(name, value) { this[name] = value; }
  getAttribute() { return null; }
  appendChild(child) {
    child.parentNode = this;
    this.children.push(child);
    this.browser.appended.push(child);
    return child;
  }
  removeChild(child) { this.children = this.children.filter((c) => c !== child); child.parentNode = null; }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(type) { for (const fn of this.listeners[type] || []) { fn({ type }); } }
  submit() { this.submitted = true; }
}

class FakeBrowser {
  constructor(options = {}) {
    const o = Object.assign({ location: "http://example.test/page", start: 1700000000000 }, options);
    this.clock = new Clock(o.start);
    this.requests = [];
    this.websockets = [];
    this.eventsources = [];
    this.fetches = [];
    this.appended = [];
    this.errors = [];
    this.beacons = [];
    const url = new URL(o.location);
    this.location = { href: url.href, protocol: url.protocol, host: url.host };
    const browser = this;
    const clock = this.clock;
    let seed = o.seed || 1;
    const RealDate = Date;
    class FakeDate extends RealDate {
      constructor(...args) { if (args.length) { super(...args); } else { super(clock.now); } }
      static now() { return clock.now; }
    }
    const math = Object.create(Math);
    // A seeded generator: the back-off jitter is the same on every run.
    math.random = () => { seed = (seed * 16807) % 2147483647; return (seed - 1) / 2147483646; };
    const storage = new Map();
    const document = {
      body: null,
      documentElement: null,
      currentScript: null,
      createElement: (tag) => {
        if (tag.charAt(0) == "<") { throw new Error("not old IE"); }
        return new Element(browser, tag);
      },
      getElementsByTagName: (tag) => (tag == "head" ? [document.head] : []),
    };
    document.body = new Element(browser, "body");
    document.head = new Element(browser, "head");
    document.documentElement = new Element(browser, "html");
    const window = {
      location: this.location,
      navigator: {
        sendBeacon: (url, body) => { browser.beacons.push({ url, body }); return true; },
      },
      localStorage: {
        getItem: (k) => (storage.has(k) ? storage.get(k) : null),
        setItem: (k, v) => storage.set(k, String(v)),
        removeItem: (k) => storage.delete(k),
      },
      JSON,
      XMLHttpRequest: function () { return new FakeXHR(browser); },
      WebSocket: o.websocket === false ? undefined : function (url) { return new FakeWebSocket(browser, url); },
      EventSource: o.eventsource === false ? undefined : function (url) { return new FakeEventSource(browser, url); },
      addEventListener: (type, fn) => { (browser.windowListeners[type] = browser.windowListeners[type] || []).push(fn); },
      removeEventListener: (type, fn) => { browser.windowListeners[type] = (browser.windowListeners[type] || []).filter((f) => f !== fn); },
      DOMException: undefined,
    };
    if (o.fetch) {
      window.fetch = (url, init) => new FakeFetch(browser, url, init).response;
      window.ReadableStream = function () {};
      window.TextDecoder = TextDecoder;
      window.AbortController = AbortController;
      window.Uint8Array = Uint8Array;
    }
    if (o.binary !== false) {
      // Typed arrays and base64: what binary messages need (`binary: false`: IE 9 and older).
      Object.assign(window, { Uint8Array, ArrayBuffer, atob, btoa });
    }
    window.XMLHttpRequest.prototype.withCredentials = false; // XHR2: CORS capable
    if (window.EventSource) { window.EventSource.prototype.withCredentials = false; }
    this.windowListeners = {};
    const context = {
      window,
      document,
      navigator: window.navigator,
      Date: FakeDate,
      Math: math,
      setTimeout: (fn, ms) => clock.setTimeout(() => {
        try { fn(); } catch (error) { browser.errors.push(error); }
      }, ms),
      clearTimeout: (id) => clock.clearTimeout(id),
      decodeURI,
      encodeURIComponent,
    };
    window.setTimeout = context.setTimeout;
    window.clearTimeout = context.clearTimeout;
    vm.createContext(context);
    vm.runInContext(o.parts ? withParts(SOURCE) : SOURCE, context, { filename: SHIM });
    this.window = window;
    this.FallbackSocket = window.FallbackSocket;
    this.parts = window.__parts;
  }

  /** A message posted to the window (postMessage) by `source`. */
  postMessage(source, data) {
    for (const fn of (this.windowListeners.message || []).slice()) { fn({ source, data }); }
  }

  advance(ms) { this.clock.advance(ms); }
  runPending() { this.clock.advance(0); }

  /** A socket whose events are recorded in `sock.log`. */
  socket(url, options) {
    const sock = new this.FallbackSocket(url, options);
    sock.log = [];
    sock.received = [];
    for (const type of ["open", "close", "error", "resume", "reconnect"]) {
      sock.addEventListener(type, (e) => sock.log.push(type == "close" ? ["close", e.code, e.reason] : [type]));
    }
    sock.addEventListener("message", (e) => sock.received.push(e.data));
    return sock;
  }

  /** Requests not yet answered whose path ends with `suffix`. */
  pendingRequests(suffix) {
    return this.requests.filter((x) => x.url && x.readyState < 4 && !x.aborted && x.path.endsWith(suffix));
  }

  /** Answer the shim's /info request. */
  answerInfo(info) {
    const request = this.pendingRequests("/info")[0];
    if (!request) { throw new Error("no /info request pending"); }
    request.answer(200, JSON.stringify(info));
  }
}

/** The callbacks an htmlfile iframe (or a JSONP script) calls: window._fallbackjs[<id>]. */
function callbackOf(browser, element) {
  const name = new URL(element.src).searchParams.get("c");
  return browser.window._fallbackjs[name.split(".")[1]];
}

/** The scripts and frames appended for the receiving requests of `kind` ("jsonp", ...). */
function frames(browser, kind) {
  return browser.appended.filter((e) => e.src && new URL(e.src).pathname.endsWith("/" + kind));
}

/** What a fallback server answers to /info (resume offered). */
function info(overrides) {
  return Object.assign({
    websocket: true, cookie_needed: false, origins: ["*:*"], entropy: 1,
    heartbeat_delay: 25, resume: { v: 1, grace: 60 }, send_signal: { v: 1 },
  }, overrides || {});
}

module.exports = { FakeBrowser, callbackOf, frames, info, settle, SHIM };
