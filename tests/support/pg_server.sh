#!/usr/bin/env bash
# Real PostgreSQL for tests and CI, from Debian's postgresql package: a throwaway cluster (initdb) under
# $PG_HOME_BASE, run as a dedicated non-root user on 127.0.0.1 on a free port, trust auth on loopback only.
#   pg_server.sh start   -> prints a SQLAlchemy URL (postgresql+psycopg://interdict@127.0.0.1:PORT/interdict)
#                           and writes it to $PG_HOME_BASE/url
#   pg_server.sh stop
set -euo pipefail
PG_HOME_BASE=${PG_HOME_BASE:-/opt/interdict-pg}
PG_USER=${PG_USER:-interdict-pg}
RUN_DIR="$PG_HOME_BASE/run"

log() { echo "pg_server: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
as_pg() { setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --init-groups "$@"; }

start() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || { log "no PostgreSQL server found (Debian package postgresql)"; exit 1; }
  id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  stop_quiet
  rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"; chown "$PG_USER" "$RUN_DIR"; chmod 700 "$RUN_DIR"
  as_pg "$bin/initdb" -D "$RUN_DIR/data" -U interdict -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$RUN_DIR/initdb.log" 2>&1 \
    || { log "initdb failed:"; tail -n 20 "$RUN_DIR/initdb.log" >&2; exit 1; }
  local port; port=$(free_port)
  log "starting PostgreSQL ($bin) on 127.0.0.1:$port"
  as_pg "$bin/pg_ctl" -D "$RUN_DIR/data" -l "$RUN_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $RUN_DIR -c fsync=off -c max_connections=200" start >&2 \
    || { log "PostgreSQL did not start:"; tail -n 20 "$RUN_DIR/server.log" >&2; exit 1; }
  echo "$port" >"$RUN_DIR/port"
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U interdict interdict
  local url="postgresql+psycopg://interdict@127.0.0.1:$port/interdict"
  echo "$url" >"$RUN_DIR/url"; log "ready at $url"; echo "$url"
}

stop_quiet() {
  local bin; bin=$(pg_bin)
  [ -f "$RUN_DIR/data/postmaster.pid" ] || return 0
  as_pg "$bin/pg_ctl" -D "$RUN_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -f "$RUN_DIR/url" "$RUN_DIR/port"
}

case "${1:-}" in
  start) start ;;
  stop) stop_quiet ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
