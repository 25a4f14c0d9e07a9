#!/usr/bin/env bash
# Runs every benchmark against a release build directory and prints the figures.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
bash bench/startup.sh "$build/tempovoice"
bash bench/http_load.sh "$build/tempovoice"
bash bench/incoming_call.sh "$build/tempovoice"
bash bench/bridge.sh "$build/tempovoice"
for b in "$build"/bench/*_bench; do
  [[ -x "$b" ]] || continue
  echo "--- $(basename "$b")"
  case "$(basename "$b")" in
    control_bench) "$b" ;;  # a plain program (bulk-loads 1,000,000 calls)
    *) "$b" --benchmark_min_time=0.2 ;;
  esac
done
