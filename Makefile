# batonio — every target sets itself up: it creates the virtualenv and installs the
# project with its build and test dependencies from PyPI when they are missing.
SHELL := /bin/bash
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY311 ?= $(shell command -v python3.11 || ls -d $(PYENV_ROOT)/versions/3.11.*/bin/python3.11 2>/dev/null | tail -1)
PY312 ?= $(shell ls -d $(PYENV_ROOT)/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1)
PY313 ?= $(shell ls -d $(PYENV_ROOT)/versions/3.13.*/bin/python3.13 2>/dev/null | tail -1)
PY ?= $(or $(PY311),python3)
VENV ?= .venv
VPY := $(VENV)/bin/python
PYTEST_ARGS ?= -q

.PHONY: all venv build demo test test-one test-all conformance integration soak soak-tls lint bench bench-quick bench-3.12 bench-3.13 wrk clean

all: build

$(VENV)/.installed: pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel "cython>=3.0"
	$(VPY) -m pip install -q --no-build-isolation -e '.[test,dev]'
	touch $@

venv: $(VENV)/.installed

# Compile the hot-path modules in place (Cython pure-Python mode); a no-op when up to date.
build: $(VENV)/.installed
	$(VPY) setup.py -q build_ext --inplace 2>&1 | grep -v -e '^warning' -e 'UserWarning' -e 'tree = Parsing' || true
	@$(VPY) -c "import batonio; print('batonio compiled extensions active:', batonio.EXTENSIONS)"

demo: build
	@$(VPY) examples/demo.py

# The test suite: our tests compiled and pure, then CPython's test_asyncio conformance.
test: build
	$(MAKE) --no-print-directory test-one VENV=$(VENV)
	$(MAKE) --no-print-directory conformance VENV=$(VENV)

test-one: build
	BATONIO_EXPECT_COMPILED=1 $(VPY) -X faulthandler -m pytest $(PYTEST_ARGS) tests
	BATONIO_NO_EXTENSIONS=1 $(VPY) -X faulthandler -m pytest $(PYTEST_ARGS) tests

# The whole suite (ours and the conformance runs) on 3.11, 3.12 and 3.13.
test-all:
	$(MAKE) --no-print-directory test VENV=.venv PY=$(PY311)
	$(MAKE) --no-print-directory test VENV=.venv-3.12 PY=$(PY312)
	$(MAKE) --no-print-directory test VENV=.venv-3.13 PY=$(PY313)

# CPython's own test_asyncio against batonio's loop (issue 3's modules), then with batonio's
# API substituted for asyncio's names (issue 4's modules); each compiled and interpreted.
conformance: build
	$(VPY) tests/conformance/run.py --mode compiled --check
	BATONIO_NO_EXTENSIONS=1 $(VPY) tests/conformance/run.py --mode pure --check
	$(VPY) tests/conformance/run.py --mode compiled --api --check
	BATONIO_NO_EXTENSIONS=1 $(VPY) tests/conformance/run.py --mode pure --api --check

# Real libraries (aiohttp, httpx, uvicorn, websockets, anyio) on batonio, compiled and pure.
# `make test` runs these too (they are part of tests/, ~15 s a build); this runs only them.
integration: build
	BATONIO_EXPECT_COMPILED=1 $(VPY) -X faulthandler -m pytest $(PYTEST_ARGS) tests/integration
	BATONIO_NO_EXTENSIONS=1 $(VPY) -X faulthandler -m pytest $(PYTEST_ARGS) tests/integration

# 1,000 loopback connections echoing checksummed messages for 60 s; fails on any mismatch,
# leaked fd or task, or RSS growth over 10%. Not part of `make test`.
# SOAK_ARGS="--loop asyncio" compares with stdlib asyncio; --seconds/--conns size it.
SOAK_ARGS ?=
soak: build
	$(VPY) benchmarks/soak.py $(SOAK_ARGS)

# 10,000 sequential TLS connections then 1,000 handshakes abandoned half-way, on batonio:
# fails on any fd or task left behind or RSS growth over 5%. Not part of `make test`.
# TLS_SOAK_ARGS="--loop asyncio" compares with stdlib asyncio.
TLS_SOAK_ARGS ?=
soak-tls: build
	$(VPY) benchmarks/tls_soak.py $(TLS_SOAK_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/batonio

# The benchmark suite (benchmarks/README.md): every workload group, footprint included, on
# every loop that imports for this Python (one that does not is skipped, with the reason).
# BENCH_ARGS passes run.py options, e.g. BENCH_ARGS="--group footprint --rounds 5".
# Another Python: make bench VENV=.venv-3.12 PY=python3.12, or make bench-3.12 / bench-3.13.
BENCH_ARGS ?=
bench: build wrk
	$(VPY) benchmarks/run.py $(BENCH_ARGS)

# Every workload once at a tenth of its size: a smoke run of under three minutes.
bench-quick: build wrk
	$(VPY) benchmarks/run.py --quick --rounds 1 $(BENCH_ARGS)

# The same suite on 3.12 and 3.13, in their own venvs (the loops that install there).
bench-3.12:
	@test -n "$(PY312)" || { echo "no python3.12 found: set PY312=/path/to/python3.12"; exit 1; }
	$(MAKE) --no-print-directory bench VENV=.venv-3.12 PY=$(PY312)

bench-3.13:
	@test -n "$(PY313)" || { echo "no python3.13 found: set PY313=/path/to/python3.13"; exit 1; }
	$(MAKE) --no-print-directory bench VENV=.venv-3.13 PY=$(PY313)

# wrk loads the http_keepalive benchmark from another process (Debian's package; CI runs as
# root). When it cannot be installed the benchmark uses its Python load generator instead.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 \
	  && { timeout 300 apt-get install -y -q wrk >/dev/null 2>&1 \
	       || { timeout 300 apt-get update -q >/dev/null 2>&1 \
	            && timeout 300 apt-get install -y -q wrk >/dev/null 2>&1; }; }; } \
	  || echo "wrk could not be installed: the http benchmark falls back to its Python load generator"
	@command -v wrk >/dev/null 2>&1 && echo "wrk: $$(command -v wrk)" || true

clean:
	rm -rf build $(VENV) .venv-3.12 .venv-3.13
	find src -name '*.so' -delete -o -name '*_c.c' -delete
