// Test stand-in for swfobject.js: enough of its API for web_socket.js (the stub next door).
window.swfobject = {
  loadedBy: "fallback.js",
  getFlashPlayerVersion: function () { return { major: 11, minor: 0, release: 0 }; },
  addDomLoadEvent: function (fn) { setTimeout(fn, 0); },
  embedSWF: function (url) { window.__embeddedSwf = url; }
};
