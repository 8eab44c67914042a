# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with Python 3.11 and installs the project with what it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every installed version, transitive ones included, with hashes. Refresh with `make lock`
# (keeps current pins, adds what pyproject.toml newly asks for) or `make lock UPGRADE=1`.
# requirements-runtime.lock is the same versions without the dev tools, for the Docker image.
LOCK := requirements.lock
LOCK_INPUTS := pyproject.toml requirements-build.in

.PHONY: demo test lint install lock system-deps browser-deps test-deps

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; echo "requirements.lock does not cover pyproject.toml: run make lock"; exit 1; }
	@# Fit triage once now (one to two minutes on one core; cached in ~/.cache/helpline15/triage), not at the first call.
	$(BIN)/python -c "from dispatch.intake.service import default_triage as t; print('triage model:', t().classifier.name)"
	@touch $(STAMP)

lock: | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/uv pip compile $(LOCK_INPUTS) --extra dev --generate-hashes --python-version 3.11 \
	  --custom-compile-command 'make lock' -q -o $(LOCK) $(if $(UPGRADE),--upgrade)
	$(BIN)/uv pip compile $(LOCK_INPUTS) --generate-hashes --python-version 3.11 -c $(LOCK) \
	  --custom-compile-command 'make lock' -q -o requirements-runtime.lock

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
