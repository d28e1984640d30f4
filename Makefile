# OpenDeep — the two commands of the README, and their parts.
#   make run    set up everything on a fresh machine and run OpenDeep on its embedded defaults
#   make test   set up everything and run the whole test suite (lint, types, tests)
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
UV := $(shell command -v uv 2>/dev/null || echo "$$HOME/.local/bin/uv")
export UV_LINK_MODE ?= copy
export GRADIO_ANALYTICS_ENABLED := False
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGSMITH_TRACING := false

.PHONY: run rehearse studio test setup pbx lint typecheck pytest clean

setup:
	@if ! command -v uv >/dev/null 2>&1 && [ ! -x "$(UV)" ]; then
	  echo "installing uv (the Python package manager) ..."
	  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	fi
	UV=$$(command -v uv || echo "$(UV)")
	$$UV sync --frozen --quiet

pbx:
	@if [ "$${PBX_EXTERNAL:-false}" = "true" ]; then echo "using the external PBX (PBX_EXTERNAL=true)"; \
	elif [ -x asterisk/devpbx ]; then asterisk/devpbx up; \
	else echo "no development PBX in this build"; fi

run: setup pbx
	@UV=$$(command -v uv || echo "$(UV)")
	$$UV run opendeep db upgrade
	$$UV run opendeep user bootstrap
	# Without a model provider, the first run rehearses one demo campaign end to end, so the
	# PBX wiring is checked before anything is spent on models.
	if [ -z "$${OPENAI_API_KEY:-}" ] && ! grep -qs '^OPENAI_API_KEY=.' .env && [ ! -f data/.rehearsed ]; then
	  if $$UV run opendeep rehearse; then touch data/.rehearsed; else echo "(the rehearsal did not finish; OpenDeep starts anyway)"; fi
	fi
	exec $$UV run opendeep serve

rehearse: setup pbx
	@UV=$$(command -v uv || echo "$(UV)")
	$$UV run opendeep rehearse

studio: setup
	@UV=$$(command -v uv || echo "$(UV)")
	exec $$UV run langgraph dev --no-browser

lint: setup
	@UV=$$(command -v uv || echo "$(UV)")
	$$UV run ruff check .
	$$UV run ruff format --check .

typecheck: setup
	@UV=$$(command -v uv || echo "$(UV)")
	$$UV run mypy

pytest: setup
	@UV=$$(command -v uv || echo "$(UV)")
	if [ -z "$${OPENDEEP_TEST_POSTGRES_URL:-}" ]; then
	  export OPENDEEP_TEST_POSTGRES_URL=$$(tests/pgserver.sh start)
	fi
	$$UV run pytest $${PYTEST_ARGS:-}

test: setup lint typecheck pbx pytest

clean:
	tests/pgserver.sh stop || true
	[ -x asterisk/devpbx ] && asterisk/devpbx down || true
