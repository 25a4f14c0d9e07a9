#!/usr/bin/env bash
# clang-tidy 14 (the repo's .clang-tidy) over the modules whose code is protocol, call and
# speech logic (engine/ with engine/local/, and the caller), using a build directory's
# compile_commands.json. Its WarningsAsErrors list fails the run; other findings are printed
# as advice. The Asio/Beast-heavy I/O glue (net/) and the large control plane are left to
# `cmake --preset tidy` on a developer's machine: checking every file would add about ten
# minutes to CI on two cores.
set -euo pipefail
build=${1:-build/dev}
cd "$(dirname "$0")/.."
# A unity build (the dev preset's) compiles batches of files, so its compile database names the
# batches, not the files clang-tidy is given. Configure the same flags file by file next to it:
# configuring writes the database; nothing is compiled.
if grep -q '^TEMPO_UNITY:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  files_build="$build-files"
  # build/<preset>: the folder's name is the preset it was configured from.
  cmake --preset "$(basename "$build")" -B "$files_build" -DTEMPO_UNITY=OFF >/dev/null
  build=$files_build
fi
mapfile -t files < <(git ls-files 'src/tempo/base/*.cpp' 'src/tempo/audio/*.cpp' 'src/tempo/twilio/*.cpp' \
  'src/tempo/agent/*.cpp' 'src/tempo/knowledge/*.cpp' 'src/tempo/aws/*.cpp' 'src/tempo/deploy/*.cpp' 'src/tempo/storage/*.cpp' 'src/tempo/runtime/*.cpp' 'src/tempo/engine/*.cpp' \
  'src/tempo/caller/*.cpp')
echo "clang-tidy on ${#files[@]} files"
printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang-tidy-14 -p "$build" --quiet \
  --extra-arg=-Wno-unknown-warning-option 2>/dev/null
