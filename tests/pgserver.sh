#!/usr/bin/env bash
# A throw-away PostgreSQL for the test suite, on 127.0.0.1 only.
#   tests/pgserver.sh start   -> installs Debian's postgresql if missing, starts a private
#                                cluster under .pgtest/, prints the URL for OPENDEEP_TEST_POSTGRES_URL
#   tests/pgserver.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
PGROOT="${PGTEST_DIR:-$PWD/.pgtest}"
PORT="${PGTEST_PORT:-55432}"
PASSWORD="opendeep-test"   # a local test cluster on loopback, created and destroyed by the tests
URL="postgresql://opendeep:${PASSWORD}@127.0.0.1:${PORT}/postgres"

pgbin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || return 1
  echo "$dir"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if ! pgbin >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "PostgreSQL is not installed; run as root or: sudo apt-get install postgresql" >&2; exit 1; }
    echo "installing PostgreSQL from Debian's packages..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 postgresql >/dev/null
  fi
  local bin; bin=$(pgbin)
  mkdir -p "$PGROOT"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
  if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
    local pwfile; pwfile=$(mktemp); echo "$PASSWORD" > "$pwfile"; chmod 644 "$pwfile"
    as_pg "$bin/initdb" -D "$PGROOT/data" -U opendeep --pwfile="$pwfile" -A scram-sha-256 >/dev/null
    rm -f "$pwfile"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGROOT -c fsync=off -c max_connections=200" start >/dev/null
  fi
  echo "$URL"
}

stop() {
  local bin; bin=$(pgbin) || exit 0
  [ -f "$PGROOT/data/PG_VERSION" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$PGROOT/data" -m fast stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
