// A non-Python backend's side of fallback's access tokens, with the npm `jsonwebtoken`
// package (the usual Node.js choice). Reads one JSON request on stdin, prints one JSON line:
//
//   {"sign": {...claims}, "secret": S, "options": {"algorithm": "HS256", ...}}  ->  {"token": "..."}
//   {"verify": "token", "secret": S}                          ->  {"claims": {...}} | {"error": "..."}
"use strict";
var jwt = require("jsonwebtoken");

var input = "";
process.stdin.on("data", function (chunk) { input += chunk; });
process.stdin.on("end", function () {
  var request = JSON.parse(input);
  var answer;
  if (request.sign) {
    answer = { token: jwt.sign(request.sign, request.secret, request.options) };
  } else {
    try {
      answer = { claims: jwt.verify(request.verify, request.secret, { algorithms: ["HS256"] }) };
    } catch (error) {
      answer = { error: error.name + ": " + error.message };
    }
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
