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

# Debian's chromium renders the board pack in the browser test; installed only when missing.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' for the board-pack browser test"; fi; }

# Lint, type-check and run every test, the reliability suite included.
test: $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# The same without the slow reliability suite, for a quick check while working.
test-fast: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -m "not reliability"
