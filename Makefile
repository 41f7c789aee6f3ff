# The README's two commands: `make demo` and `make test`. Each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast bench bench-smoke system-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Install signoff itself (not editable, as a user gets it) and build a demo register in a fresh folder.
demo: $(BIN)/python
	$(BIN)/pip install -q .
	cd "$$(mktemp -d)" && $(CURDIR)/$(BIN)/signoff demo --dir register && echo "(demo register: $$PWD/register)"

# Debian's chromium renders the board pack in the browser test, Debian's postgresql server runs
# the PostgreSQL tests (each test run starts its own throwaway cluster), and Debian's openssh-client
# gives the signature tests the real ssh-keygen and ssh-agent; installed only when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v ssh-keygen >/dev/null 2>&1 || missing="$$missing openssh-client"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing:$$missing — run 'sudo apt-get install$$missing' for the browser, PostgreSQL and signature tests"; fi; \
	fi

# Lint, type-check and run every test, the reliability suite included. The tests start a great many
# CLI processes; with PYTHONDONTWRITEBYTECODE set (some machines set it for everyone) each of them
# would compile signoff from source again, so the test run lets Python keep its bytecode caches.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

test: $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PYTEST) -n 2

# The same without the tests marked slow (stress, crash loops, fuzzing, PostgreSQL clusters, wheel
# builds...), for a quick check while working; the fast tests of every folder still run.
test-fast: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PYTEST) -n 2 -m "not slow"
