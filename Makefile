# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench install setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

setup: install
	$(BIN)/despp migrate --noinput
	$(BIN)/despp collectstatic --noinput --verbosity 0
	$(BIN)/despp load-reference
	$(BIN)/despp load-demo

run: setup
	$(BIN)/despp demo-logins
	$(BIN)/uvicorn despp.asgi:application --host $(HOST) --port $(PORT) --workers 2

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/despp makemigrations --check --dry-run
	DESPP_ENV=production DESPP_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') DESPP_ALLOWED_HOSTS=despp.example \
		$(BIN)/despp check --deploy --fail-level WARNING

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
