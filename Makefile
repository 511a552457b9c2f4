# Quick start: `make run` (set up + run the station), `make test` (set up + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: setup
	$(BIN)/printstation convert tests/data/demo-sticker.svg --lang png -o var/out/demo.png && echo "wrote var/out/demo.png"

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/convert.py

clean:
	rm -rf $(VENV) var .pytest_cache
