# Two entry points, both from a fresh clone: `make run` (the API on the embedded store) and `make test`.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-all lint build check bench release clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/therapy-kg serve --host $(HOST) --port $(PORT)

# The fast lane (the README's test command): lint, then every test but the remote-store and full runs.
test: $(VENV)/.installed lint
	$(VENV)/bin/python -m pytest -q -m "not slow and not server"

# Everything: the fast lane plus the remote-store tests (a real Oxigraph server) and the full differential.
test-all: $(VENV)/.installed lint
	$(VENV)/bin/python -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

build: $(VENV)/.installed
	$(VENV)/bin/therapy-kg build

check: $(VENV)/.installed
	$(VENV)/bin/therapy-kg check

# Refresh the committed release file and the generated example classes (never edit those by hand).
release: $(VENV)/.installed
	$(VENV)/bin/therapy-kg build --out ontology
	$(VENV)/bin/python -m kg.ontology.examples ontology/examples

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) therapy-kg-release build dist *.egg-info
