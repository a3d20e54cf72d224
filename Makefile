# The two commands: `make run` and `make test`. Everything else is a step they take.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint bench audit venv pwa broker chromium clean reset-demo

run: venv pwa broker
	PYTHONWARNINGS=ignore::DeprecationWarning $(PY) -m infra.run

test: venv pwa broker chromium
	$(PY) -m infra.testall

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

pwa: pwa/dist/index.html
pwa/dist/index.html: $(shell find pwa/src pwa/public -type f 2>/dev/null) pwa/package.json pwa/package-lock.json pwa/vite.config.js pwa/index.html contracts/vocabulary.json
	cd pwa && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

broker:
	@infra/ensure_rabbitmq.sh

chromium:
	@infra/ensure_chromium.sh

bench: venv broker
	$(PY) -m bench.auth
	$(PY) -m bench.locate
	$(PY) -m bench.households --import-households 10000 --search-households 50000
	$(PY) -m bench.points_till
	$(PY) -m bench.points_awards
	$(PY) -m bench.points_audit
	$(PY) -m bench.cases
	$(PY) -m bench.notify_stream
	$(PY) -m bench.notify_announce
	$(PY) -m bench.faults

# Empty the database `make run` uses (asks first); the next `make run` loads the demo afresh.
reset-demo: venv
	PYTHONWARNINGS=ignore::DeprecationWarning $(PY) -m infra.demo --reset

# Check the points ledger's invariants (MONGO_URL / DB_PREFIX name the database).
audit: venv
	$(PY) -m services.points.audit

clean:
	rm -rf var pwa/dist
