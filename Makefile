# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with Python 3.11 and installs the project with what it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install system-deps browser-deps test-deps

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: system-deps $(STAMP)

# The test suite also drives a real browser.
test-deps: browser-deps

# PortAudio for PyAudio (radio gateway). Installed only where apt-get exists and we may use it.
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q libportaudio; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq portaudio19-dev >/dev/null; \
	  else echo "note: PortAudio not found; install portaudio19-dev for the radio gateway's sound-card input"; fi; \
	fi

demo: install
	$(BIN)/helpline15 demo

test: install test-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# Debian's Chromium for the browser tests (tests/workflow). Never `playwright install`: the
# tests drive the system browser. Installed only where apt-get exists and we are root.
browser-deps:
	@if ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-core >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-core >/dev/null; } \
	      || echo "warning: could not install Chromium/fonts; browser tests need /usr/bin/chromium"; \
	  else echo "note: Chromium not found; install Debian's chromium for the browser tests (or set H15_CHROMIUM)"; fi; \
	fi
