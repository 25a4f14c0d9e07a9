#!/usr/bin/env bash
# Fails if the build or the tests reach outside the repository: a clone of the project alone
# must build and pass every test. Checks what the build really uses, not just the sources:
#   1. every absolute path in a compile command (-I, -include, -D...="path") of build/<preset>;
#   2. every absolute path in a ctest command or its ENVIRONMENT;
#   3. the tracked build and test files, for a parent-directory escape (`${PROJECT_SOURCE_DIR}/..`
#      or `../shared`), which a configured build might not show until a test runs.
# Allowed: the checkout, the build directory, system prefixes (/usr, /etc, /bin, /lib, /opt,
# /tmp, /dev, /proc) and the user's home caches (node, npm, ccache).
set -euo pipefail
build=${1:-build/dev}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ -f $build/compile_commands.json ]] || { echo "no $build/compile_commands.json: configure first" >&2; exit 2; }
build=$(cd "$build" && pwd)

python3 - "$root" "$build" <<'PY'
import json, os, re, shlex, subprocess, sys
root, build = sys.argv[1], sys.argv[2]
allowed = (root + "/", build + "/", "/usr/", "/etc/", "/bin/", "/lib/", "/lib64/", "/opt/",
           "/tmp/", "/dev/", "/proc/")
bad = []

def check(path, where):
    p = os.path.normpath(path)
    if p in (root, build) or p.startswith(allowed):
        return
    bad.append(f"{where}: {path}")

for entry in json.load(open(os.path.join(build, "compile_commands.json"))):
    where = os.path.relpath(entry["file"], root)
    args = entry.get("arguments") or shlex.split(entry["command"])
    for i, arg in enumerate(args):
        for m in re.finditer(r'(?:^|[="\s])(/[^"\s]+)', arg):
            candidate = m.group(1)
            if candidate == entry["file"] or arg.startswith("-o") or args[i - 1] == "-o":
                continue
            check(candidate, where)

# ctest's own view of every test: its command line and environment.
out = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"], check=True,
                     capture_output=True, text=True).stdout
for test in json.loads(out).get("tests", []):
    for arg in test.get("command", []):
        if arg.startswith("/"):
            check(arg, "test " + test["name"])
    for prop in test.get("properties", []):
        if prop["name"] == "ENVIRONMENT":
            for kv in prop["value"]:
                value = kv.split("=", 1)[1] if "=" in kv else ""
                for part in value.split(":"):
                    if part.startswith("/"):
                        check(part, f"test {test['name']} env")

files = subprocess.run(["git", "ls-files", "CMakeLists.txt", "*.cmake", "*/CMakeLists.txt",
                        "tests", "tools", "bench", "fuzz", ".ci"],
                       check=True, capture_output=True, text=True, cwd=root).stdout.split()
escape = re.compile(r'(PROJECT_SOURCE_DIR|CMAKE_SOURCE_DIR|TEMPO_SOURCE_DIR|sourceDir)\}?/\.\.|\.\./shared/')
for f in files:
    if f.startswith(("tests/vectors/", "fuzz/corpus/")) or f == "tools/check-self-contained.sh":
        continue
    try:
        text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
    except (IsADirectoryError, FileNotFoundError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        if escape.search(line):
            bad.append(f"{f}:{n}: {line.strip()}")

if bad:
    print("paths outside the repository:", *bad, sep="\n  ")
    sys.exit(1)
print("self-contained: every compile and test path stays in the repository or the system")
PY
