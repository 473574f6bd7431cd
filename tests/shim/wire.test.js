// fallback.js's pure helpers for what goes on the wire: escaping and encoding sends, reading
// EventSource data and streamed bodies, URLs and session addresses, transport names.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { FakeBrowser } = require("./browser");

const parts = new FakeBrowser({ parts: true }).parts;
// Values made inside the fake browser's realm, as plain Node values (deepStrictEqual
// compares prototypes, and each realm has its own Array and Object).
const plain = (value) => JSON.parse(JSON.stringify(value));

test("quote escapes what browsers and proxies mangle, and JSON reads back every code unit", () => {
  const { quote } = parts;
  assert.strictEqual(quote('a"b\\c'), '"a\\"b\\\\c"');
  assert.strictEqual(quote("\u0000\n\u001f"), '"\\u0000\\u000a\\u001f"');
  assert.strictEqual(quote("\u2028\u2029\u200c\u2060\ufff0\uffff"), '"\\u2028\\u2029\\u200c\\u2060\\ufff0\\uffff"');
  assert.strictEqual(quote("\ud83d\ude00"), '"\\ud83d\\ude00"'); // surrogates, paired or not
  assert.strictEqual(quote("\ud800"), '"\\ud800"');
  assert.strictEqual(quote("é€ \u007f~"), '"é€ \u007f~"'); // the rest goes as it is
  let all = "";
  for (let c = 0; c < 0x10000; c++) { all += String.fromCharCode(c); }
  assert.strictEqual(JSON.parse(quote(all)), all);
  assert.strictEqual(JSON.parse(quote(all, true)), all);
});

test("quote's ASCII variant (form posts) leaves only printable ASCII", () => {
  const quoted = parts.quote("é\u007f \"~\ud83d\ude00", true);
  assert.strictEqual(quoted, '"\\u00e9\\u007f \\"~\\ud83d\\ude00"');
  assert.match(quoted, /^[\x20-\x7e]*$/);
});

test("encode writes the messages and the resume controls of one send", () => {
  const { encode } = parts;
  assert.strictEqual(encode([]), "[]");
  assert.strictEqual(encode(["a", "\u2028"]), '["a","\\u2028"]');
  assert.strictEqual(encode([{ seq: 3 }, "a", "b", { ack: 7 }]), '[{"seq":3},"a","b",{"ack":7}]');
  assert.strictEqual(encode([{ seq: 0 }]), '[{"seq":0}]');
  assert.strictEqual(encode([{ close: [1001, 'Page "closed"'] }]), '[{"close":[1001,"Page \\"closed\\""]}]');
  assert.strictEqual(encode([{ close: [3000, "é"] }], true), '[{"close":[3000,"\\u00e9"]}]');
  assert.deepStrictEqual(JSON.parse(encode([{ seq: 1 }, "x\u0000y", { ack: 2 }])), [{ seq: 1 }, "x\u0000y", { ack: 2 }]);
});

test("EventSource data is percent-decoded only when it was percent-escaped", () => {
  const { unescapeEvent } = parts;
  assert.strictEqual(unescapeEvent('a["x"]'), 'a["x"]');
  assert.strictEqual(unescapeEvent('a["%25 %0A %0D %00"]'), 'a["% \n \r \u0000"]');
  assert.strictEqual(unescapeEvent('a["%E2%82%AC"]'), 'a["€"]');
  assert.strictEqual(unescapeEvent('a["100%"]'), 'a["100%"]'); // decodeURI would throw
  assert.strictEqual(unescapeEvent('a["%E0%A4"]'), 'a["%E0%A4"]');
});

test("a growing body is read line by line, each complete line once", () => {
  const got = [];
  const read = parts.lines((line) => got.push(line));
  read("h\no");
  assert.deepStrictEqual(got, ["h"]);
  read("h\no\na[\"x");
  assert.deepStrictEqual(got, ["h", "o"]);
  read("h\no\na[\"x\"]\n\n\nc[3000,\"Go away!\"]\n");
  assert.deepStrictEqual(got, ["h", "o", 'a["x"]', 'c[3000,"Go away!"]']); // empty lines skipped
  read("h\no\na[\"x\"]\n\n\nc[3000,\"Go away!\"]\n");
  assert.strictEqual(got.length, 4);
});

