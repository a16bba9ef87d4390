#!/usr/bin/env bash
# The randomized GC-safety test, many times, under load: pushes into several repos race GC,
# repack and consolidation on every backend (memory, fs, S3 + PostgreSQL, fs + PostgreSQL) and
# both wires. Two runs go at once (each one load for the other), against one pair of servers.
#
#   scripts/gc-safety-loop.sh [RUNS] [BUILD_DIR]     # defaults: 100, build/debug
#
# Exits non-zero, naming the log, if any run fails. The test command runs it once; this is the
# campaign issue 12 asks for after every change to GC or repack.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-100}
build=${2:-build/debug}
tests=$repo/$build/tests/contract_tests
[[ -x $tests ]] || { echo "gc-safety-loop: $tests not built: build it first (scripts/test.sh or ninja -C $build contract_tests)" >&2; exit 2; }

logs=$(mktemp -d /tmp/musehub-gc-safety.XXXXXX)
# One run: the randomized test on every setup; its log is kept only if it fails.
one() {
    local log=$logs/run-$1.log
    if "$tests" "GC-SAFETY randomized*" >"$log" 2>&1; then
        rm -f "$log"
    else
        echo "gc-safety-loop: run $1 FAILED: $log" >&2
        return 1
    fi
}
export -f one
export tests logs
start=$SECONDS
failed=0
"$repo/scripts/servers.sh" bash -c "seq 1 $runs | xargs -P 2 -I{} bash -c 'one {}'" || failed=1
echo "gc-safety-loop: $runs runs in $((SECONDS - start)) s, $( [[ $failed -eq 0 ]] && echo 'all passed' || echo "failures in $logs")"
[[ $failed -eq 0 ]] && rmdir "$logs"
exit $failed
