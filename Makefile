# Two entry points for a newcomer: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stylecast-installed

.PHONY: demo test env clean bench

env: $(STAMP)

# torch is pinned here (CPU wheel from local disk in CI); pyproject keeps a loose runtime range.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/stylecast demo

test: $(STAMP)
	$(PY) -m pytest -q -ra

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache
