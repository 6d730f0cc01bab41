PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# every version the suite runs with; the Dockerfile installs the runtime part of it
LOCK := requirements.lock

.PHONY: test unit lint typecheck bench demo clean lock

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c $(LOCK) -e '.[test]'
	touch $(STAMP)

## make lock: re-resolve requirements.lock from pyproject.toml with uv (pins already in the
## lock are kept; `make lock UPGRADE=1` takes the newest versions pyproject allows)
lock:
	uv pip compile pyproject.toml --extra test --python-version 3.11 --annotation-style line \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o $(LOCK)

## make test: create .venv, install the project with its test extras, lint, type-check, run the whole suite
test: $(STAMP)
	$(BIN)/ruff check gateway connector stateless_api simulators tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

## make unit: the fast unit tests only
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check gateway connector stateless_api simulators tests bench
	$(BIN)/ruff format --check gateway connector stateless_api simulators tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## make bench: run the benchmarks, write bench/results/*.json and print tables
bench: $(STAMP)
	$(BIN)/python -m bench

## make demo: the whole stack on one machine with a demo flow
demo: $(STAMP)
	$(BIN)/ordergate up --demo

clean:
	rm -rf $(VENV) build *.egg-info