test("utf8Length counts UTF-8 bytes, and a lone surrogate as too long", () => {
  const { utf8Length } = parts;
  assert.strictEqual(utf8Length("abc"), 3);
  assert.strictEqual(utf8Length("é"), 2);
  assert.strictEqual(utf8Length("€"), 3);
  assert.strictEqual(utf8Length("\ud83d\ude00"), 4);
  assert.strictEqual(utf8Length("\ud800"), Infinity);
});

test("random strings take crypto's bytes, skipping those that would favour a character", () => {
  const b = new FakeBrowser({ parts: true });
  let fills = 0;
  b.window.crypto = {
    getRandomValues(bytes) {
      fills++;
      // 36 characters: bytes from 252 up would make the first four likelier; they are skipped.
      const pattern = [0, 252, 35, 255, 36, 251, 253, 71];
      for (let i = 0; i < bytes.length; i++) { bytes[i] = pattern[i % pattern.length]; }
      return bytes;
    },
  };
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  assert.strictEqual(b.parts.randomString(5, chars), "a9a99"); // 0, 35, 36 % 36, 251 % 36, 71 % 36
  assert.strictEqual(fills, 1);
  // Without crypto (IE 10 and older): Math.random, still only characters of the set.
  delete b.window.crypto;
  const s = b.parts.randomString(200, "01");
  assert.match(s, /^[01]{200}$/);
});

test("parseUrl maps a service URL, or its raw WebSocket URL, to its parts", () => {
  const b = new FakeBrowser({ parts: true, location: "https://page.test/app/index.html" });
  const { parseUrl } = b.parts;
  assert.deepStrictEqual(plain(parseUrl("http://example.test:80/echo/")), {
    scheme: "http:", origin: "http://example.test", base: "http://example.test/echo", query: "",
  });
  assert.deepStrictEqual(plain(parseUrl("wss://example.test:443/chat/websocket?token=a&b=c#x")), {
    scheme: "https:", origin: "https://example.test", base: "https://example.test/chat", query: "?token=a&b=c",
  });
  assert.strictEqual(parseUrl("ws://example.test:8080/websocket").base, "http://example.test:8080");
  assert.strictEqual(parseUrl("HTTPS://Example.test:8443/x").origin, "https://example.test:8443");
  assert.strictEqual(parseUrl("/echo").base, "https://page.test/echo"); // relative: the page's
  assert.strictEqual(parseUrl("echo").base, "https://page.test/app/echo");
  assert.throws(() => parseUrl("ftp://example.test/x"), (e) => e.name == "SyntaxError" && /fallback\.js: cannot connect to ftp:/.test(e.message));
});

test("a session URL is the base, a 3-digit server and a 24-character session", () => {
  const { parseUrl, sessionUrl, withQuery } = parts;
  assert.strictEqual(withQuery("", "a=1"), "?a=1");
  assert.strictEqual(withQuery("?t=x", "a=1"), "?t=x&a=1");
  const target = parseUrl("http://example.test/echo?token=t");
  const plainOne = sessionUrl(target, "");
  assert.match(plainOne.session, /^http:\/\/example\.test\/echo\/[0-9]{3}\/[a-z0-9]{24}$/);
  assert.strictEqual(plainOne.query, "?token=t");
  assert.strictEqual(plainOne.base, "http://example.test/echo");
  assert.strictEqual(sessionUrl(target, "fb_resume=1").query, "?token=t&fb_resume=1");
  assert.notStrictEqual(sessionUrl(target, "").session, plainOne.session);
});

test("transport names come from lists or comma strings, trimmed, with their aliases resolved", () => {
  const { names } = parts;
  assert.strictEqual(names(null), null);
  assert.deepStrictEqual(plain(names(" xhr-polling , iframe-htmlfile,websocket")), ["xhr", "htmlfile", "websocket"]);
  assert.deepStrictEqual(plain(names(["jsonp-polling", "flashsocket", "xhr-streaming", "iframe-eventsource"])),
    ["jsonp", "flash", "xhr_streaming", "eventsource"]);
  assert.deepStrictEqual(plain(names(["carrier-pigeon"])), ["carrier-pigeon"]);
});
