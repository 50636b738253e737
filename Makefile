# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make demo   install into .venv/ and run the unified regime on 100,000 citizens for 365 days
#   make test   install into .venv/ (with test extras) and run ruff and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install install-test browser demo test bench bench-experiments lint fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[experiments]"

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,experiments]"

demo: install
	$(BIN)/scorelab run unified --citizens 100000 --days 365 --seed 1 --runs runs

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no browser download).
# Installed with apt-get when running as root (as CI does); elsewhere the browser tests skip.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not installed and not root: the browser tests will be skipped"; fi

lint: install-test
	$(BIN)/ruff check src tests benchmarks scripts

test: install-test browser lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_engine.py

# The regime fuzzer at length: new random examples each time (CI runs 500 fixed ones); results
# in benchmarks/out/fuzz.json, recorded in benchmarks/RESULTS.md.
FUZZ_EXAMPLES ?= 20000
FUZZ_RUNS ?= 300
fuzz: install-test
	rm -f benchmarks/out/fuzz.json
	SCORELAB_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SCORELAB_FUZZ_RUNS=$(FUZZ_RUNS) SCORELAB_FUZZ_RANDOM=1 \
		SCORELAB_FUZZ_REPORT=benchmarks/out/fuzz.json $(BIN)/python -m pytest tests/test_fuzz_regimes.py -q
	cat benchmarks/out/fuzz.json
# 64 runs at 100,000 x 365 with the local pool and with Ray (long: see benchmarks/RESULTS.md)
bench-experiments: install
	$(BIN)/python benchmarks/bench_experiments.py

clean:
	rm -rf $(VENV) runs .pytest_cache build src/*.egg-info test-output
