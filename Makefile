# Two commands for a new user: `make train` and `make test`. Each sets everything up first
# (virtual environment, the package, the Fashion-MNIST files) and is safe to run again.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/fashion_mnist/mlp.yaml
FASHION_MNIST := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-dev data train test test-fast lint format

# Training needs only the package; the tests add the dev extras (pytest, ruff, and the
# ONNX and Optuna extras the tests cover).
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

train: setup
	$(BIN)/python -m proj fit --config $(CONFIG)

test: setup-dev
	$(BIN)/python -m pytest

# under a minute on 2 cores: the tests not marked slow
test-fast: setup-dev
	$(BIN)/python -m pytest -m "not slow"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
