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

# api_login <base>: logs in to the control-plane API as $TEMPO_ADMIN_EMAIL; sets API_BASE, and
# the cookie jar and CSRF token that api() sends. Call after start_serve (the jar is in BENCH_TMP).
api_login() {
  API_BASE=$1
  API_JAR="$BENCH_TMP/jar"
  API_CSRF=$(curl -sf -c "$API_JAR" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$TEMPO_ADMIN_EMAIL\",\"password\":\"$TEMPO_ADMIN_PASSWORD\"}" \
    "$API_BASE/api/v1/auth/login" | python3 -c 'import json,sys;print(json.load(sys.stdin)["csrfToken"])')
}
api() { curl -sf -b "$API_JAR" -H "X-CSRF-Token: $API_CSRF" -H 'Content-Type: application/json' "$@"; }

# deploy_echo_agent <agentId> <twilioAuthToken>: creates an echo agent of the admin's
# organisation through the API and waits until its deployment succeeded.
deploy_echo_agent() {
  local state=""
  api -d "{\"agentId\":\"$1\",\"agentName\":\"Bench $1\",\"engine\":\"echo\",\"twilioAuthToken\":\"$2\"}" \
    "$API_BASE/api/v1/agents" >/dev/null
  api -X POST -d '{}' "$API_BASE/api/v1/agents/$1/deploy" >/dev/null
  for _ in $(seq 1 100); do
    state=$(api "$API_BASE/api/v1/agents/$1/deployment" | python3 -c 'import json,sys;print(json.load(sys.stdin)["state"])')
    [[ $state == succeeded ]] && return 0
    sleep 0.05
  done
  echo "deployment of $1 did not succeed: $state" >&2
  return 1
}

# caller_line <wav>: the caller's audio, looped by each call: half a second of silence, a second
# of tone (the echo engine's "speech"), a second and a half of silence.
caller_line() { sox -q -n -r 8000 -c 1 -b 16 "$1" synth 1.0 sine 300 pad 0.5 1.5; }
