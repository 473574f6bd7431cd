// sockjs-node (npm `sockjs`, the reference SockJS server) serving the benchmark's two
// services, as bench/servers.py does for the Python servers:
//
//   node bench/sockjs_node.js PORT[,PORT...] -> prints "listening" once bound to 127.0.0.1:PORT
//
// /echo answers each message with itself; /broadcast writes each message to every
// connection of the service (sockjs-node has no broadcast of its own: a write per
// connection is how its users fan out). Default settings, logging off.
"use strict";
var http = require("http");
var path = require("path");
var sockjs = require(path.join(__dirname, "..", "tests", "interop", "node_modules", "sockjs"));

function service(onConnection) {
  var server = sockjs.createServer({ log: function () {} });
  server.on("connection", onConnection);
  return server;
}

var echo = service(function (conn) {
  conn.on("data", function (message) { conn.write(message); });
});

var members = new Set();
var broadcast = service(function (conn) {
  members.add(conn);
  conn.on("data", function (message) {
    members.forEach(function (member) { member.write(message); });
  });
  conn.on("close", function () { members.delete(conn); });
});

// PORT may be a comma-separated list (the scale scenarios): one HTTP server on each.
var ports = process.argv[2].split(",").map(Number), bound = 0;
ports.forEach(function (port) {
  var server = http.createServer();
  echo.installHandlers(server, { prefix: "/echo" });
  broadcast.installHandlers(server, { prefix: "/broadcast" });
  server.listen(port, "127.0.0.1", 4096, function () {
    if (++bound == ports.length) { process.stdout.write("listening\n"); }
  });
});
