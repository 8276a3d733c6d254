# Two commands for a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run chat test lint catalogs bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

catalogs: $(VENV)/.installed
	$(PY) -c "from bot.i18n import compile_catalogs; compile_catalogs()"

## Install and start the bot (web chat on http://127.0.0.1:8080/, Telegram/Zalo when configured).
run: catalogs
	$(PY) -m bot

## Chat with the bot in this terminal.
chat: catalogs
	$(PY) -m bot chat

## Install the dev tools, a browser and PostgreSQL, compile the catalogs, lint, run the whole test suite.
test: $(VENV)/.dev catalogs lint
	bash .ci/ensure-chromium
	bash .ci/ensure-postgres
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check bot handlers tests bench
	$(VENV)/bin/ruff format --check bot handlers tests bench
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) bench/store.py --dir /tmp/nds-bench-store
	$(PY) bench/faq.py
	$(PY) bench/router.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
