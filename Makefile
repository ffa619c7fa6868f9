# The project's front door: `make demo` and `make test` (see README.md).
# Both work on a fresh Debian machine, as root, with only Python present.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := docker-registry skopeo rsync
# gitlab-ci-local runs the GitLab template in tests (tests/test_integrations.py), project-local.
GITLAB_CI_LOCAL_VERSION := 4.62.0
NPM_PREFIX := .cache/npm

.PHONY: demo test lint unit system-deps install bench clean

demo: install system-deps
	$(BIN)/python examples/demo.py

test: install system-deps lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check gate tests examples bench
	$(BIN)/ruff format --check gate tests examples bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install system-deps
	$(BIN)/python bench/run.py

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# The real registry and the independent digest oracle the tests run against; rsync and
# gitlab-ci-local for the GitLab template's test.
system-deps:
	@missing=""; for pkg in $(APT_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@grep -qs '"version": "$(GITLAB_CI_LOCAL_VERSION)"' $(NPM_PREFIX)/node_modules/gitlab-ci-local/package.json || { \
	  command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }; \
	  echo "installing gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION) into $(NPM_PREFIX)"; \
	  npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION); \
	}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
