# Two entry points, both from a fresh clone: `make run` (the API on the embedded store) and `make test`.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-all lint lock build check bench release clean

# The set-up installs the versions pinned in requirements.lock (what the tests last passed with).
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.lock -e '.[test]'
	touch $@

# Pin the dependencies anew (after a change to pyproject.toml's dependencies), with uv; then run make test-all.
lock: $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra spark -o requirements.lock --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu

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

# Refresh the committed generated files: the components authored as tables, the release files and the example
# classes (never edit those by hand).
release: $(VENV)/.installed
	$(VENV)/bin/therapy-kg components
	$(VENV)/bin/therapy-kg build --out ontology
	$(VENV)/bin/python -m kg.examples ontology/examples

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) therapy-kg-release build dist *.egg-info
