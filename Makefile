# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make demo   install into .venv/ and run the unified regime on 100,000 citizens for 365 days
#   make test   install into .venv/ (with test extras) and run ruff and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install install-test demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

demo: install
	$(BIN)/scorelab run unified --citizens 100000 --days 365 --seed 1 --out runs

lint: install-test
	$(BIN)/ruff check src tests benchmarks

test: install-test lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) runs .pytest_cache build src/*.egg-info
