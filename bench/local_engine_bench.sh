#!/usr/bin/env bash
# Local (offline) speech engine figures, from the e2e runner of a release build:
#   1. scenario accuracy and turn latency: caller's end of speech -> first agent audio, split into
#      the VAD hang-over and the engine's own work (decode end, dialogue, first TTS chunk);
#   2. RSS per session (decoder + VAD + TTS state);
#   3. concurrent real-time calls: how many this machine sustains (engine work p95 < 300 ms and
#      < 5% of caller frames more than 10 ms late), with CPU per active call.
# Usage: bench/local_engine_bench.sh [path/to/local_e2e] [max calls] [seconds per step]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-build/release/tests/e2e/local_e2e}
max=${2:-24}
secs=${3:-20}
echo "== scenarios (accuracy, latency)"
"$bin" "$here/tests/e2e/scenarios.json" | grep -v '^  miss' || true
echo "== memory"
"$bin" --memory
echo "== concurrency (real time, ${secs}s per step)"
"$bin" --concurrency "$max" "$secs"
