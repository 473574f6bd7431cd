// Test stand-in for web-socket-js's web_socket.js. Chromium has no Flash, so the "Flash
// object" here is JavaScript over the native WebSocket the init script saved as
// window.__NativeWebSocket. What matters is kept from the real library's shape: it only
// installs when window.WebSocket is missing or WEB_SOCKET_FORCE_FLASH is set, marks itself
// with __isFlashImplementation, embeds WEB_SOCKET_SWF_LOCATION, and the "Flash" side calls
// back through the global name (WebSocket.__onFlashInitialized, WebSocket.__onFlashEvent),
// as ExternalInterface does -- so drop-in mode must keep those statics working.
(function () {
  if (!window.WEB_SOCKET_FORCE_FLASH && window.WebSocket) { return; }
  var Native = window.__NativeWebSocket;

  window.WebSocket = function (url) {
    var self = this;
    self.__id = WebSocket.__nextId++;
    WebSocket.__instances[self.__id] = self;
    self.readyState = WebSocket.CONNECTING;
    setTimeout(function () {
      WebSocket.__addTask(function () { WebSocket.__flash.create(self.__id, url); });
    }, 0);
  };
  WebSocket.prototype.send = function (data) {
    return WebSocket.__flash.send(this.__id, encodeURIComponent(data));
  };
  WebSocket.prototype.close = function () {
    this.readyState = WebSocket.CLOSING;
    WebSocket.__flash.close(this.__id);
  };
  WebSocket.prototype.__handleEvent = function (event) {
    this.readyState = event.readyState;
    var handler = this["on" + event.type];
    if (event.type == "message") { event = { type: "message", data: decodeURIComponent(event.message) }; }
    if (handler) { handler.call(this, event); }
  };
  WebSocket.CONNECTING = 0; WebSocket.OPEN = 1; WebSocket.CLOSING = 2; WebSocket.CLOSED = 3;
  WebSocket.__isFlashImplementation = true;
  WebSocket.__initialized = false;
  WebSocket.__flash = null;
  WebSocket.__instances = {};
  WebSocket.__tasks = [];
  WebSocket.__nextId = 0;
  WebSocket.__addTask = function (task) {
    if (WebSocket.__flash) { task(); } else { WebSocket.__tasks.push(task); }
  };
  WebSocket.__initialize = function () {
    if (WebSocket.__initialized) { return; }
    WebSocket.__initialized = true;
    swfobject.embedSWF(WEB_SOCKET_SWF_LOCATION, "webSocketFlash", "1", "1", "10.0.0");
    // The SWF loads, then calls JavaScript by global name.
    setTimeout(function () { window.WebSocket.__onFlashInitialized(); }, 20);
  };
  WebSocket.__onFlashInitialized = function () {
    setTimeout(function () {
      WebSocket.__flash = fakeFlash();
      for (var i = 0; i < WebSocket.__tasks.length; i++) { WebSocket.__tasks[i](); }
      WebSocket.__tasks = [];
    }, 0);
  };
  WebSocket.__onFlashEvent = function () {
    setTimeout(function () {
      var events = WebSocket.__flash.receiveEvents();
      for (var i = 0; i < events.length; i++) {
        WebSocket.__instances[events[i].webSocketId].__handleEvent(events[i]);
      }
    }, 0);
    return true;
  };

  function fakeFlash() {
    var sockets = {}, queue = [];
    function push(id, event) {
      event.webSocketId = id;
      queue.push(event);
      window.WebSocket.__onFlashEvent();
    }
    return {
      create: function (id, url) {
        window.__flashUrls = (window.__flashUrls || []).concat([url]);
        var ws = sockets[id] = new Native(url);
        ws.onopen = function () { push(id, { type: "open", readyState: 1 }); };
        ws.onmessage = function (e) { push(id, { type: "message", readyState: 1, message: encodeURIComponent(e.data) }); };
        ws.onclose = function (e) { push(id, { type: "close", readyState: 3, code: e.code, reason: e.reason, wasClean: e.wasClean }); };
      },
      send: function (id, data) { sockets[id].send(decodeURIComponent(data)); return -1; },
      close: function (id) { sockets[id].close(); },
      receiveEvents: function () { var out = queue; queue = []; return out; }
    };
  }

  swfobject.addDomLoadEvent(function () { WebSocket.__initialize(); });
})();
