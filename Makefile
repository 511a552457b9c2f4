# Quick start: `make run` (set up + run the station), `make test` (set up + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test bench clean zplrender

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres]'
	touch $@

run: setup
	$(BIN)/printstation run

# The independent ZPL renderer for tests (zpl-renderer-js under node); skipped when node is absent.
ZPLRENDER := tests/zplrender
zplrender: $(ZPLRENDER)/node_modules/.installed

$(ZPLRENDER)/node_modules/.installed: $(ZPLRENDER)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(ZPLRENDER) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "node/npm not found: native ZPL render-back tests will be skipped"; fi

# mypy first (settings in pyproject.toml [tool.mypy]): a type error fails the run before the tests.
test: setup zplrender
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/convert.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
