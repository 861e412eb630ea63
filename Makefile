# Two commands on a fresh machine: `make run` (the whole demo, offline) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BENCHMARKS := $(basename $(notdir $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py))))

.PHONY: run test lint bench system-packages clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Debian's chromium for the browser test of the web chat (no browser download); skipped when not root.
system-packages:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed: the browser test will be skipped"; fi; \
	fi

run: $(INSTALLED)
	$(PY) main.py run

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(INSTALLED) system-packages lint
	$(VENV)/bin/pytest

bench: $(INSTALLED)
	@mkdir -p data
	@for b in $(BENCHMARKS); do echo "== $$b"; $(PY) -m benchmarks.$$b || exit 1; done 2>&1 | tee data/bench.log | grep -E '^(==|RESULT)'

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
