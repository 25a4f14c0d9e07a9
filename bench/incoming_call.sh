#!/usr/bin/env bash
# POST /agent/{agentId}/incoming-call throughput with the agent created and deployed through the
# API (so the runtime reads it from the database, through the cache), each request carrying a
# valid X-Twilio-Signature that the server checks. wrk with keep-alive, server and load
# generator on the same machine. Target on 2 cores: >= 5,000 requests/s, p99 <= 5 ms.
set -euo pipefail
bin=${1:-build/release/tempovoice}
duration=${DURATION:-10s}
source "$(dirname "$0")/lib.sh"
export TEMPO_ADMIN_EMAIL=bench@localhost TEMPO_ADMIN_PASSWORD=bench-password-123
start_serve "$bin"
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
base="http://127.0.0.1:$SERVE_PORT"
token=0123456789abcdef0123456789abcdef

api_login "$base"
deploy_echo_agent bench-line "$token"

# One signed Twilio voice webhook (the signature covers the public URL and every parameter).
url="$base/agent/bench-line/incoming-call"
python3 - "$url" "$token" >"$work/post.lua" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
url, token = sys.argv[1], sys.argv[2]
params = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "CallSid": "CA" + "1" * 32,
          "CallStatus": "ringing", "Called": "+14155550199", "Caller": "+14155550100",
          "Direction": "inbound", "From": "+14155550100", "To": "+14155550199",
          "FromCountry": "US", "ToCountry": "US"}
data = url + "".join(k + params[k] for k in sorted(params))
sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
body = urllib.parse.urlencode(params)
print(f'wrk.method = "POST"\nwrk.body = "{body}"')
print('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
print(f'wrk.headers["X-Twilio-Signature"] = "{sig}"')
PY
check=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
  -H "X-Twilio-Signature: $(sed -n 's/.*X-Twilio-Signature"\] = "\(.*\)"/\1/p' "$work/post.lua")" \
  --data "$(sed -n 's/^wrk.body = "\(.*\)"/\1/p' "$work/post.lua")" "$url")
[[ $check == 200 ]] || { echo "signed webhook answered $check" >&2; exit 1; }

out=$(wrk -t1 -c32 -d"$duration" --latency -s "$work/post.lua" "$url")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p50=$(awk '$1=="50%" {print $2}' <<<"$out")
p99=$(awk '$1=="99%" {print $2}' <<<"$out")
errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
echo "incoming-call (signed, agent from the database; wrk 1 thread, 32 connections, $duration): ${rps} requests/s, p50 ${p50}, p99 ${p99} (target >= 5,000 requests/s, p99 <= 5 ms)"
[[ -z "$errors" ]] || echo "wrk reported: $errors"
# Gross regressions only: a tenth of the target rate, or more than 1 % of answers not 200 (a
# signed webhook of a deployed agent is always answered). The report that decided is printed.
requests=$(awk '/requests in/ {print $1}' <<<"$out")
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
socket=$(awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}' <<<"$out")
bad=$(( ${non2xx:-0} + ${socket:-0} ))
verdict=$(awk -v r="$rps" -v n="${requests:-0}" -v b="$bad" 'BEGIN {
  if (r < 500) print "throughput " r " requests/s (rule: at least 500)";
  else if (n > 0 && b > n / 100) print b " of " n " requests not answered 200 (rule: at most 1 %)" }')
[[ -z "$verdict" ]] || { echo "incoming-call regression: $verdict" >&2; echo "$out" >&2; exit 1; }
