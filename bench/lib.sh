# Shared helpers for the benchmark scripts (sourced).
# start_serve <binary> <extra args...>: starts `serve --port 0`, sets SERVE_PID and SERVE_PORT.
start_serve() {
  local bin=$1; shift
  BENCH_TMP=$(mktemp -d)
  : >"$BENCH_TMP/out"
  # SERVE_DATA keeps the data folder across a restart; SERVE_LOG_LEVEL=info shows the exit line.
  "$bin" serve --port 0 --data-dir "${SERVE_DATA:-$BENCH_TMP/data}" --log-level "${SERVE_LOG_LEVEL:-warn}" "$@" \
    >"$BENCH_TMP/out" 2>"$BENCH_TMP/err" &
  SERVE_PID=$!
  for _ in $(seq 1 500); do
    SERVE_PORT=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\)$|\1|p' "$BENCH_TMP/out")
    [[ -n "$SERVE_PORT" ]] && return 0
    sleep 0.02
  done
  echo "serve did not start:" >&2; cat "$BENCH_TMP/err" >&2
  return 1
}
stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  rm -rf "$BENCH_TMP"
}
