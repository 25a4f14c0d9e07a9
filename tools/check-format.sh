#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format 14 on every C++ file the repository tracks,
# and that Asio/Beast stay inside src/tempo/net/ (compile times on small machines).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null; git ls-files --others --exclude-standard '*.cpp' '*.hpp' 2>/dev/null)
if [[ "${1:-}" == "--fix" ]]; then
  clang-format-14 -i "${files[@]}"
  exit 0
fi
status=0
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
  echo "Formatting differs: run 'make format'." >&2
  status=1
fi
if leaks=$(grep -lE '#include <boost/(asio|beast)' -- $(printf '%s\n' "${files[@]}" | grep '^src/' | grep -v '^src/tempo/net/')); then
  echo "Asio/Beast included outside src/tempo/net/: $leaks" >&2
  status=1
fi
exit $status
