# ADM kiosk controller: `make run` (simulated kiosk, no root) and `make test` (everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages for the full test suite (real pcscd, cupsd, ippeveprinter, Chromium, Prometheus).
APT_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev libzbar0 cups-daemon cups-client cups-filters \
	cups-ipp-utils printer-driver-cups-pdf ghostscript poppler-utils libcups2-dev dbus-daemon chromium \
	socat iproute2 gcc python3-dev python3-venv prometheus prometheus-alertmanager fonts-dejavu-core espeak-ng
# Headers needed to build pyscard and pycups (the `hardware` extra).
HW_HEADERS := /usr/include/PCSC/winscard.h /usr/include/cups/cups.h
PYTEST_ARGS ?=
# Test modules run on workers side by side (pytest-xdist, a module whole on one worker; the modules that need the
# machine's one pcscd take turns, tests/conftest.py): most of the suite waits on printers, peers and browsers, not
# on the CPU. PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2

.PHONY: help run test unit bench screens soak lint system-deps venv clean speech

help:
	@echo "make run    - start the kiosk with simulated hardware on http://127.0.0.1:8000 (no root needed)"
	@echo "make test   - install what the tests need (apt packages when root) and run the whole suite"
	@echo "make bench  - run the benchmarks and print their tables"
	@echo "make lint   - ruff and the import-linter contracts"
	@echo "make speech - the spoken prompts from the translation catalogue (espeak-ng; made by run and test too)"
	@echo "make screens - screenshots of every screen (both languages) into docs/screens/"
	@echo "make soak   - the concurrent soak (2,000 sessions, faults mid-job) and docs/reliability.md"

$(VENV)/.base: pyproject.toml
	@if ! test -x $(PY); then \
		if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
			if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
			else echo "Python's venv module is missing: sudo apt-get install python3-venv"; exit 1; fi; \
		fi; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	@touch $@

# pyscard/pycups only where their headers exist; otherwise say why and go on (the in-process simulation needs neither).
$(VENV)/.hardware: $(VENV)/.base
	@if ls $(HW_HEADERS) >/dev/null 2>&1; then \
		$(PIP) install -q -e '.[hardware]' && touch $@; \
	else \
		echo "note: pyscard/pycups not installed (needs libpcsclite-dev libcups2-dev); real readers and CUPS disabled"; \
	fi

$(VENV)/.test: $(VENV)/.base
	$(PIP) install -q -e '.[hardware,test]'
	@touch $@ $(VENV)/.hardware

venv: $(VENV)/.base

# Spoken prompts (kiosk/speech.py): made from the catalogue before the kiosk runs or is tested; without espeak-ng the
# tool says so and the kiosk runs silent (doctor says so too).
speech: $(VENV)/.base
	$(PY) tools/speech.py

run: $(VENV)/.base speech
	@$(MAKE) -s $(VENV)/.hardware || true
	$(VENV)/bin/adm-kiosk run --sim

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "missing system packages (run as root, or: sudo apt-get install $$missing)"; \
		echo "tests that need them will be skipped with a reason"; \
	fi

# The import-linter contracts first (ARCHITECTURE.md section 1): a broken layer fails in a second, before the suite.
test: system-deps $(VENV)/.test speech
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: $(VENV)/.test speech
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check kiosk drivers ui printer_profiles hardware_sim tests bench tools
	$(VENV)/bin/lint-imports

bench: system-deps $(VENV)/.test
	@for b in bench/bench_*.py; do echo; echo "== $$b"; $(PY) $$b || echo "($$b failed)"; done

screens: system-deps $(VENV)/.test speech
	$(PY) tools/screens.py

# 2,000 concurrent citizen sessions on two kiosks, seeded faults mid-job; the checker's own tests first,
# the witnesses' verdict at the end, then docs/reliability.md (which refuses figures of failed tests).
SOAK_SESSIONS ?= 2000
soak: $(VENV)/.test
	$(PY) -m pytest -q tests/reliability/test_ledger.py
	$(PY) tools/soak.py --sessions $(SOAK_SESSIONS) --kiosks 2 --seed 2024
	$(PY) tools/reliability_report.py

clean:
	rm -rf var .pytest_cache
