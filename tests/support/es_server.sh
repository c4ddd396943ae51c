#!/usr/bin/env bash
# Real Elasticsearch (or, with ENGINE=opensearch, OpenSearch: see os_server.sh) for tests and CI: fetch the
# integ-test zip with mvn (cached in ~/.m2), unpack it outside /root, run it as a dedicated non-root user on
# 127.0.0.1 on a free port, wait on cluster health. Neither integ-test zip carries a security plugin.
#   es_server.sh start   -> prints the URL and writes it to $ES_HOME_BASE/url
#   es_server.sh stop
set -euo pipefail
ENGINE=${ENGINE:-elasticsearch}
if [ "$ENGINE" = opensearch ]; then
  ES_VERSION=${ES_VERSION:-3.3.2}; GROUP=org.opensearch; NAME=OpenSearch
  ES_HOME_BASE=${ES_HOME_BASE:-/opt/interdict-os}; ES_USER=${ES_USER:-interdict-os}; ES_HEAP=${ES_HEAP:-384m}
  # no security plugin in the integ-test zip; the query language allows 1,000 terms over three text fields,
  # past OpenSearch's default of 1,024 clauses (ES 9 sizes the limit from the heap)
  SECURITY=(-E indices.query.bool.max_clause_count=4096)
else
  ES_VERSION=${ES_VERSION:-9.2.4}; GROUP=org.elasticsearch; NAME=Elasticsearch
  ES_HOME_BASE=${ES_HOME_BASE:-/opt/interdict-es}; ES_USER=${ES_USER:-interdict-es}; ES_HEAP=${ES_HEAP:-512m}
  SECURITY=(-E xpack.security.enabled=false)
fi
ES_JAVA_HOME=${ES_JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -n1)}
ART="$GROUP.distribution.integ-test-zip:$ENGINE:${ES_VERSION}:zip"
ZIP="$HOME/.m2/repository/${GROUP//.//}/distribution/integ-test-zip/$ENGINE/${ES_VERSION}/$ENGINE-${ES_VERSION}.zip"
HOME_DIR="$ES_HOME_BASE/$ENGINE-${ES_VERSION}"
RUN_DIR="$ES_HOME_BASE/run"

log() { echo "${ENGINE}_server: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Fetch and unpack the distribution, create the user, check the JDK (also used by es_cluster.sh).
fetch() {
  if [ ! -f "$ZIP" ]; then
    log "fetching $ART with mvn"
    mvn -q -B dependency:get -Dartifact="$ART" -Dtransitive=false >&2
  fi
  if [ ! -d "$HOME_DIR" ]; then
    mkdir -p "$ES_HOME_BASE"
    unzip -q -o "$ZIP" -d "$ES_HOME_BASE"
  fi
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  [ -n "$ES_JAVA_HOME" ] && [ -x "$ES_JAVA_HOME/bin/java" ] || { log "no JDK found for ES_JAVA_HOME (need Java >= 21)"; exit 1; }
}

start() {
  fetch
  stop_quiet
  rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs"
  chown -R "$ES_USER" "$HOME_DIR" "$RUN_DIR"
  local port tport
  port=$(free_port); tport=$(free_port)
  log "starting $NAME $ES_VERSION on 127.0.0.1:$port (java: $ES_JAVA_HOME)"
  # The whole background job gets its own stdio: a caller doing url=$(es_server.sh start) must not wait on ES.
  ( cd "$HOME_DIR" && export ES_JAVA_HOME="$ES_JAVA_HOME" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
      OPENSEARCH_JAVA_HOME="$ES_JAVA_HOME" OPENSEARCH_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" &&
    exec setsid setpriv --reuid="$ES_USER" --regid="$(id -g "$ES_USER")" --init-groups \
    "bin/$ENGINE" -E discovery.type=single-node "${SECURITY[@]}" \
      -E network.host=127.0.0.1 -E http.port="$port" -E transport.port="$tport" \
      -E path.data="$RUN_DIR/data" -E path.logs="$RUN_DIR/logs" \
      -E cluster.routing.allocation.disk.threshold_enabled=false ) \
    </dev/null >"$RUN_DIR/stdout.log" 2>&1 &
  echo $! >"$RUN_DIR/pid"
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 180); do
    if curl -fsS "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      echo "$url" >"$RUN_DIR/url"; log "ready at $url"; echo "$url"; return 0
    fi
    if ! kill -0 "$(cat "$RUN_DIR/pid")" 2>/dev/null; then
      log "$NAME exited during start-up; last log lines:"; tail -n 30 "$RUN_DIR/stdout.log" >&2; exit 1
    fi
    sleep 1
  done
  log "$NAME did not become healthy in 180 s"; tail -n 30 "$RUN_DIR/stdout.log" >&2; stop_quiet; exit 1
}

stop_quiet() {
  [ -f "$RUN_DIR/pid" ] || return 0
  local pid; pid=$(cat "$RUN_DIR/pid")
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 -- "-$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/pid" "$RUN_DIR/url"
}

case "${1:-}" in
  start) start ;;
  fetch) fetch; echo "$HOME_DIR" ;;
  stop) stop_quiet; log "stopped" ;;
  url) cat "$RUN_DIR/url" ;;
  *) echo "usage: $0 start|stop|url|fetch" >&2; exit 2 ;;
esac
