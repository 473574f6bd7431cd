// Node's `ws` (npm ws 8, the common WebSocket server of Node.js), serving the benchmark's
// two services without SockJS framing, as bench/raw_peers.py does for the Python peers:
//
//   node bench/ws_node.js PORT   -> prints "listening" once bound to 127.0.0.1:PORT
//
// /echo answers each message with itself; /broadcast sends each message to every client
// of that path (a send per client: ws has no broadcast of its own). Compression off, as
// for every other server in the run.
"use strict";
var http = require("http");
var path = require("path");
var WebSocket = require(path.join(__dirname, "node_modules", "ws"));

var echo = new WebSocket.WebSocketServer({ noServer: true, perMessageDeflate: false });
echo.on("connection", function (ws) {
  ws.on("message", function (data, isBinary) { ws.send(data, { binary: isBinary }); });
});

var broadcast = new WebSocket.WebSocketServer({ noServer: true, perMessageDeflate: false });
broadcast.on("connection", function (ws) {
  ws.on("message", function (data, isBinary) {
    broadcast.clients.forEach(function (client) { client.send(data, { binary: isBinary }); });
  });
});

var server = http.createServer();
server.on("upgrade", function (request, socket, head) {
  var target = request.url == "/broadcast" ? broadcast : request.url == "/echo" ? echo : null;
  if (!target) { socket.destroy(); return; }
  target.handleUpgrade(request, socket, head, function (ws) { target.emit("connection", ws, request); });
});
server.listen(Number(process.argv[2]), "127.0.0.1", 4096, function () {
  process.stdout.write("listening\n");
});
