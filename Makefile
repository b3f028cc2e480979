# stackctl: `make up` runs the stack in stack.yaml; `make test` runs every test tier.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACKCTL := $(VENV)/bin/stackctl
PYTHON ?= python3

.PHONY: install render up down demo images test test-unit lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The repository root is itself a stack folder: init creates only what is missing (secrets).
render: install
	@test -f secrets/haproxy.env -a -f secrets/mariadb.env -a -f secrets/photoprism.env || $(STACKCTL) init
	$(STACKCTL) render

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not docker and not acme"

lint: install
	$(VENV)/bin/ruff check stackctl tests
	$(VENV)/bin/ruff format --check stackctl tests
	$(VENV)/bin/mypy --strict stackctl

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
