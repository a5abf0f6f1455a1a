# Two commands matter: `make report` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed

.PHONY: report test test-extended test-browser test-spark lint lab sample bench lock clean

# The venv is rebuilt when the dependency declarations change. PYTHONWARNINGS=ignore on the editable install:
# the build backend's advice on editable installs is not for the user.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	@touch $(STAMP)

## Run the full report on the bundled sample and print the path of index.html
report: $(STAMP)
	$(BIN)/portfolio report --out reports

## Run the whole test suite (ruff, import layers, unit, end-to-end, notebooks under nbval)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile -m "not extended" --durations=10 --doctest-modules portfolio_helpers tests
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

## The slower checks CI runs after `make test`: every benchmark in its --quick mode
test-extended: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider -n auto -m extended tests

## The explorers of notebooks 02-05 in JupyterLab, driven in Chromium (needs /usr/bin/chromium: apt-get install chromium)
test-browser: $(STAMP)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,browser]"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/browser

## The engine tests on PySpark local mode (installs the spark extra; needs Java: apt-get install openjdk-17-jre-headless)
test-spark: $(STAMP)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,spark]"
	PORTFOLIO_TEST_ENGINES=pyspark MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider -m engine -W ignore::FutureWarning tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## Open the notebooks in JupyterLab (installs it on first use)
lab: $(STAMP)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,lab]"
	cd notebooks && ../$(BIN)/jupyter lab

## Regenerate the committed sample portfolio (deterministic)
sample: $(STAMP)
	$(BIN)/portfolio demo-data --out data/sample --customers 2000 --seed 42 --dirty

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

## Refresh the pinned versions after changing pyproject.toml
lock:
	rm -rf /tmp/portfolio-lock && $(PYTHON) -m venv /tmp/portfolio-lock
	/tmp/portfolio-lock/bin/pip install --quiet ".[test,lab,browser,spark]"
	/tmp/portfolio-lock/bin/pip freeze --exclude portfolio-kit > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
