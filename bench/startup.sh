#!/usr/bin/env bash
# Time from exec of `tempovoice serve` to the first 200 from /health, over several runs,
# with an existing data directory (the "after the first run" case). Target: <= 300 ms.
set -euo pipefail
bin=${1:-build/release/tempovoice}
runs=${RUNS:-10}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$bin" serve --port "$port" --data-dir "$data" --log-level warn >/dev/null 2>&1 &
pid=$!
# Waits for the first 200; a server that exits or takes over 30 s fails the run with the reason.
wait_ready() {
  local deadline=$(( $(date +%s) + 30 ))
  until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do
    kill -0 "$pid" 2>/dev/null || { echo "startup: serve exited before answering /health" >&2; exit 1; }
    (( $(date +%s) < deadline )) || { echo "startup: no 200 from /health within 30 s" >&2; exit 1; }
    sleep 0.002
  done
}
wait_ready
kill -TERM $pid; wait $pid || true

times=()
for _ in $(seq 1 "$runs"); do
  t0=$(date +%s%N)
  "$bin" serve --port "$port" --data-dir "$data" --log-level warn >/dev/null 2>&1 &
  pid=$!
  wait_ready
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  kill -TERM $pid; wait $pid || true
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
echo "startup: serve ready (health 200) in median ${median} ms, min ${sorted[0]} ms, max ${sorted[-1]} ms over $runs runs (target <= 300 ms)"
# Gross regressions only: ten times the target.
(( median <= 3000 )) || { echo "startup regression: ${median} ms" >&2; exit 1; }
