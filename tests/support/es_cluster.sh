#!/usr/bin/env bash
# A real 3-node Elasticsearch cluster for the scale-out tests: three processes of the integ-test distribution
# (fetched by es_server.sh), each with its own config copy, data dir, small heap and free loopback ports, run as
# the same dedicated non-root user. All three are master-eligible, so the cluster keeps a quorum with one node down.
#   es_cluster.sh start          -> prints the nodes' URLs, comma-separated (the store spec of a cluster)
#   es_cluster.sh stop           -> stops every node
#   es_cluster.sh kill-node N    -> SIGKILLs node N (1..3), as a crash would
#   es_cluster.sh start-node N   -> starts node N again with its data, waits until the cluster sees 3 nodes
set -euo pipefail
cd "$(dirname "$0")"
export ES_HOME_BASE=${ES_HOME_BASE:-/opt/interdict-es-cluster}
ES_USER=${ES_USER:-interdict-es}; ES_HEAP=${ES_CLUSTER_HEAP:-256m}; NODES=3
ES_JAVA_HOME=${ES_JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -n1)}
RUN_DIR="$ES_HOME_BASE/cluster"

log() { echo "es_cluster: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_node() {
  local i=$1 home; home=$(cat "$RUN_DIR/home")
  local dir="$RUN_DIR/node-$i"
  ( cd "$home" && export ES_JAVA_HOME="$ES_JAVA_HOME" ES_PATH_CONF="$dir/config" \
      ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" &&
    exec setsid setpriv --reuid="$ES_USER" --regid="$(id -g "$ES_USER")" --init-groups \
    bin/elasticsearch -E cluster.name=interdict-test-cluster -E node.name="node-$i" \
      -E xpack.security.enabled=false -E network.host=127.0.0.1 \
      -E http.port="$(cat "$dir/http_port")" -E transport.port="$(cat "$dir/transport_port")" \
      -E discovery.seed_hosts="$(cat "$RUN_DIR/seeds")" -E cluster.initial_master_nodes=node-1,node-2,node-3 \
      -E path.data="$dir/data" -E path.logs="$dir/logs" \
      -E cluster.routing.allocation.disk.threshold_enabled=false ) \
    </dev/null >>"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
}

wait_nodes() {
  local want=$1 url; url=$(cut -d, -f1 "$RUN_DIR/urls")
  for _ in $(seq 1 180); do
    for u in $(tr , ' ' <"$RUN_DIR/urls"); do
      if curl -fsS "$u/_cluster/health?wait_for_nodes=$want&wait_for_status=green&timeout=1s" >/dev/null 2>&1; then
        return 0
      fi
    done
    sleep 1
  done
  log "the cluster did not reach $want nodes in 180 s; last log lines of each node:"
  for i in $(seq 1 $NODES); do tail -n 15 "$RUN_DIR/node-$i/stdout.log" >&2 || true; done
  return 1
}

start() {
  local home; home=$(bash es_server.sh fetch)
  stop_quiet
  rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"; echo "$home" >"$RUN_DIR/home"
  local seeds=() urls=()
  for i in $(seq 1 $NODES); do
    local dir="$RUN_DIR/node-$i"; mkdir -p "$dir/data" "$dir/logs"
    cp -r "$home/config" "$dir/config"
    free_port >"$dir/http_port"; free_port >"$dir/transport_port"
    seeds+=("127.0.0.1:$(cat "$dir/transport_port")"); urls+=("http://127.0.0.1:$(cat "$dir/http_port")")
  done
  (IFS=,; echo "${seeds[*]}" >"$RUN_DIR/seeds"; echo "${urls[*]}" >"$RUN_DIR/urls")
  chown -R "$ES_USER" "$home" "$RUN_DIR"
  log "starting $NODES nodes (heap $ES_HEAP each): $(cat "$RUN_DIR/urls")"
  for i in $(seq 1 $NODES); do start_node "$i"; done
  wait_nodes $NODES || { stop_quiet; exit 1; }
  log "ready"; cat "$RUN_DIR/urls"
}

stop_node() {
  local pidfile="$RUN_DIR/node-$1/pid" sig=${2:-TERM}
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop_quiet() {
  [ -d "$RUN_DIR" ] || return 0
  for i in $(seq 1 $NODES); do stop_node "$i"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop_quiet; log "stopped" ;;
  kill-node) stop_node "${2:?node number}" KILL; log "node-$2 killed" ;;
  start-node) start_node "${2:?node number}"; wait_nodes $NODES; log "node-$2 back" ;;
  urls) cat "$RUN_DIR/urls" ;;
  *) echo "usage: $0 start|stop|kill-node N|start-node N|urls" >&2; exit 2 ;;
esac
