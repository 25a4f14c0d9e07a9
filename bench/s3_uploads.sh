#!/usr/bin/env bash
# The cost of call artefacts in S3: N calls (default 200) through `serve --object-store s3`
# against moto_server (signature checking on), then the AWS requests per call, the bytes
# uploaded per call and the connections the kept-alive pool opened for all of them. Passes when
# every call's three objects are in S3 and the run opened at most a handful of connections.
# moto's server (Werkzeug) closes every connection after one answer, where S3 keeps them alive:
# serve talks to moto through a proxy that keeps connections alive as S3 does and counts the
# connections serve opens. Not part of run-all.sh (moto is slow).
set -euo pipefail
bin=${1:-build/release/tempovoice}
calls=${CALLS:-200}
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
moto_pid= proxy_pid=
trap 'stop_serve 2>/dev/null || true; for p in $proxy_pid $moto_pid; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
caller_line "$work/line.wav"
token=0123456789abcdef0123456789abcdef

start_moto "$work"
moto_pid=$MOTO_PID
moto=$MOTO_URL key=$MOTO_KEY secret=$MOTO_SECRET
start_aws_proxy "$work"
proxy_pid=$PROXY_PID proxy=$PROXY_URL
export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true
export TEMPO_ADMIN_EMAIL=bench@localhost TEMPO_ADMIN_PASSWORD=bench-password-123

start_serve "$bin" --object-store s3 --s3-endpoint "$proxy" --max-calls-per-org $(( calls * 2 ))
api_login "http://127.0.0.1:$SERVE_PORT"
deploy_echo_agent s3-bench "$token"
metric() { curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
requests_before=$(metric tempo_aws_requests_total); requests_before=${requests_before:-0}
opened_before=$(metric tempo_http_pool_connections_opened_total); opened_before=${opened_before:-0}
started=$(date +%s%N)
"$bin" call --url "http://127.0.0.1:$SERVE_PORT/agent/s3-bench/incoming-call" --auth-token "$token" \
  --wav "$work/line.wav" --load "$calls" --duration "${DURATION:-10}" --ramp "${RAMP:-5}" --json >"$work/load.json"
completed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls_completed"])' "$work/load.json")
# in_s3: prints "<objects> <bytes>" of the bench agent's bucket, as boto3 lists it.
in_s3() {
  python3 - "$moto" <<'PY'
import boto3, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='eu-west-1')
n, size, token = 0, 0, None
while True:
    kw = {'Bucket': 'tempo-agent-transcripts-s3-bench'}  # moto refuses an encoded '/' in Prefix
    if token: kw['ContinuationToken'] = token
    page = s3.list_objects_v2(**kw)
    n += page.get('KeyCount', 0)
    size += sum(o['Size'] for o in page.get('Contents', []))
    token = page.get('NextContinuationToken')
    if not token: break
print(n, size)
PY
}
objects=0 bytes=0
for _ in $(seq 1 600); do
  read -r objects bytes < <(in_s3)
  (( objects >= completed * 3 )) && break
  sleep 0.5
done
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
requests=$(( $(metric tempo_aws_requests_total) - requests_before ))
opened=$(( $(metric tempo_http_pool_connections_opened_total) - opened_before ))
accepted=$(awk '/^connections/ { n = $2 } END { print n + 0 }' "$work/proxy.log")
stop_serve
python3 - "$completed" "$objects" "$requests" "$opened" "$accepted" "$bytes" "$elapsed_ms" <<'PY'
import sys
calls, objects, requests, opened, accepted, size, ms = map(int, sys.argv[1:])
print(f"s3 uploads: {calls} calls, {objects} objects in S3, {requests} AWS requests "
      f"({requests / max(calls, 1):.2f} per call), {size / max(calls, 1) / 1024:.1f} KiB per call, "
      f"{opened} connection(s) opened by serve ({accepted} accepted by the proxy), "
      f"{ms} ms from the first call to the last object")
PY
if (( objects < completed * 3 )); then
  echo "s3 uploads: FAILED (every call's three objects in S3)" >&2
  exit 1
fi
# Uploads run on the two blocking threads and the upload worker, each on a kept connection.
if (( accepted > 8 )); then
  echo "s3 uploads: FAILED (at most a handful of connections: $accepted)" >&2
  exit 1
fi
