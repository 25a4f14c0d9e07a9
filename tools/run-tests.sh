#!/usr/bin/env bash
# Runs every test of a build directory: unit tests, fuzz-corpus replays and integration
# tests (the real binary, driven by node's test runner). A throw-away PostgreSQL cluster is
# started for the database tests and stopped afterwards.
#   tools/run-tests.sh [build-dir] [ctest selection...]   e.g. build/dev -L '^module:aws$'
set -euo pipefail
build=${1:-build/dev}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

started_pg=0
cleanup() { if (( started_pg )); then bash tools/pg-test-cluster.sh stop >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
if [[ -z "${TEMPO_TEST_POSTGRES_URL:-}" ]]; then
  # Prints exactly one line: TEMPO_TEST_POSTGRES_URL=postgres://...
  line=$(bash tools/pg-test-cluster.sh)
  export "$line"
  started_pg=1
fi

# The integration tests play Twilio with the official twilio and ws npm packages; the
# browser tests drive Chromium with playwright-core; the fakes check with AWS's own packages.
for dir in tests/integration tests/browser tests/fakes; do
  # Installed again when the lock file changed since (a new package for a new test).
  if [[ ! -d $dir/node_modules || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
done

# ASan/UBSan: fail on the first report; LeakSanitizer stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Two tests per core: most of the integration tests wait on real-time calls and sockets (about
# 1.6 cores busy on 2 cores at -j4), so this halves the run without loading the machine more
# than a build does. TEMPO_TEST_JOBS overrides it.
jobs=${TEMPO_TEST_JOBS:-$(( $(nproc) * 2 ))}
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 900 "$@"
