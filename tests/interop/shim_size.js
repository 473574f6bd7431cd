// Checks fallback.js with the npm tools the tests install (terser, acorn) and reports JSON:
//
//   node shim_size.js PATH  ->  {"bytes": N, "minified": N, "gzipped": N, "es3": null|"error"}
//
// "minified" is terser's default compress + mangle (the /*! banner kept), as the README
// reports it; "es3" is null when acorn parses the source as ECMAScript 3 (IE 6-8 can).
"use strict";
var fs = require("fs");
var zlib = require("zlib");
var acorn = require("acorn");
var terser = require("terser");

var source = fs.readFileSync(process.argv[2], "utf8");
var es3 = null;
try { acorn.parse(source, { ecmaVersion: 3 }); } catch (error) { es3 = String(error.message); }
terser.minify(source, { compress: true, mangle: true, ie8: true }).then(function (result) {
  var code = result.code;
  process.stdout.write(JSON.stringify({
    bytes: Buffer.byteLength(source),
    minified: Buffer.byteLength(code),
    gzipped: zlib.gzipSync(code, { level: 9 }).length,
    es3: es3
  }) + "\n");
});
