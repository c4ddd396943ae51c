#!/usr/bin/env bash
# `make test`: start a real Elasticsearch, run the whole suite with ES tests required, stop ES.
set -uo pipefail
cd "$(dirname "$0")/../.."
export ES_HOME_BASE=${ES_HOME_BASE:-/opt/interdict-es-test}
url=$(bash tests/support/es_server.sh start) || { echo "make test: Elasticsearch did not start" >&2; exit 1; }
trap 'bash tests/support/es_server.sh stop' EXIT
export INTERDICT_ES_URL="$url" INTERDICT_REQUIRE_ES=1
.venv/bin/python -m pytest -p no:cacheprovider -rfEs "$@"
