// Test harness for pages that drive fallback.js: records what a socket did, for Playwright
// to read back (window.events, window.received) and wait on.
window.events = [];
window.received = [];
window.openSocket = function (url, options) {
  var sock = new FallbackSocket(url, options);
  window.sock = sock;
  watch(sock);
  return sock.url;
};
function watch(sock) {
  var started = Date.now();
  sock.onopen = function () {
    window.events.push({ type: "open", transport: sock.transport, ms: Date.now() - started });
  };
  sock.onmessage = function (e) { window.received.push(e.data); };
  sock.onerror = function () { window.events.push({ type: "error" }); };
  sock.onclose = function (e) {
    window.events.push({ type: "close", code: e.code, reason: e.reason, wasClean: e.wasClean,
                         ms: Date.now() - started });
  };
}
window.watch = watch;
