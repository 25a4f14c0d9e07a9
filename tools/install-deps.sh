#!/usr/bin/env bash
# Installs the Debian 12 packages TempoVoice needs. Idempotent and quiet when all are present.
#   tools/install-deps.sh          build + run
#   tools/install-deps.sh --test   also what the tests and benchmarks use
set -euo pipefail

build=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-url1.81-dev libssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libspeexdsp-dev libsqlite3-dev libpq-dev libsodium-dev
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us flite1-dev
  libwebrtc-audio-processing-dev libpugixml-dev libasound2-dev libnghttp2-dev
)
test=(
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev clang-format-14
  clang-tidy-14 wrk prometheus postgresql sox curl chromium
  # Build speed only (cmake/TempoBuildSpeed.cmake): the build is the same without them.
  ccache mold
)

wanted=("${build[@]}")
if [[ "${1:-}" == "--test" ]]; then wanted+=("${test[@]}"); fi
if ! command -v node >/dev/null 2>&1; then wanted+=(nodejs npm); fi

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a system cluster; the tests run their own throw-away one.
echo "Dependencies installed."
