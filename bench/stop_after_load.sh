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
sox -q -n -r 8000 -c 1 -b 16 "$work/line.wav" synth 1.0 sine 300 pad 0.5 1.5

# api.py <base> <command>: logs in, then `create` (agent, deployed) or `count` (calls: total and
# interrupted).
cat >"$work/api.py" <<'PY'
import json, os, sys, time, urllib.request, http.cookiejar
base, command = sys.argv[1], sys.argv[2]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def call(method, path, body=None, csrf=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if csrf: req.add_header("X-CSRF-Token", csrf)
    with opener.open(req) as r: return json.load(r)
csrf = call("POST", "/api/v1/auth/login", {"email": os.environ["TEMPO_ADMIN_EMAIL"],
            "password": os.environ["TEMPO_ADMIN_PASSWORD"]})["csrfToken"]
if command == "create":
    call("POST", "/api/v1/agents", {"agentId": "stop-bench", "agentName": "Stop Bench",
         "engine": "echo", "twilioAuthToken": sys.argv[3]}, csrf)
    call("POST", "/api/v1/agents/stop-bench/deploy", {}, csrf)
    for _ in range(200):
        if call("GET", "/api/v1/agents/stop-bench/deployment")["state"] == "succeeded": break
        time.sleep(0.05)
    else: sys.exit("deployment did not succeed")
else:
    total = interrupted = 0; cursor = ""
    while True:
        page = call("GET", "/api/v1/calls?agentId=stop-bench&limit=200" + (f"&cursor={cursor}" if cursor else ""))
        total += len(page["items"]); interrupted += sum(c["outcome"] == "interrupted" for c in page["items"])
        cursor = page["nextCursor"]
        if not cursor: break
    print(total, interrupted)
PY

data="$work/data"
failed=0
for run in $(seq 1 "$runs"); do
  rm -rf "$data"
  SERVE_DATA=$data SERVE_LOG_LEVEL=info start_serve "$bin" --max-calls-per-org $(( calls * 2 ))
  python3 "$work/api.py" "http://127.0.0.1:$SERVE_PORT" create "$token"
  "$bin" call --url "http://127.0.0.1:$SERVE_PORT/agent/stop-bench/incoming-call" --auth-token "$token" \
    --wav "$work/line.wav" --load "$calls" --duration "${DURATION:-30}" --ramp "${RAMP:-5}" --threads 1 \
    --json >"$work/load.json" 2>"$work/load.err" || true
  kill -TERM "$SERVE_PID"
  rc=0; wait "$SERVE_PID" || rc=$?
  cp "$BENCH_TMP/err" "$work/serve.log"; rm -rf "$BENCH_TMP"
  completed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls_completed"])' "$work/load.json")
  not_indexed=$(grep -c "not indexed" "$work/serve.log" || true)
  exit_line=$(grep -o "shut down cleanly: .*next start" "$work/serve.log" || echo "no exit line")
  SERVE_DATA=$data start_serve "$bin" --max-calls-per-org $(( calls * 2 ))
  read -r listed interrupted < <(python3 "$work/api.py" "http://127.0.0.1:$SERVE_PORT" count)
  stop_serve
  verdict=ok
  if (( rc != 0 || not_indexed > 0 || listed != completed || interrupted > 0 )) || [[ $exit_line != *" 0 call(s) left"* ]]; then
    verdict=FAILED; failed=$(( failed + 1 ))
  fi
  echo "stop after load, run $run: exit $rc; $completed calls completed, $listed listed after restart, $interrupted interrupted, $not_indexed 'not indexed'; $exit_line: $verdict"
done
(( failed == 0 )) || { echo "stop after load: $failed of $runs run(s) failed" >&2; exit 1; }
