# make test: create .venv if missing, install tl_keras with its tested dependency
# versions (constraints.txt: one set for Python 3.11 to 3.13), run the test suite;
# another interpreter: make test PYTHON=/path/to/python3.13 VENV=.venv-3.13.
# make test-compat: the corners of the supported window (TensorFlow 2.18 to 2.21,
# Keras 3.10 to 3.15, Python 3.11 to 3.13), each in a cached environment under
# build/compat/, running the tests marked `compat` (scripts/test_compat.py).
# make test-fast: the tests not marked `slow` (no end-to-end training, export or
# subprocess), for the edit-test loop: under 2 minutes on 2 cores. make test runs all.
# make lint: ruff, which make test runs first.
# make demo: same install as make test, then the offline transfer-learning demo.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tl_keras-installed

.PHONY: test test-fast test-compat lint demo install clean

# Two test processes (pytest-xdist) on 2 cores: about 10 minutes instead of 17.
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --durations=15 tests

test-fast: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 -m "not slow" tests

# ruff (pyproject.toml: one line width, pyflakes, pycodestyle, isort rules).
lint: $(STAMP)
	$(BIN)/ruff check .

test-compat:
	$(PYTHON) scripts/test_compat.py --require-all

demo: $(STAMP)
	$(BIN)/tl-keras demo

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,hub,kerashub,serving,faiss]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
