# stackctl: `make up` runs the stack in stack.yaml; `make test` runs every test tier.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACKCTL := $(VENV)/bin/stackctl
PYTHON ?= python3

.PHONY: install render up down demo demo-down images test test-env test-unit lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The repository root is itself a stack folder: init runs when a secret is missing (it creates only those).
SECRETS_PRESENT := test -f secrets/haproxy.env -a -f secrets/mariadb.env -a -f secrets/photoprism.env \
	-a -n "$$(ls secrets/sites/*.env 2>/dev/null)"
render: install
	@$(SECRETS_PRESENT) || $(STACKCTL) init
	$(STACKCTL) render

# Runs the stack in ./stack.yaml with the real images: needs Docker and access to Docker Hub.
up: install
	@$(SECRETS_PRESENT) || $(STACKCTL) init
	$(STACKCTL) up

down: install
	$(STACKCTL) down

# Test images built from Debian packages (never pulled); cached by tag.
images:
	bash tests/images/build.sh

# An offline demo stack in .demo/ from the test images, on 127.0.0.1 high ports.
DEMO := .demo
demo: install images
	@mkdir -p $(DEMO)
	@test -f $(DEMO)/stack.yaml || cp tests/demo/stack.yaml $(DEMO)/stack.yaml
	@test -f $(DEMO)/secrets/haproxy.env -a -f $(DEMO)/secrets/mariadb.env -a -f $(DEMO)/secrets/photoprism.env \
		|| $(STACKCTL) --dir $(DEMO) init
	$(STACKCTL) --dir $(DEMO) up
	@echo
	@echo "Demo: https://photos.localhost:18443/  (a PhotoPrism stand-in behind the real HAProxy)"
	@echo "Trust its CA:  curl --cacert \"\$$($(STACKCTL) --dir $(DEMO) certs ca --path)\" https://photos.localhost:18443/"
	@echo "               or: $(STACKCTL) --dir $(DEMO) certs ca   (instructions per system)"
	@echo "Stop it:       $(STACKCTL) --dir $(DEMO) down"

demo-down: install
	$(STACKCTL) --dir $(DEMO) down

# All tiers. test-env installs the Debian packages, starts a Docker engine and builds the test images.
test: install test-env
	$(PY) -m pytest

test-env:
	bash tests/setup-env.sh

test-unit: install
	$(PY) -m pytest -m "not docker and not acme and not swarm"

lint: install
	$(VENV)/bin/ruff check stackctl tests
	$(VENV)/bin/ruff format --check stackctl tests
	$(VENV)/bin/mypy --strict stackctl tests/fakes.py tests/fake_acme.py
	$(VENV)/bin/lint-imports
	$(PY) tools/function_imports.py

# Proxy throughput, TLS handshakes and command latency side by side (nginx, Caddy, the seed config).
# Writes a table to the terminal and JSON to $$BENCH_OUT (default .bench/bench.json).
bench: install test-env
	bash tests/bench/setup.sh
	$(PY) -m tests.bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
