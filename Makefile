# Two commands on a fresh machine: `make run` (the whole demo, offline) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BENCHMARKS := $(basename $(notdir $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py))))

.PHONY: run test lint pytest bench system-packages clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Debian's chromium for the browser tests of the web chat (no browser download), and an emoji font for
# their screenshots; skipped when not root.
system-packages:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi emoji; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	  else echo "chromium (browser tests skipped without it) or fonts-noto-color-emoji not installed"; fi; \
	fi

run: $(INSTALLED)
	$(PY) main.py run

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Test processes in parallel (pytest-xdist): each takes its own databases, Redis db and ports. A process
# that runs out of tests takes queued ones from the others (worksteal), so no long test is left waiting
# behind another at the end.
TEST_PROCESSES ?= 3

pytest: $(INSTALLED)
	$(VENV)/bin/pytest -n $(TEST_PROCESSES) --dist worksteal

# Lint and the tests are independent, and the tests spend much of their time waiting on servers and
# subprocesses: mypy runs meanwhile. Either failing fails `make test`.
test: $(INSTALLED) system-packages
	$(MAKE) --no-print-directory -j 2 lint pytest

bench: $(INSTALLED)
	@mkdir -p data
	@for b in $(BENCHMARKS); do echo "== $$b"; $(PY) -m benchmarks.$$b || exit 1; done 2>&1 | tee data/bench.log | grep -E '^(==|RESULT)'

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
