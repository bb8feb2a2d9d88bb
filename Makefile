# Every target builds its own virtual environment from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test bench bench-scale bench-tui screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/gitward --demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

# A regular (not editable) install, as operators get from pipx: an editable install's import
# hook adds ~15-20 ms to every gitward start, which is most of what F2 is measured against.
BENCH_VENV ?= .venv-bench

$(BENCH_VENV)/.deps: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet .
	touch $@

# gitward itself is reinstalled every time: the benchmark must time the working tree.
# benchmarks/results.md is what the README's Performance section is regenerated from.
bench: $(BENCH_VENV)/.deps
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	$(BENCH_VENV)/bin/python benchmarks/run.py --cold 2 --markdown benchmarks/results.md $(BENCH_ARGS)

# 1k/5k/20k/50k repos and 50k/200k/1M refs: builds ~2 GB of fixtures the first time, then minutes.
bench-scale: $(BENCH_VENV)/.deps
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	$(BENCH_VENV)/bin/python benchmarks/run.py --scale --markdown benchmarks/results-scale.md $(BENCH_ARGS)

bench-tui: $(VENV)/.installed-test
	$(BIN)/python benchmarks/tui_bench.py $(BENCH_ARGS)

screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) $(BENCH_VENV)
