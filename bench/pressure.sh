#!/usr/bin/env bash
# No cliff under pressure (issue #26), at Debian's default of 1,024 open files (soft and hard):
#  1. capacity: CALLS (default 600) echo calls offered at once: how many the server takes, how
#     many hear busy, whether any failed, the descriptors a call holds (sampled while every
#     admitted call streams) and the most the process had open;
#  2. slowloris: ATTACKERS (default 3,000) connections that send half a request head, once and
#     then reconnecting as fast as they are closed: /health/live latency (new connection per
#     check, as a load balancer makes them) while the attack is held.
set -euo pipefail
bin=${1:-build/release/tempovoice}
calls=${CALLS:-600}
attackers=${ATTACKERS:-3000}
limit=${LIMIT:-1024}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'stop_serve 2>/dev/null || true; rm -rf "$work"' EXIT
caller_line "$work/line.wav"
token=0123456789abcdef0123456789abcdef
mkdir -p "$work/data/agents"
printf '{"agentId":"pressure","agentName":"Pressure","engine":"echo","twilioAuthToken":"%s"}\n' \
  "$token" >"$work/data/agents/pressure.json"
# serve under the limit (a shell sets it, then becomes serve: same pid)
printf '#!/bin/sh\nulimit -Sn %s && ulimit -Hn %s && exec "%s" "$@"\n' "$limit" "$limit" "$(realpath "$bin")" >"$work/limited"
chmod +x "$work/limited"
start_limited() { SERVE_DATA=$work/data SERVE_LOG_LEVEL=info start_serve "$work/limited"; }
descriptors() { ls "/proc/$SERVE_PID/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status" 2>/dev/null || echo 0; }

echo "--- capacity: $calls calls offered at once, open files limited to $limit"
start_limited
room=$(sed -n 's/.*room for \([0-9]*\) concurrent calls.*/\1/p' "$BENCH_TMP/err" | head -1)
idle=$(descriptors)
rss_idle=$(rss_kib)
peak=0 steady=0 rss_steady=0
(
  "$bin" call --url "http://127.0.0.1:$SERVE_PORT/agent/pressure/incoming-call" --auth-token "$token" \
    --wav "$work/line.wav" --load "$calls" --duration "${DURATION:-10}" --ramp 0 --json >"$work/load.json"
) &
load=$!
start=$(date +%s)
while kill -0 "$load" 2>/dev/null; do
  n=$(descriptors); (( n > peak )) && peak=$n
  # halfway through the calls, every admitted call streams
  if (( $(date +%s) - start == ${DURATION:-10} / 2 )); then steady=$n; rss_steady=$(rss_kib); fi
  sleep 0.05
done
wait "$load"
python3 - "$work/load.json" "$room" "$idle" "$steady" "$peak" "$limit" "$rss_idle" "$rss_steady" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
room, idle, steady, peak, limit, rss_idle, rss_steady = (int(x) for x in sys.argv[2:])
per_call = (steady - idle) / r["calls_streamed"] if r["calls_streamed"] else 0
print(f"room for {room} calls at {limit} descriptors; offered {r['calls_requested']}: "
      f"{r['calls_streamed']} streamed, {r['calls_completed']} completed, "
      f"{r['calls_refused']} refused {r['refusals']}, {r['calls_failed']} failed {r['errors']}")
print(f"descriptors: {idle} idle, {steady} with every admitted call streaming "
      f"({per_call:.2f} a call), peak {peak} of {limit}")
if r["calls_streamed"]:
    print(f"resident memory: {rss_idle / 1024:.0f} MiB idle, {rss_steady / 1024:.0f} MiB with every "
          f"admitted call streaming ({(rss_steady - rss_idle) / r['calls_streamed']:.0f} KiB a call, echo engine)")
PY
grep -c 'Too many open files' "$BENCH_TMP/err" | sed 's/^/"Too many open files" in the log: /' || true
stop_serve

for mode in once reconnect; do
  echo "--- slowloris: $attackers connections ($mode), open files limited to $limit"
  start_limited
  flag=; [[ $mode == reconnect ]] && flag=--reconnect
  node "$here/../tests/integration/lib/slowloris.mjs" "$SERVE_PORT" "$attackers" $flag >"$work/attack.out" &
  attack=$!
  for _ in $(seq 1 200); do grep -q all_connected "$work/attack.out" && break; sleep 0.05; done
  node - "$SERVE_PORT" <<'JS'
import net from 'node:net';
const port = Number(process.argv[2]);
const probe = () => new Promise((resolve) => {
  const t0 = performance.now();
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  const timer = setTimeout(() => { s.destroy(); resolve(Infinity); }, 5000);
  s.on('connect', () => s.write('GET /health/live HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n'));
  s.on('data', (d) => { got += d; if (got.includes('\r\n\r\n')) { clearTimeout(timer); s.destroy(); resolve(got.startsWith('HTTP/1.1 200') ? performance.now() - t0 : Infinity); } });
  s.on('error', () => { clearTimeout(timer); resolve(Infinity); });
});
const times = [];
for (let i = 0; i < 100; ++i) { times.push(await probe()); await new Promise((r) => setTimeout(r, 30)); }
const sorted = [...times].sort((a, b) => a - b);
const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
console.log(`/health/live during the attack: ${times.length} checks, first ${times[0].toFixed(1)} ms, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms, failed ${times.filter((t) => t === Infinity).length}`);
JS
  kill "$attack"; wait "$attack" 2>/dev/null || true
  tail -1 "$work/attack.out" | sed 's/^/attack: /'
  curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" | awk '$1 == "tempo_http_connections_shed_total" || $1 == "tempo_http_connections_limit" { print $1, $2 }'
  stop_serve
done
