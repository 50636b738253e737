# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make demo   install into .venv/ and run the unified regime on 100,000 citizens for 365 days
#   make test   install into .venv/ (with test extras) and run ruff and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install install-test browser demo test bench bench-experiments lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[experiments]"

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,experiments]"

demo: install
	$(BIN)/scorelab run unified --citizens 100000 --days 365 --seed 1 --out runs

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no browser download).
# Installed with apt-get when running as root (as CI does); elsewhere the browser tests skip.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not installed and not root: the browser tests will be skipped"; fi

lint: install-test
	$(BIN)/ruff check src tests benchmarks

test: install-test browser lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_engine.py

# 64 runs at 100,000 x 365 with the local pool and with Ray (long: see benchmarks/RESULTS.md)
bench-experiments: install
	$(BIN)/python benchmarks/bench_experiments.py

clean:
	rm -rf $(VENV) runs .pytest_cache build src/*.egg-info test-output
