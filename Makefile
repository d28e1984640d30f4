# OpenDeep — the two commands of the README, and their parts.
#   make run    set up everything on a fresh machine and run OpenDeep on its embedded defaults
#   make test   set up everything and run the whole test suite (lint, types, tests)
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
# uv by absolute path: the one given (`make UV=/path/to/uv …`), the one on PATH, or a private
# copy that `make` installs into .uv/ — never pip into the system Python (PEP 668).
UV ?= $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.uv/bin/uv)
export UV
export UV_LINK_MODE ?= copy
# The machine's own certificate store, as apt and pip use (a company proxy's CA included).
export UV_SYSTEM_CERTS ?= 1
export GRADIO_ANALYTICS_ENABLED := False
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGSMITH_TRACING := false

.PHONY: run rehearse studio test setup pbx browser lint typecheck pytest clockcheck clean

$(CURDIR)/.uv/bin/uv:
	@echo "installing uv (the Python package manager) into .uv/ ..."
	bootstrap() { python3 -m venv "$(CURDIR)/.uv" >/dev/null 2>&1; }
	if ! command -v python3 >/dev/null 2>&1 || ! bootstrap; then
	  rm -rf "$(CURDIR)/.uv"
	  if [ "$$(id -u)" != 0 ]; then
	    echo "error: Python 3.11+ with venv is needed: sudo apt-get install python3 python3-venv" >&2
	    exit 1
	  fi
	  echo "installing python3-venv from the distribution's packages ..."
	  apt-get update -qq >/dev/null
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
	    python3 python3-venv >/dev/null
	  bootstrap || { echo "error: python3 -m venv failed even with python3-venv" >&2; exit 1; }
	fi
	"$(CURDIR)/.uv/bin/python" -m pip install --quiet --disable-pip-version-check uv
	"$(CURDIR)/.uv/bin/uv" --version

setup: $(UV)
	@"$(UV)" sync --frozen --quiet

pbx:
	@if [ "$${PBX_EXTERNAL:-false}" = "true" ]; then echo "using the external PBX (PBX_EXTERNAL=true)"; \
	elif [ -x asterisk/devpbx ]; then asterisk/devpbx up; \
	else echo "no development PBX in this build"; fi

browser:
	@tests/chromium.sh ensure

run: setup pbx
	@"$(UV)" run opendeep db upgrade
	"$(UV)" run opendeep user bootstrap
	# Without a model provider, the first run rehearses one demo campaign end to end, so the
	# PBX wiring is checked before anything is spent on models.
	# The demo campaign is the first user's (admin): it waits in their Campaigns tab.
	rehearsed="$${DATA_DIR:-data}/.rehearsed"
	if [ -z "$${OPENAI_API_KEY:-}" ] && ! grep -qs '^OPENAI_API_KEY=.' .env && [ ! -f "$$rehearsed" ]; then
	  if "$(UV)" run opendeep rehearse; then touch "$$rehearsed"; else echo "(the rehearsal did not finish; OpenDeep starts anyway)"; fi
	fi
	exec "$(UV)" run opendeep serve

rehearse: setup pbx
	@"$(UV)" run opendeep rehearse

studio: setup
	@exec "$(UV)" run langgraph dev --no-browser

lint: setup
	@"$(UV)" run ruff check .
	"$(UV)" run ruff format --check .
	"$(UV)" run lint-imports

typecheck: setup
	@"$(UV)" run mypy

pytest: setup browser
	@if [ -z "$${OPENDEEP_TEST_POSTGRES_URL:-}" ]; then
	  export OPENDEEP_TEST_POSTGRES_URL=$$(tests/pgserver.sh start)
	fi
	"$(UV)" run pytest $${PYTEST_ARGS:-}

# The unit suites at night in New York and across a daylight-saving change, against a daytime
# run (tests/clockcheck.sh): a test that reads the wall clock for a decision shows up here.
clockcheck: setup
	@tests/clockcheck.sh

test: setup lint typecheck pbx pytest clockcheck

clean:
	tests/pgserver.sh stop || true
	[ -x asterisk/devpbx ] && asterisk/devpbx down || true
