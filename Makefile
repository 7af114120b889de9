# Two commands for a new user: `make train` and `make test`. Each sets everything up first
# (virtual environment, the package, the Fashion-MNIST files) and is safe to run again.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/fashion_mnist/mlp.yaml
FASHION_MNIST := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-dev data browser postgres train test test-fast serve lint format

# Training needs only the package; the tests add the dev extras: pytest, ruff, and the
# export (ONNX), sweep (Optuna, psycopg), serve (Starlette, uvicorn), serve-test (httpx,
# Playwright) and track (MLflow, W&B) extras the tests cover.
setup: $(VENV)/.installed data
setup-dev: $(VENV)/.installed-dev data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -e ".[dev]"
	touch $@

# Debian/Ubuntu ship Fashion-MNIST as a package; elsewhere the first run downloads it.
data:
	@if [ -f $(FASHION_MNIST)/train-images-idx3-ubyte.gz ]; then \
		echo "Fashion-MNIST: found in $(FASHION_MNIST)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist \
		|| echo "Fashion-MNIST: apt package not available; it will be downloaded on first use"; \
	else \
		echo "Fashion-MNIST: no apt-get; it will be downloaded into data/ on first use"; \
	fi

# Debian's Chromium, for the test that drives the server's page in a real browser
# (skipped, and saying why, without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Debian's PostgreSQL server, for the test of sweep workers sharing one database (skipped,
# and saying why, without it).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }

train: setup
	$(BIN)/python -m proj fit --config $(CONFIG)

# pytest-xdist: one worker per core, idle workers taking queued tests from busy ones
# (worksteal), each worker's torch given its share of the cores (tests/conftest.py)
PYTEST = $(BIN)/python -m pytest -n auto --dist worksteal

test: setup-dev
	$(PYTEST)

# under a minute on 2 cores: the tests not marked slow
test-fast: setup-dev
	$(PYTEST) -m "not slow"

# The Dockerfile's command outside a container: EXPORT=<export folder>, or the best
# checkpoint of CONFIG.
PORT ?= 8000
serve: $(VENV)/.installed-dev
ifdef EXPORT
	$(BIN)/python -m proj serve --export $(EXPORT) --host 127.0.0.1 --port $(PORT)
else
	$(BIN)/python -m proj serve --config $(CONFIG) --ckpt_path best --host 127.0.0.1 --port $(PORT)
endif

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
