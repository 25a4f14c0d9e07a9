#!/usr/bin/env bash
# A stop right after load, as ECS does on a deploy or a scale-in: N calls (default 1,000) on an
# echo agent of the admin's organisation, SIGTERM as soon as the load generator exits, then a
# restart. Passes when serve exits 0 with no "not indexed" error and nothing left in the spool,
# and the call list after the restart holds every call the caller completed, none relabelled
# "interrupted". RUNS=10 repeats it. Not part of run-all.sh (about 45 s a run).
set -euo pipefail
bin=${1:-build/release/tempovoice}
calls=${CALLS:-1000}
runs=${RUNS:-1}
source "$(dirname "$0")/lib.sh"
export TEMPO_ADMIN_EMAIL=bench@localhost TEMPO_ADMIN_PASSWORD=bench-password-123
token=0123456789abcdef0123456789abcdef
work=$(mktemp -d)
trap 'stop_serve 2>/dev/null || true; rm -rf "$work"' EXIT
caller_line "$work/line.wav"

# count_calls <agentId>: prints "<calls listed> <of which interrupted>", every page of the list.
count_calls() {
  local cursor="" total=0 interrupted=0 n i
  while :; do
    read -r n i cursor < <(api "$API_BASE/api/v1/calls?agentId=$1&limit=200${cursor:+&cursor=$cursor}" |
      python3 -c 'import json,sys,urllib.parse as u; p=json.load(sys.stdin); print(len(p["items"]), sum(c["outcome"] == "interrupted" for c in p["items"]), u.quote(p["nextCursor"] or "", safe=""))')
    total=$(( total + n )); interrupted=$(( interrupted + i ))
    [[ -n $cursor ]] || break
  done
  echo "$total $interrupted"
}

data="$work/data"
failed=0
for run in $(seq 1 "$runs"); do
  rm -rf "$data"
  SERVE_DATA=$data SERVE_LOG_LEVEL=info start_serve "$bin" --max-calls-per-org $(( calls * 2 ))
  api_login "http://127.0.0.1:$SERVE_PORT"
  deploy_echo_agent stop-bench "$token"
  "$bin" call --url "http://127.0.0.1:$SERVE_PORT/agent/stop-bench/incoming-call" --auth-token "$token" \
    --wav "$work/line.wav" --load "$calls" --duration "${DURATION:-30}" --ramp "${RAMP:-5}" --threads 1 \
    --json >"$work/load.json" 2>"$work/load.err" || true
  stop_started=$(date +%s%N)
  kill -TERM "$SERVE_PID"
  rc=0; wait "$SERVE_PID" || rc=$?
  stop_ms=$(( ($(date +%s%N) - stop_started) / 1000000 ))
  cp "$BENCH_TMP/err" "$work/serve.log"; rm -rf "$BENCH_TMP"
  completed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls_completed"])' "$work/load.json")
  not_indexed=$(grep -c "not indexed" "$work/serve.log" || true)
  exit_line=$(grep -o "shut down cleanly: .*next start" "$work/serve.log" || echo "no exit line")
  SERVE_DATA=$data start_serve "$bin" --max-calls-per-org $(( calls * 2 ))
  api_login "http://127.0.0.1:$SERVE_PORT"
  read -r listed interrupted < <(count_calls stop-bench)
  stop_serve
  verdict=ok
  if (( rc != 0 || not_indexed > 0 || listed != completed || interrupted > 0 )) || [[ $exit_line != *" 0 call(s) left"* ]]; then
    verdict=FAILED; failed=$(( failed + 1 ))
  fi
  echo "stop after load, run $run: exit $rc after ${stop_ms} ms from SIGTERM; $completed calls completed, $listed listed after restart, $interrupted interrupted, $not_indexed 'not indexed'; $exit_line: $verdict"
done
(( failed == 0 )) || { echo "stop after load: $failed of $runs run(s) failed" >&2; exit 1; }
