# fallback — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: bench-fanout chaos compat-leave coverage fuzz demo mutation test test-fast test-browser shim-size shim-lint screenshots demo-screenshot venv test-deps system-deps node-deps lint types protocol protocol-compat autobahn bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed setup.cfg
	$(PIP) install -e '.[test]'
	touch $@

venv: $(VENV)/.installed

## The demo chat: make demo [PORT=8080] [HOST=127.0.0.1] (python -m demo.app --help).
PORT ?= 8080
HOST ?= 127.0.0.1
demo: $(VENV)/.installed
	@$(PY) -m demo.app --host $(HOST) --port $(PORT)

## System packages the tests drive (Chromium for browser tests).
system-deps:
	@./.ci/system-deps

## npm packages the interop tests use (sockjs-client, sockjs server).
node-deps: tests/interop/node_modules/.installed

tests/interop/node_modules/.installed: tests/interop/package.json
	cd tests/interop && npm install --no-audit --no-fund --loglevel=error
	touch $@

test-deps: $(VENV)/.test-installed system-deps node-deps

test: test-deps
	$(PY) -m pytest -W error::DeprecationWarning $(PYTEST_ARGS)
	$(MAKE) --no-print-directory coverage types lint

## Unit and loopback tests only (no browser, no npm).
test-fast: $(VENV)/.test-installed
	$(PY) -m pytest -W error::DeprecationWarning tests/unit tests/server tests/compat $(PYTEST_ARGS)

## The browser suite alone (Chromium via Playwright, plus the npm interop servers).
test-browser: test-deps
	$(PY) -m pytest -W error::DeprecationWarning tests/browser $(PYTEST_ARGS)

## fallback.js minified (terser) and gzipped sizes, as the README reports them.
shim-size: node-deps
	@node tests/interop/shim_size.js fallback/static/fallback.js

## ESLint on fallback.js (parsed as ES3; no global it does not feature-detect) and on its
## Node unit tests (tests/shim/eslint.config.js); tests/shim/test_lint.py runs it in make test.
shim-lint: node-deps
	tests/interop/node_modules/.bin/eslint --config tests/shim/eslint.config.js fallback/static/fallback.js tests/shim

## The README's engine table: transport picked, time to open and echo round trip on
## Chromium, Firefox and WebKit (tests/browser/measure_engines.py).
.PHONY: engine-table
engine-table: test-deps
	$(PY) -m tests.browser.measure_engines

## Regenerate docs/demo-chat.png (two users of the demo chat on different transports).
## The pictures in README.md and docs/ (demo chat on desktop and phone, the admin page).
screenshots demo-screenshot: test-deps
	$(PY) -m demo.screenshots

## The documentation site (Sphinx + MyST), warnings as errors: docs/_build/html.
.PHONY: docs
docs: $(VENV)/.test-installed
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

types: $(VENV)/.test-installed
	$(PY) -m mypy fallback

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Branch coverage of the sans-I/O floors (fallback/core, fallback/wsengine) by the unit
## tests, which must reach 98% (setup.cfg [coverage:*]). About 15 s.
coverage: $(VENV)/.test-installed
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest -q -p no:cacheprovider -W error::DeprecationWarning tests/unit
	$(PY) -m coverage report

## Mutation testing of the core (mutmut; modules and settings in pyproject.toml
## [tool.mutmut]) against the unit tests, then the score of each module, surviving
## mutants listed as equivalent (tests/unit/equivalent_mutants.md) set apart. A few
## minutes in all; one module: make mutation MUTANTS='fallback.core.resume*'.
MUTANTS ?=
mutation: $(VENV)/.test-installed
	rm -rf mutants && mkdir mutants
	$(PY) -m mutmut run $(MUTANTS) >mutants/run.log 2>&1 || { tail -30 mutants/run.log; exit 1; }
	$(PY) -m tests.unit.mutation_score $(if $(MUTANTS),--only '$(MUTANTS)',)

## The official SockJS protocol suite against the conformance server (Python 2.7 tool).
protocol: $(VENV)/.installed
	@port=$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	  $(PY) -m fallback.testing.sockjs_server --port $$port >/tmp/fallback-protocol.log 2>&1 & pid=$$!; \
	  sleep 1; $(PROTOCOL_SUITE) http://127.0.0.1:$$port; rc=$$?; kill $$pid; exit $$rc

## The same suite against the same sockjs-tornado application on sockjs-tornado and on
## fallback.compat.sockjs_tornado (tests/compat/protocol_server.py), on free ports.
PROTOCOL_SUITE ?= ../shared/tools/sockjs-protocol-suite
protocol-compat: $(VENV)/.test-installed
	@for impl in sockjs-tornado fallback; do \
	  port=$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	  $(PY) -m tests.compat.protocol_server --impl $$impl --port $$port >/tmp/fallback-protocol-$$impl.log 2>&1 & pid=$$!; \
	  sleep 1; echo "== $$impl"; $(PROTOCOL_SUITE) http://127.0.0.1:$$port; kill $$pid; \
	done

