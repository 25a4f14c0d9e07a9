#!/usr/bin/env bash
# Media bridge under load: N concurrent calls against `serve` with the echo engine, driven by
# `tempovoice call --load` (Twilio-faithful, real-time pacing). Prints calls, server CPU per
# call-minute (the server's own CPU, read from /proc, apart from the load generator's), server
# RSS per call, p50/p99 added latency per frame and late frames.
# Targets: <= 1 ms server CPU per call-second (60 ms per call-minute); 1,000 concurrent calls on
# 2 cores with p99 added latency <= 2 ms and no late frames; <= 150 KB server RSS per call.
set -euo pipefail
bin=${1:-build/release/tempovoice}
calls=${CALLS:-1000}
duration=${DURATION:-30}
ramp=${RAMP:-5}
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'stop_serve 2>/dev/null || true; rm -rf "$work"' EXIT
caller_line "$work/line.wav"

# An agent of its own on the echo engine (the demo agent speaks through the offline engine).
token=0123456789abcdef0123456789abcdef
mkdir -p "$work/agents"
printf '{"agentId":"echo-bench","agentName":"Echo Bench","engine":"echo","twilioAuthToken":"%s"}' \
  "$token" >"$work/agents/echo-bench.json"
start_serve "$bin" --threads "${SERVER_THREADS:-0}" --agents-dir "$work/agents"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
hz=$(getconf CLK_TCK)
idle_rss=$(rss_kb)
cpu0=$(cpu_ticks)

"$bin" call --url "http://127.0.0.1:$SERVE_PORT/agent/echo-bench/incoming-call" --auth-token "$token" \
  --wav "$work/line.wav" --load "$calls" --duration "$duration" --ramp "$ramp" --threads 1 --json \
  >"$work/load.json" 2>"$work/load.err" &
load_pid=$!
# Peak server RSS while every call is up.
peak_rss=$idle_rss
while kill -0 $load_pid 2>/dev/null; do
  r=$(rss_kb); (( r > peak_rss )) && peak_rss=$r
  sleep 1
done
# The load generator exits 1 when a single call failed; that is a figure for the rule below, not
# a verdict. Only a run without a report (it crashed or could not start) stops here, and then
# with everything it said.
load_rc=0
wait $load_pid || load_rc=$?
if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))["calls_completed"]' "$work/load.json" 2>/dev/null; then
  echo "bridge: the load generator exited $load_rc without a report" >&2
  echo "--- its stdout:" >&2; tail -c 4000 "$work/load.json" >&2
  echo "--- its stderr:" >&2; tail -n 40 "$work/load.err" >&2
  echo "--- the server's stderr:" >&2; tail -n 40 "$BENCH_TMP/err" >&2
  exit 1
fi
cpu1=$(cpu_ticks)
# The server's own view: frames its pacer sent more than 5 ms after they were due.
curl -s "http://127.0.0.1:$SERVE_PORT/metrics" >"$work/metrics.txt"
server_out=$(awk '/^tempo_media_frames_total\{direction="out"\}/ {print $2}' "$work/metrics.txt")
server_late=$(awk '/^tempo_media_late_frames_total / {print $2}' "$work/metrics.txt")

python3 - "$work/load.json" "$calls" "$duration" "$ramp" "$(( cpu1 - cpu0 ))" "$hz" "$idle_rss" "$peak_rss" "${server_out:-0}" "${server_late:-0}" "$load_rc" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
calls, duration, ramp = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ticks, hz, idle_kb, peak_kb = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
server_out, server_late = float(sys.argv[9]), float(sys.argv[10])
cpu_s = ticks / hz
completed = report["calls_completed"]
failed = report["calls_failed"]
lat = report["latency"]
late = lat["late_frames"]
frames = lat["frames"]
# Calls were up for about (duration - ramp/2) seconds each on average.
call_seconds = calls * max(duration - ramp / 2, 1)
print(f"bridge: {calls} concurrent calls (echo engine, real-time pacing, {duration:.0f} s, server and load generator sharing the machine)")
print(f"  calls completed {completed}, failed {failed}")
print(f"  server CPU {cpu_s:.2f} s = {1000 * cpu_s / call_seconds:.3f} ms per call-second ({60000 * cpu_s / call_seconds:.1f} ms per call-minute); target <= 1 ms per call-second")
print(f"  server RSS idle {idle_kb/1024:.1f} MiB, peak {peak_kb/1024:.1f} MiB = {(peak_kb - idle_kb) / max(calls,1):.1f} KiB per call; target <= 150 KB")
print(f"  added latency per frame p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms; late frames {late} of {frames}; target p99 <= 2 ms, none late")
print(f"  server pacer: {server_late:.0f} of {server_out:.0f} frames sent > 5 ms after due")
print(f"  protocol violations seen by the caller: {report['violations']}")
# Why calls failed: message -> count, the most frequent first.
errors = report.get("errors") or {}
if errors:
    top = sorted(errors.items(), key=lambda kv: -kv[1])[:5]
    print("  why calls failed: " + "; ".join(f"{n} x {message}" for message, n in top))
if int(sys.argv[11]) != 0:
    print(f"  load generator exit status {sys.argv[11]} (it exits 1 on any failed call or violation)")
# Gross regressions only: the documented rule decides, and says which figure broke it.
broken = []
if failed > calls * 0.05:
    broken.append(f"{failed} of {calls} calls failed (rule: at most 5 %)")
if (cpu_s / call_seconds) > 0.01:
    broken.append(f"server CPU {1000 * cpu_s / call_seconds:.3f} ms per call-second (rule: at most 10 ms)")
if broken:
    sys.exit("bridge regression: " + "; ".join(broken))
print("  bridge: within the gross-regression rule (<= 5 % failed calls, <= 10 ms CPU per call-second)")
PY
