# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make run   - venv, install, migrate, demo data, then web + Celery worker + beat on :8000
#   make test  - the same set-up, then lint and the whole test suite
#   (make test-fast: the inner loop, without the slow integration and browser tests)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: run test test-fast setup install lint format clean bench bench-poll bench-status \
	bench-metrics bench-pdf bench-escalation bench-intake bench-runbooks bench-fanout

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.11 or newer is required (python3.11, python3.12 or python3 >= 3.11)"; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

var:
	@mkdir -p var

setup: $(STAMP) var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_postmortems
	$(PY) manage.py seed_runbooks

run: setup
	$(PY) manage.py serve

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(STAMP) var lint
	$(PY) manage.py check
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: everything but the slow tests (real workers, servers, browsers).
test-fast: $(STAMP) var
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP) var
	$(PY) tests/bench/bench_pages.py

bench-poll: $(STAMP) var
	$(PY) tests/bench/bench_poll.py

bench-status: $(STAMP) var
	$(PY) tests/bench/bench_status.py

bench-metrics: $(STAMP) var
	$(PY) tests/bench/bench_metrics.py

bench-pdf: $(STAMP) var
	$(PY) tests/bench/bench_postmortem_pdf.py

bench-escalation: $(STAMP) var
	$(PY) tests/bench/bench_escalation.py

bench-intake: $(STAMP) var
	$(PY) tests/bench/bench_intake.py

bench-runbooks: $(STAMP) var
	$(PY) tests/bench/bench_runbooks.py

bench-fanout: $(STAMP) var
	$(PY) tests/bench/bench_fanout.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
