// The npm `sockjs` (sockjs-node) echo server the browser interop tests point fallback.js at.
//
//   node sockjs_node_server.js DIR...   -> prints {"port": N} once listening on 127.0.0.1
//
// Serves /echo (echoes; answers "transport?" with the transport sockjs-node sees) and the
// files of each DIR at the root, so that a test page can be same-origin with the service,
// and sockjs-client's dist files (for its iframe transports).
"use strict";
var http = require("http");
var fs = require("fs");
var path = require("path");
var sockjs = require("sockjs");

var dirs = process.argv.slice(2);
var types = { ".html": "text/html; charset=UTF-8", ".js": "application/javascript; charset=UTF-8" };

// iframe.html loads sockjs-client from this server (its dist directory is served below),
// not from a CDN this machine cannot reach.
var echo = sockjs.createServer({ log: function () {}, heartbeat_delay: 25000, sockjs_url: "/sockjs.min.js" });
dirs.push(path.join(__dirname, "node_modules", "sockjs-client", "dist"));
echo.on("connection", function (conn) {
  conn.on("data", function (message) {
    conn.write(message === "transport?" ? conn.protocol : message);
  });
});

var server = http.createServer(function (req, res) {
  var name = path.basename(req.url.split("?")[0]);
  for (var i = 0; i < dirs.length; i++) {
    var file = path.join(dirs[i], name);
    if (name && fs.existsSync(file) && fs.statSync(file).isFile()) {
      res.writeHead(200, { "Content-Type": types[path.extname(name)] || "text/plain", "Cache-Control": "no-store" });
      res.end(fs.readFileSync(file));
      return;
    }
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});
echo.installHandlers(server, { prefix: "/echo" });
server.listen(0, "127.0.0.1", function () {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
process.stdin.on("end", function () { process.exit(0); }); // the test closed our stdin
process.stdin.resume();