## The leave of a sockjs-tornado chat over xhr-polling, 20 runs one after the other for each
## way of leaving, on sockjs-tornado and on fallback.compat.sockjs_tornado (npm
## sockjs-client in Node; tests/interop/sockjs_tornado_apps.py). About 6 minutes.
compat-leave: $(VENV)/.test-installed node-deps
	$(PY) -m tests.interop.sockjs_tornado_apps --runs $${RUNS:-20}

## Autobahn|Testsuite (fuzzing client, Python 2.7 tool) against the engine-level echo
## endpoint /autobahn of the conformance server, on a free port; sections 1-7, 9, 10, and
## 12-13 (permessage-deflate).
AUTOBAHN_FUZZ ?= ../shared/tools/autobahn-fuzz
AUTOBAHN_CASES ?= '1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' '9.*' '10.*' '12.*' '13.*'
autobahn: $(VENV)/.installed
	@port=$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	  $(PY) -m fallback.testing.sockjs_server --port $$port >/tmp/fallback-autobahn.log 2>&1 & pid=$$!; \
	  for i in $$(seq 50); do grep -q "conformance server on" /tmp/fallback-autobahn.log && break; sleep 0.1; done; \
	  $(AUTOBAHN_FUZZ) ws://127.0.0.1:$$port/autobahn $(AUTOBAHN_CASES); rc=$$?; kill $$pid; exit $$rc

## Benchmarks (bench/run.py): fallback vs plain Tornado vs sockjs-tornado, C load generator
## on the other core. Writes bench/results/results.md and results.png. BENCH_ARGS="--runs 5".
## Then bench/fanout.py: channel fan-out to 1000 on one process vs two joined by a
## redis-server it starts (bench/results/fanout.md and fanout.png). FANOUT_ARGS="--runs 5".
BENCH_ARGS ?=
FANOUT_ARGS ?=
## Then bench/compression.py: permessage-deflate on and off, binary against base64 by hand
## (bench/results/compression.md). COMPRESSION_ARGS="--runs 5".
COMPRESSION_ARGS ?=
bench/.build/loadgen: bench/loadgen.c
	@mkdir -p bench/.build
	$(CC) -O2 -Wall -Wextra -o $@ $<

$(VENV)/.bench-installed: $(VENV)/.installed setup.cfg
	$(PIP) install -e '.[bench]'
	touch $@

bench/node_modules/.installed: bench/package.json
	cd bench && npm install --no-audit --no-fund --loglevel=error
	touch $@

bench: $(VENV)/.bench-installed bench/.build/loadgen system-deps node-deps bench/node_modules/.installed
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/fanout.py $(FANOUT_ARGS)
	$(PY) bench/compression.py $(COMPRESSION_ARGS)
	$(PY) bench/scale.py $(SCALE_ARGS)

## The fan-out part of make bench alone.
bench-fanout: $(VENV)/.bench-installed bench/.build/loadgen system-deps
	$(PY) bench/fanout.py $(FANOUT_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

## HTTP latency with and without in-band Flash policy detection (one run, interleaved).
.PHONY: bench-flashpolicy
bench-flashpolicy: $(VENV)/.installed
	$(PY) bench/inband_policy.py

## The fuzz tests of make test, FALLBACK_FUZZ_SCALE (default 20) times longer.
fuzz: $(VENV)/.test-installed
	FALLBACK_FUZZ_SCALE=$${FALLBACK_FUZZ_SCALE:-20} $(PY) -m pytest -W error::DeprecationWarning --timeout=0 tests/server/test_fuzz.py $(PYTEST_ARGS)

## The long chaos tests, each printing its lost/duplicated/reordered/corrupted counts (all
## must be 0): 200 Python clients on every transport through a proxy that resets their
## connections at random for 60 s (tests/chaos), and the shipped fallback.js, 2 pages per
## transport on each of Chromium, Firefox and WebKit, through a proxy that breaks
## connections in every way it knows, for 60 s with a 10 s resume_grace
## (tests/browser/test_chaos.py).
chaos: test-deps
	CHAOS_CLIENTS=200 CHAOS_SECONDS=60 CHAOS_BROWSER_SECONDS=60 CHAOS_BROWSER_OTHER_PAGES=2 CHAOS_KILL_SECONDS=60 CHAOS_KILL_SUBSCRIBERS=24 $(PY) -m pytest -s -W error::DeprecationWarning tests/chaos tests/browser/test_chaos.py $(PYTEST_ARGS)
