# The project's front door: `make demo` and `make test` (see README.md).
# Both work on a fresh Debian machine, as root, with only Python present.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := docker-registry skopeo

.PHONY: demo test lint unit system-deps install bench clean

demo: install system-deps
	$(BIN)/python examples/demo.py

test: install system-deps lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check gate tests examples bench
	$(BIN)/ruff format --check gate tests examples bench
	$(BIN)/mypy

bench: install system-deps
	$(BIN)/python bench/resolve.py

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# The real registry and the independent digest oracle the tests run against.
system-deps:
	@missing=""; for pkg in $(APT_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
