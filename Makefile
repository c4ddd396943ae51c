# The README's first two commands are the contract: `make demo` and `make test`. Each does its own setup.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv system-deps es-start es-stop os-start os-stop pg-start pg-stop bench clean lint-lexicon

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the browser-mode crawler and the UI tests need. Idempotent; root or sudo.
system-deps:
	@bash tests/support/system_deps.sh

demo: venv
	$(BIN)/python -m interdict.demo

# Full suite against a real Elasticsearch and a real OpenSearch, started here and stopped afterwards, whatever happens.
test: venv system-deps
	@bash tests/support/run_tests.sh

es-start:
	@bash tests/support/es_server.sh start

es-stop:
	@bash tests/support/es_server.sh stop

os-start:
	@bash tests/support/os_server.sh start

os-stop:
	@bash tests/support/os_server.sh stop

pg-start:
	@bash tests/support/pg_server.sh start

pg-stop:
	@bash tests/support/pg_server.sh stop

bench: venv
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info
