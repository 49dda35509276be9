# The two commands of the README:
#   make run   - install, then JupyterLab with bookstore on the embedded local store
#   make test  - install, then lint, type-check and the whole test suite (starts its own SeaweedFS)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# pytest-xdist workers: most of the suite waits on servers, kernels and browsers, so three
# workers on two cores take ~5 min (PYTEST_WORKERS=0 runs in one process).
PYTEST_WORKERS ?= 3
# Jupyter refuses to run as root unless told so (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# apt-get needs root: sudo (never prompting) when not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)

.PHONY: run test install browser hub-proxy postgres lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The JupyterLab extension's sources: pip builds them (TypeScript, with jlpm) into the package.
LABEXTENSION_SOURCES := package.json yarn.lock tsconfig.json $(wildcard src/*.ts src/*.tsx style/* schema/*)

$(STAMP): $(BIN)/python pyproject.toml $(LABEXTENSION_SOURCES)
	$(BIN)/python -m pip install --quiet -e ".[test,lab,runs]"
	touch $(STAMP)

install: $(STAMP)

# The folder `make run` serves (git-ignored): a user's notebooks and their checkpoints stay
# out of the repository.
NOTEBOOK_DIR ?= notebooks

run: install
	mkdir -p $(NOTEBOOK_DIR)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser $(ROOT_FLAG) \
		--ServerApp.root_dir=$(NOTEBOOK_DIR)

# Debian's Chromium for tests/browser (driven by Playwright; never `playwright install`).
# Installing it may fail (no apt, no root): make goes on and those tests skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium; \
	} || echo "warning: could not install chromium: the tests in tests/browser will be skipped"

# configurable-http-proxy, JupyterHub's proxy, for tests/hub: npm (node from the machine) into
# the venv, once. Installing it may fail (no node): make goes on and those tests skip, saying why.
HUB_PROXY := $(VENV)/hub-proxy
hub-proxy: $(BIN)/python
	@test -f $(HUB_PROXY)/.installed || { \
		echo "Installing configurable-http-proxy (npm) for the hub tests"; \
		npm install --prefix $(HUB_PROXY) --no-audit --no-fund --silent configurable-http-proxy@5 && \
			touch $(HUB_PROXY)/.installed; \
	} || echo "warning: could not install configurable-http-proxy: the tests in tests/hub will be skipped"

# Debian's PostgreSQL server for the runs tests (tests/pgrig.py starts a throw-away one).
# Installing it may fail (no apt, no root): make goes on and those tests skip, saying why.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql for the runs tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends postgresql; \
	} || echo "warning: could not install postgresql: the tests needing PostgreSQL will be skipped"

lint: install
	$(BIN)/ruff check bookstore tests benchmarks
	$(BIN)/ruff format --check bookstore tests benchmarks

typecheck: install
	$(BIN)/mypy

pytest: install browser hub-proxy postgres
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache \
		node_modules lib tsconfig.tsbuildinfo src/generated bookstore/labextension
