#!/usr/bin/env bash
# `make test`: start a real Elasticsearch, a real OpenSearch, a real PostgreSQL and a 3-node ES cluster, run the
# whole suite with the tests of each required, stop them whatever happens.
set -uo pipefail
cd "$(dirname "$0")/../.."
ES_BASE=${ES_HOME_BASE:-/opt/interdict-es-test}
OS_BASE=${OS_HOME_BASE:-/opt/interdict-os-test}
PG_BASE=${PG_HOME_BASE:-/opt/interdict-pg-test}
CLUSTER_BASE=${ES_CLUSTER_HOME_BASE:-/opt/interdict-es-cluster-test}
stop() {
  ES_HOME_BASE="$ES_BASE" bash tests/support/es_server.sh stop
  ES_HOME_BASE="$OS_BASE" bash tests/support/os_server.sh stop
  PG_HOME_BASE="$PG_BASE" bash tests/support/pg_server.sh stop
  ES_HOME_BASE="$CLUSTER_BASE" bash tests/support/es_cluster.sh stop
}
trap stop EXIT
url=$(ES_HOME_BASE="$ES_BASE" bash tests/support/es_server.sh start) \
  || { echo "make test: Elasticsearch did not start" >&2; exit 1; }
os_url=$(ES_HOME_BASE="$OS_BASE" bash tests/support/os_server.sh start) \
  || { echo "make test: OpenSearch did not start" >&2; exit 1; }
pg_url=$(PG_HOME_BASE="$PG_BASE" bash tests/support/pg_server.sh start) \
  || { echo "make test: PostgreSQL did not start" >&2; exit 1; }
cluster_urls=$(ES_HOME_BASE="$CLUSTER_BASE" bash tests/support/es_cluster.sh start) \
  || { echo "make test: the 3-node Elasticsearch cluster did not start" >&2; exit 1; }
export INTERDICT_ES_CLUSTER_URLS="$cluster_urls" INTERDICT_ES_CLUSTER_HOME="$CLUSTER_BASE" INTERDICT_REQUIRE_ES_CLUSTER=1
export INTERDICT_PG_URL="$pg_url" INTERDICT_REQUIRE_PG=1
export INTERDICT_ES_URL="$url" INTERDICT_REQUIRE_ES=1 INTERDICT_OPENSEARCH_URL="$os_url" INTERDICT_REQUIRE_OPENSEARCH=1
.venv/bin/python -m pytest -p no:cacheprovider -rfEs "$@"
