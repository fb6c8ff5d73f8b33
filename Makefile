# Two entry points: `make run` serves on the offline model, `make test` runs everything CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/agents-app serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

# Re-resolve the pins after changing pyproject dependencies.
lock:
	rm -rf /tmp/agents-app-lock && $(PYTHON) -m venv /tmp/agents-app-lock
	/tmp/agents-app-lock/bin/pip install --quiet '.[dev]'
	/tmp/agents-app-lock/bin/pip freeze --exclude agents-app > requirements.lock

clean:
	rm -rf $(VENV)
