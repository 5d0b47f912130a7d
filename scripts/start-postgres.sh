#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for sync-kit's PostgreSQL tests and prints the lines that
# point the tests at it. Logs go to stderr; stdout carries only the `export` lines, so:
#
#   eval "$(scripts/start-postgres.sh)"      # start; sets SYNC_KIT_TEST_PG and SYNC_KIT_TEST_PG_DIR
#   npm test                                 # the PostgreSQL tests now run instead of skipping
#   scripts/start-postgres.sh stop "$SYNC_KIT_TEST_PG_DIR"   # stop the server, delete its files
#
# As root (CI, a container) it installs Debian's `postgresql` package when the server binaries are
# missing and runs the server as the `postgres` user (PostgreSQL refuses to run as root). As any
# other user it runs the server as that user and needs the binaries installed already
# (`sudo apt-get install -y postgresql`). The cluster lives in a new temporary directory, listens on
# 127.0.0.1 on a free port only, trusts local connections (test use only) and is not a service:
# nothing starts it again after a reboot.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin, else `pg_config --bindir`).
set -euo pipefail

log() { echo "[start-postgres] $*" >&2; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  if [ -x /usr/lib/postgresql/15/bin/postgres ]; then echo /usr/lib/postgresql/15/bin; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ]; then
    pg_config --bindir
    return
  fi
  echo /usr/lib/postgresql/15/bin
}

stop() {
  local dir="${1:-}"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    log "usage: $0 stop DIR (the SYNC_KIT_TEST_PG_DIR that start printed)"
    exit 2
  fi
  local bin
  bin="$(cat "$dir/bin" 2>/dev/null || find_bin)"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || log "pg_ctl stop failed"
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  local bin
  bin="$(find_bin)"
  if [ ! -x "$bin/postgres" ]; then
    if [ "$(id -u)" != 0 ]; then
      log "no PostgreSQL server in $bin; install it (sudo apt-get install -y postgresql) or set PG_BIN"
      exit 1
    fi
    log "installing Debian's postgresql package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin="$(find_bin)"
    [ -x "$bin/postgres" ] || { log "postgresql installed but $bin/postgres is missing; set PG_BIN"; exit 1; }
  fi

  local dir
  # As root, /tmp: the postgres user must reach the directory, which a root-only TMPDIR forbids.
  local base="${TMPDIR:-/tmp}"
  [ "$(id -u)" = 0 ] && base=/tmp
  dir="$(mktemp -d "$base/sync-kit-pg.XXXXXX")"
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  echo "$bin" >"$dir/bin"
  log "initdb in $dir/data"
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }

  local port attempt
  for attempt in 1 2 3; do
    port="$(free_port)"
    # Its own process group and no terminal: it outlives this script until `stop`.
    as_owner "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
      -c max_connections=200 </dev/null >"$dir/postgres.log" 2>&1 &
    local waited=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; do
      sleep 0.2
      waited=$((waited + 1))
      if [ ! -f "$dir/data/postmaster.pid" ] && [ "$waited" -gt 25 ]; then break; fi
      if [ "$waited" -gt 150 ]; then break; fi
    done
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
      log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') is up on 127.0.0.1:$port"
      echo "export SYNC_KIT_TEST_PG=postgres://postgres@127.0.0.1:$port/postgres"
      echo "export SYNC_KIT_TEST_PG_DIR=$dir"
      echo "# stop it: $0 stop $dir"
      return
    fi
    log "attempt $attempt: the server did not come up on port $port:"
    tail -n 5 "$dir/postgres.log" >&2 || true
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true; fi
  done
  rm -rf "$dir"
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) log "usage: $0 [start | stop DIR]"; exit 2 ;;
esac
