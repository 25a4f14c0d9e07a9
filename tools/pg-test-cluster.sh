#!/usr/bin/env bash
# Starts (or reuses) a throw-away PostgreSQL cluster for tests, without touching system services.
#
#   tools/pg-test-cluster.sh [start] [DIR]   start a cluster in DIR, or reuse the one running there;
#                                            prints TEMPO_TEST_POSTGRES_URL=postgres://... on stdout
#   tools/pg-test-cluster.sh stop [DIR]      stop the cluster in DIR and delete DIR
#   tools/pg-test-cluster.sh halt [DIR]      stop the cluster in DIR and keep it: the next
#                                            start brings it back on the same port (an outage)
#   tools/pg-test-cluster.sh status [DIR]    exit 0 if the cluster in DIR is running
#
# DIR defaults to ${TMPDIR:-/tmp}/tempo-pg-test-<uid>. The cluster listens on 127.0.0.1 only, on
# the first free port from 54329 up, with trust authentication: it is for local tests only.
# When run as root the server runs as the "postgres" OS user, because initdb refuses root.
# Typical use:
#   export "$(tools/pg-test-cluster.sh)"
#   ctest -L unit
#   tools/pg-test-cluster.sh stop
set -euo pipefail

action=start
case "${1:-}" in
  start | stop | halt | status) action=$1; shift ;;
esac
dir=${1:-${TMPDIR:-/tmp}/tempo-pg-test-$(id -u)}
database=tempo_test

log() { echo "pg-test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then echo "$PG_BINDIR"; return; fi
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then echo /usr/lib/postgresql/15/bin; return; fi
  local candidate
  candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$candidate" && -x "$candidate/initdb" ]] || die "no PostgreSQL server found (apt-get install postgresql)"
  echo "$candidate"
}
bindir=$(find_bindir)

# Runs a command as the cluster owner: ourselves, or "postgres" when we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_url() {
  echo "TEMPO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$(cat "$dir/port")/$database"
}

ensure_database() {
  local port exists
  port=$(cat "$dir/port")
  exists=$(as_owner "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'")
  if [[ "$exists" != 1 ]]; then
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"
  fi
}

start_server() {
  local port candidates
  candidates=$(seq 54329 54429)
  # A halted cluster comes back where its clients expect it.
  [[ -f "$dir/port" ]] && candidates="$(cat "$dir/port") $candidates"
  for port in $candidates; do
    port_in_use "$port" && continue
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir/sock' \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >&2; then
      echo "$port" >"$dir/port"
      return 0
    fi
    # Another process may have taken the port between the probe and the start: try the next.
    if grep -q "could not bind" "$dir/server.log" 2>/dev/null; then
      : >"$dir/server.log"
      continue
    fi
    tail -n 20 "$dir/server.log" >&2 || true
    die "could not start PostgreSQL in $dir"
  done
  die "no free port in 54329-54429"
}

case "$action" in
  status)
    is_running
    ;;
  stop)
    if is_running; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -s stop >&2
    fi
    if [[ -d "$dir" ]]; then
      [[ -f "$dir/port" || -d "$dir/data" ]] || die "$dir does not look like a test cluster; not deleting it"
      rm -rf "$dir"
    fi
    ;;
  halt)
    is_running || die "no cluster running in $dir"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2
    ;;
  start)
    if is_running && [[ -f "$dir/port" ]]; then
      ensure_database
      print_url
      exit 0
    fi
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (apt-get install postgresql)"
      chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    as_owner mkdir -p "$dir/sock"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_owner rm -rf "$dir/data"
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    start_server
    ensure_database
    log "cluster in $dir (stop with: tools/pg-test-cluster.sh stop $dir)"
    print_url
    ;;
esac
