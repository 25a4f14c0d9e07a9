#!/usr/bin/env bash
# /health throughput and latency with keep-alive under concurrent load (wrk), server and
# load generator on the same machine. Target on 2 cores: >= 50,000 requests/s.
set -euo pipefail
bin=${1:-build/release/tempovoice}
duration=${DURATION:-10s}
source "$(dirname "$0")/lib.sh"
start_serve "$bin"
trap stop_serve EXIT
out=$(wrk -t1 -c64 -d"$duration" --latency "http://127.0.0.1:$SERVE_PORT/health")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1=="99%" {print $2}' <<<"$out")
p50=$(awk '$1=="50%" {print $2}' <<<"$out")
errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
echo "http /health keep-alive (wrk 1 thread, 64 connections, $duration, $(nproc) cores shared): ${rps} requests/s, p50 ${p50}, p99 ${p99} (target >= 50,000 requests/s)"
[[ -z "$errors" ]] || echo "wrk reported: $errors"
# Gross regressions only.
awk -v r="$rps" 'BEGIN { exit !(r >= 5000) }' || {
  echo "http regression: $rps requests/s (rule: at least 5,000)" >&2; echo "$out" >&2; exit 1; }
