# Two entry points: `make run` serves on the offline model, `make test` runs everything CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck lock lock-local-llm clean system-deps node-deps bench test-local-llm bench-local-llm

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

# System packages the tests use (Debian; CI runs as root): a real redis-server, and
# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
# Nothing happens when they are present.
SYSTEM_PACKAGES := redis-server:redis-server chromium:chromium prometheus:prometheus
system-deps:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  command -v "$${entry%%:*}" >/dev/null || missing="$$missing $${entry##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# The official AG-UI client that tests drive POST /ag-ui with (pinned in package-lock.json).
NODE_DIR   := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Without npm the AG-UI client tests skip on a developer's machine; in CI they must run.
node-deps:
	@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory $(NODE_STAMP); \
	elif [ -n "$$CI" ]; then echo "npm is required in CI" >&2; exit 1; \
	else echo "npm not found: the AG-UI client tests will be skipped" >&2; fi

test: system-deps node-deps lint typecheck
	$(BIN)/python -m pytest

# A real model here, no credentials: llama.cpp's OpenAI-compatible server + SmolLM2-135M
# (docs/local-llm.md). Not in `make test`: llama-cpp-python has no wheel and builds with
# cmake/g++ (8 min 42 s on this shared 2-core machine; pip caches the wheel after). A missing
# dependency fails these tests, and so does a skip or an empty selection (pytest exit 5).
LOCAL_LLM_STAMP := $(VENV)/.local-llm-installed

$(LOCAL_LLM_STAMP): $(STAMP) requirements-local-llm.lock
	$(BIN)/pip install --quiet -c requirements.lock -c requirements-local-llm.lock -e '.[dev,local-llm]'
	touch $(LOCAL_LLM_STAMP)

test-local-llm: $(LOCAL_LLM_STAMP)
	$(BIN)/python -m pytest -m local_llm tests/test_local_llm.py tests/test_local_llm_wire.py tests/test_bench_smoke.py

bench-local-llm: $(LOCAL_LLM_STAMP)
	$(BIN)/python -m bench local_llm

# Speed against the seed loop and the goals (a few minutes; loopback only): bench/RESULTS.md.
bench: $(STAMP) system-deps
	$(BIN)/python -m bench

# Re-resolve the pins after changing pyproject dependencies.
lock:
	rm -rf /tmp/agents-app-lock && $(PYTHON) -m venv /tmp/agents-app-lock
	/tmp/agents-app-lock/bin/pip install --quiet '.[dev]'
	/tmp/agents-app-lock/bin/pip freeze --exclude agents-app > requirements.lock

# The local-llm extra's own dependencies (fastapi, numpy, llm…), pinned beside requirements.lock.
lock-local-llm: $(LOCAL_LLM_STAMP)
	{ echo "# The local-llm extra's pins beyond requirements.lock (pip constraints). Regenerate with \`make lock-local-llm\`."; \
	  $(BIN)/pip freeze --exclude agents-app | grep -vxF -f requirements.lock; } > requirements-local-llm.lock

clean:
	rm -rf $(VENV)
