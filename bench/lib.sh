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

# start_moto <work dir>: moto_server (signature checking on) on a free port, with a user whose
# keys sign every request. Sets MOTO_URL, MOTO_PORT, MOTO_PID, MOTO_KEY, MOTO_SECRET. A TCP
# probe waits for it: an HTTP request would use up one of the four unsigned requests.
start_moto() {
  MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  INITIAL_NO_AUTH_ACTION_COUNT=4 moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$1/moto.log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$MOTO_PORT") 2>/dev/null && break; sleep 0.1; done
  MOTO_URL="http://127.0.0.1:$MOTO_PORT"
  read -r MOTO_KEY MOTO_SECRET < <(python3 - "$MOTO_URL" <<'PY'
import boto3, json, sys
iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='eu-west-1',
                   aws_access_key_id='AKIDBOOTSTRAP', aws_secret_access_key='unused')
iam.create_user(UserName='bench')
k = iam.create_access_key(UserName='bench')['AccessKey']
arn = iam.create_policy(PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))['Policy']['Arn']
iam.attach_user_policy(UserName='bench', PolicyArn=arn)
print(k['AccessKeyId'], k['SecretAccessKey'])
PY
)
}

# start_aws_proxy <work dir>: tests/integration/lib/aws_proxy.mjs in front of moto. Sets
# PROXY_URL and PROXY_PID; the proxy logs "connections <n>" lines to <work dir>/proxy.log.
start_aws_proxy() {
  node "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib/aws_proxy.mjs" "$MOTO_PORT" >"$1/proxy.log" &
  PROXY_PID=$!
  for _ in $(seq 1 100); do grep -q '^listening' "$1/proxy.log" 2>/dev/null && break; sleep 0.1; done
  PROXY_URL="http://127.0.0.1:$(awk '/^listening/ { print $2 }' "$1/proxy.log")"
}
