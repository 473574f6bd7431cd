// ESLint's profiles (`make shim-lint`; tests/shim/test_lint.py runs them in `make test`):
//
// - fallback/static/fallback.js is parsed as ECMAScript 3, what IE 6-8 run (so no ES5-only
//   syntax either: no trailing commas, no reserved words as property names, no getters), and
//   may name no global but the few it relies on or feature-detects behind a guard. The rules
//   are those that catch real bugs; style (== included: the file compares with == on purpose)
//   is left alone.
// - tests/shim/*.js are Node programs (the fake browser and the unit tests).
//
// Run from the repository root: eslint -c tests/shim/eslint.config.js fallback/static/fallback.js tests/shim
"use strict";

// Mistakes in any JavaScript.
const bugs = {
  "for-direction": "error",
  "no-cond-assign": ["error", "except-parens"],
  "no-constant-condition": "error",
  "no-debugger": "error",
  "no-dupe-args": "error",
  "no-dupe-keys": "error",
  "no-duplicate-case": "error",
  "no-empty": "error",
  "no-empty-character-class": "error",
  "no-ex-assign": "error",
  "no-fallthrough": "error",
  "no-func-assign": "error",
  "no-global-assign": "error",
  "no-invalid-regexp": "error",
  "no-irregular-whitespace": "error",
  "no-loss-of-precision": "error",
  "no-obj-calls": "error",
  "no-redeclare": "error",
  "no-self-assign": "error",
  "no-self-compare": "error",
  "no-shadow-restricted-names": "error",
  "no-sparse-arrays": "error",
  "no-undef": "error",
  "no-unexpected-multiline": "error",
  "no-unreachable": "error",
  "no-unsafe-finally": "error",
  "no-unsafe-negation": "error",
  "no-unused-expressions": "error",
  "no-unused-vars": ["error", { vars: "all", args: "after-used", caughtErrors: "none" }],
  "use-isnan": "error",
  "valid-typeof": "error",
};

// What old engines get wrong, or what only newer ones have. (The modern runtime APIs the
// shim uses -- fetch streams, EventSource, crypto -- are reached through `window` behind a
// feature test; tests/interop/test_shim_source.py checks the same list by pattern.)
const MODERN = "is not in old browsers: feature-detect it or write it out";
const es3 = {
  "block-scoped-var": "error",
  "no-caller": "error",
  "no-delete-var": "error",
  "no-eval": "error",
  "no-extend-native": "error",
  "no-implicit-globals": "error",
  "no-implied-eval": "error",
  "no-inner-declarations": ["error", "functions"],
  "no-label-var": "error",
  "no-loop-func": "error",
  "no-new-wrappers": "error",
  "no-octal": "error",
  "no-octal-escape": "error",
  "no-proto": "error",
  "no-throw-literal": "error",
  "no-use-before-define": ["error", { functions: false, variables: true }],
  "no-restricted-properties": ["error",
    { object: "Object", property: "keys", message: MODERN },
    { object: "Object", property: "create", message: MODERN },
    { object: "Object", property: "defineProperty", message: MODERN },
    { object: "Array", property: "isArray", message: MODERN },
    { object: "Date", property: "now", message: MODERN },
  ],
  // (Array indexOf is ES5 too, but a call cannot tell it from String indexOf: the file has
  // its own indexOf for arrays.)
  "no-restricted-syntax": ["error", {
    selector: "CallExpression[callee.property.name=/^(forEach|map|filter|some|every|reduce|reduceRight|bind|trim)$/]",
    message: "this method of ES5 " + MODERN,
  }],
};

module.exports = [
  {
    files: ["fallback/static/fallback.js"],
    languageOptions: {
      ecmaVersion: 3,
      sourceType: "script",
      // The page's window and document come in as the closure's arguments; timers are the
      // only bare browser globals it calls, and Uint8Array is tried inside a try block.
      globals: {
        window: "readonly",
        document: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        Uint8Array: "readonly",
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: Object.assign({}, bugs, es3),
  },
  {
    files: ["tests/shim/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        __dirname: "readonly",
        process: "readonly",
        console: "readonly",
        setImmediate: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        AbortController: "readonly",
        decodeURI: "readonly",
        encodeURIComponent: "readonly",
        atob: "readonly",
        btoa: "readonly",
        Buffer: "readonly",
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: bugs,
  },
];
