// Drives the npm sockjs-client (Node build) against a SockJS server and reports as JSON.
//
//   node sockjs_client_echo.js URL TRANSPORT COUNT
//
// Opens URL with only TRANSPORT allowed, sends COUNT numbered messages, waits for each to
// come back in order, closes, and prints {"transport":..., "received":[...], "closeCode":...}.
"use strict";
const SockJS = require("sockjs-client");

const [url, transport, countText] = process.argv.slice(2);
const count = Number(countText || "20");
const received = [];
let usedTransport = null;
const deadline = setTimeout(() => finish("timeout"), 15000);

function finish(error, closeCode) {
  clearTimeout(deadline);
  process.stdout.write(
    JSON.stringify({ error: error || null, transport: usedTransport, received, closeCode }) + "\n"
  );
  process.exit(error ? 1 : 0);
}

const sock = new SockJS(url, null, { transports: [transport], timeout: 5000 });
sock.onopen = () => {
  usedTransport = sock.transport;
  for (let i = 0; i < count; i++) sock.send("message " + i + " \u2028 \u00e9");
};
sock.onmessage = (event) => {
  received.push(event.data);
  if (received.length === count) sock.close(1000, "done");
};
sock.onclose = (event) => {
  if (received.length === count) finish(null, event.code);
  else finish("closed early: " + event.code + " " + event.reason, event.code);
};
