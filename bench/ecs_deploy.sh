#!/usr/bin/env bash
# The ecs deployer's cost: deploy time and AWS requests per deploy, against moto_server
# (signature checking on) behind the AWS proxy (a rollout that completes at the first look, so
# the figures are the deployer's own, not a wait for tasks). For N agents (default 5): a first
# deploy, a second that changes nothing, and an undeploy, each with `tempovoice deploy` as a
# user runs it. Passes when every command succeeds. Not part of run-all.sh (moto is slow).
set -euo pipefail
bin=${1:-build/release/tempovoice}
agents=${AGENTS:-5}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
moto_pid= proxy_pid=
trap 'for p in $proxy_pid $moto_pid; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

start_moto "$work"
moto_pid=$MOTO_PID
moto=$MOTO_URL key=$MOTO_KEY secret=$MOTO_SECRET
python3 "$here/../tests/support/ecs_infrastructure.py" "$moto" "$key" "$secret" >"$work/terraform-output.json"
start_aws_proxy "$work"
proxy_pid=$PROXY_PID proxy=$PROXY_URL
curl -sf -X POST -d '{"polls": 0}' "$proxy/__proxy/rollout" >/dev/null
export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true

requests() { curl -sf "$proxy/__proxy/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# timed <label> <command…>: appends "<label> <ms> <requests>" to the results.
timed() {
  local label=$1; shift
  local before started
  before=$(requests); started=$(date +%s%N)
  "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; echo "ecs deploy: FAILED ($label)" >&2; exit 1; }
  echo "$label $(( ($(date +%s%N) - started) / 1000000 )) $(( $(requests) - before ))" >>"$work/results"
}
mkdir -p "$work/data/agents"
for i in $(seq 1 "$agents"); do
  printf '{"agentId":"bench-%s","agentName":"Bench %s","engine":"echo","twilioAuthToken":"test-auth-token-0123456789abcdef"}' \
    "$i" "$i" >"$work/data/agents/bench-$i.json"
  args=(--data-dir "$work/data" --ecs-settings "$work/terraform-output.json" --aws-endpoint "$proxy" --ecs-wait-poll-s 1)
  timed deploy "$bin" deploy "bench-$i" "${args[@]}" --json
  timed redeploy "$bin" deploy "bench-$i" "${args[@]}" --json
  timed undeploy "$bin" undeploy "bench-$i" "${args[@]}" --json
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for label in ['deploy', 'redeploy', 'undeploy']:
    ms = [int(r[1]) for r in rows if r[0] == label]
    req = [int(r[2]) for r in rows if r[0] == label]
    print(f"ecs {label}: {len(ms)} runs, median {statistics.median(ms):.0f} ms (min {min(ms)}, max {max(ms)}), "
          f"{statistics.median(req):.0f} AWS requests")
PY
