#!/usr/bin/env bash
# A libFuzzer campaign over the fuzz targets (`make fuzz-campaign SECONDS=N`).
#
#   tools/fuzz-campaign.sh [--seconds N] [--runs R] [--jobs J] [--no-build] [target...]
#   tools/fuzz-campaign.sh --report [target...]   (only the table of the last run)
#   tools/fuzz-campaign.sh --minimise [target...] (shrink the committed corpora, see below)
#
# For each target (default: every fuzz/<name>_fuzz.cpp): copies fuzz/corpus/<name>/ to a work
# corpus, runs build/fuzz/fuzz/fuzz_<name> for min(R executions, N seconds) under nice 19,
# then merges (-merge=1) the inputs that add coverage back into fuzz/corpus/<name>/, and
# prints a table parsed from libFuzzer's final stats. At most J fuzzer processes run at once,
# also across concurrent invocations (slots are flock'ed files), so a second invocation for
# more targets may be started while one runs. Work files, logs and crash artefacts stay in
# build/fuzz-campaign/<name>/; crash files never go into fuzz/corpus/.
# --minimise replaces fuzz/corpus/<name>/ by a smallest subset with the same coverage
# (-merge=1 into an empty directory); inputs with descriptive names (seeds, former crashers)
# are always kept.
# Exit status: 1 if any target crashed (or failed to run), else 0.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=1800
runs=10000000
jobs=2
build=1
report=0
minimise=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --report) report=1; build=0; shift ;;
    --minimise) minimise=1; build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in fuzz/*_fuzz.cpp; do
    n=$(basename "$f" _fuzz.cpp)
    targets+=("$n")
  done
fi

out=$root/build/fuzz-campaign
mkdir -p "$out/slots"

if [[ $minimise -eq 1 ]]; then
  status=0
  for name in "${targets[@]}"; do
    bin=$root/build/fuzz/fuzz/fuzz_$name
    seeds=$root/fuzz/corpus/$name
    dir=$out/$name/minimised
    rm -rf "$dir"
    mkdir -p "$dir"
    before=$(find "$seeds" -maxdepth 1 -type f | wc -l)
    find "$seeds" -maxdepth 1 -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' \
      -exec cp {} "$dir"/ \;
    if nice -n 19 "$bin" -merge=1 -timeout=300 -rss_limit_mb=2048 "$dir" "$seeds" \
        >"$out/$name/minimise.log" 2>&1 && [[ -n $(ls -A "$dir") ]]; then
      rm -rf "$seeds"
      mv "$dir" "$seeds"
      echo "$name: $before -> $(find "$seeds" -maxdepth 1 -type f | wc -l) inputs"
    else
      echo "$name: merge failed, corpus kept (see $out/$name/minimise.log)"
      status=1
    fi
  done
  exit $status
fi

if [[ $build -eq 1 && $report -eq 0 ]]; then
  cmake --preset fuzz >/dev/null || exit 1
  # The build competes with the fuzzers for CPU only while it runs; keep it polite too.
  nice -n 10 cmake --build --preset fuzz --target "${targets[@]/#/fuzz_}" || exit 1
fi

# Takes one of the $jobs slots as fd 9; a job started afterwards inherits it and holds the
# slot until it exits, so targets start in the order given.
take_slot() {
  while true; do
    for ((i = 0; i < jobs; ++i)); do
      exec 9>"$out/slots/$i"
      if flock -n 9; then return 0; fi
      exec 9>&-
    done
    sleep 2
  done
}

run_target() {
  local name=$1
  local bin=$root/build/fuzz/fuzz/fuzz_$name
  local dir=$out/$name
  local seeds=$root/fuzz/corpus/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$seeds"
  if [[ ! -x $bin ]]; then
    printf 'missing binary %s\n' "$bin" >"$dir/fuzz.log"
    echo 127 >"$dir/rc"
    return
  fi
  cp -a "$seeds/." "$dir/corpus/" 2>/dev/null
  local start=$SECONDS
  echo "$(date +%T) start $name" >&2
  # -timeout is wall time: under nice 19 next to a build a process may get no CPU for many
  # seconds (libFuzzer's slow-unit files then mean little), so only minutes count as a hang.
  nice -n 19 "$bin" -runs="$runs" -max_total_time="$seconds" -timeout=300 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" \
    >"$dir/fuzz.log" 2>&1
  echo $? >"$dir/rc"
  echo $((SECONDS - start)) >"$dir/seconds"
  # Only inputs that add coverage to the committed corpus are added to it.
  nice -n 19 "$bin" -merge=1 -timeout=300 "$seeds" "$dir/corpus" >"$dir/merge.log" 2>&1
  echo "$(date +%T) done $name (rc $(cat "$dir/rc"))" >&2
}

if [[ $report -eq 0 ]]; then
  for name in "${targets[@]}"; do
    take_slot
    run_target "$name" &
    exec 9>&-
  done
  wait
fi

# The final stats: "stat::number_of_executed_units: N" and the last "#N ... ft: F" line.
status=0
for name in "${targets[@]}"; do
  dir=$out/$name
  log=$dir/fuzz.log
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" 2>/dev/null | tail -1 | awk '{print $2}')
  ft=$(grep -o ' ft: [0-9]*' "$log" 2>/dev/null | tail -1 | awk '{print $2}')
  # slow-unit-* files are not failures (see -timeout above).
  crashes=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' 2>/dev/null | wc -l)
  rc=$(cat "$dir/rc" 2>/dev/null || echo '?')
  if [[ $rc != 0 ]]; then status=1; fi
  [[ $rc != 0 && $crashes -eq 0 ]] && crashes="rc=$rc"
  printf '%-18s %12s %8s %8s %8s  %s\n' "$name" "${execs:-?}" "${ft:-?}" \
    "$(cat "$dir/seconds" 2>/dev/null || echo '?')" "$crashes" \
    "$(find "$dir/artifacts" -type f -printf '%f ' 2>/dev/null)"
done >"$out/rows-$$.txt"
{
  printf '%-18s %12s %8s %8s %8s  %s\n' target executions ft: seconds crashes artefacts
  cat "$out/rows-$$.txt"
} | tee "$out/summary-$$.txt"
rm -f "$out/rows-$$.txt"
exit $status
