# make test: create .venv if missing, install tl_keras with its tested dependency
# versions (constraints.txt), run the test suite. make demo: same install, then the
# offline transfer-learning demo.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tl_keras-installed

.PHONY: test demo install clean

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 tests

demo: $(STAMP)
	$(BIN)/tl-keras demo

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,hub,kerashub,serving]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
