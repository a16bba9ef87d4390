#!/usr/bin/env bash
# Runs every test: dependencies, a clone alone in an empty directory configuring with its tests
# on, Debug build (-Werror) + full ctest (unit, contract, fault, and e2e: the musehub server as a
# process), ASan/UBSan build + unit and contract suites (both ctest runs against the PostgreSQL
# and S3 servers scripts/servers.sh starts), the install/consumer checks, and a smoke run of
# every benchmark. ccache keeps its cache outside the clone, so a fresh clone reuses it.
# A failed phase does not stop the independent ones; the exit status is non-zero if any failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/musehub-ccache}
jobs=${JOBS:-$(nproc)}
configure() {   # configure BUILD_DIR CMAKE_ARGS...
    local dir=$1; shift
    cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@"
}

passed=() failed=() skipped=()
# phase NAME [NEEDS...] -- COMMAND...: runs COMMAND under errexit unless a phase it needs failed.
phase() {
    local name=$1 need; shift
    while [[ $1 != -- ]]; do
        need=$1; shift
        if [[ " ${passed[*]} " != *" $need "* ]]; then
            echo "==> $name: skipped ($need did not pass)"; skipped+=("$name"); return 0
        fi
    done
    shift
    echo "==> $name"
    local start=$SECONDS rc=0
    # errexit is ignored inside functions called from conditions, so run the body in a subshell
    # from a plain statement with errexit turned on inside it.
    set +e; (set -e; "$@"); rc=$?; set -e
    if [[ $rc -eq 0 ]]; then
        passed+=("$name"); echo "==> $name: ok ($((SECONDS - start)) s)"
    else
        failed+=("$name"); echo "==> $name: FAILED, exit $rc ($((SECONDS - start)) s)"
    fi
}

# The repository stands alone: a clone in a directory with nothing beside it configures with
# its tests on (everything the suites read is inside it). Checks what is committed.
standalone_configure() {
    local dir
    dir=$(mktemp -d /tmp/musehub-standalone.XXXXXX)
    trap 'rm -rf "$dir"' RETURN
    git clone --quiet "$repo" "$dir/musehub"
    cmake -S "$dir/musehub" -B "$dir/build" -G Ninja -DMUSEHUB_BUILD_TESTS=ON >/dev/null
    echo "standalone: a clone alone in $dir configured with its tests on"
}
debug_build() {
    configure build/debug -DCMAKE_BUILD_TYPE=Debug -DMUSEHUB_WERROR=ON
    cmake --build build/debug -j "$jobs"
}
# The suites run against real servers: scripts/servers.sh starts a throwaway PostgreSQL and S3
# server, exports where they are, runs the command and stops exactly what it started.
debug_ctest() {
    scripts/servers.sh ctest --test-dir build/debug --output-on-failure --no-tests=error -j "$jobs"
}
asan_build() {
    configure build/asan -DCMAKE_BUILD_TYPE=Debug -DMUSEHUB_WERROR=ON \
        -DMUSEHUB_SANITIZE=address,undefined \
        -DMUSEHUB_BUILD_BENCHMARKS=OFF -DMUSEHUB_BUILD_EXAMPLES=OFF
    cmake --build build/asan -j "$jobs" --target unit_tests contract_tests   # what it runs, nothing more
}
asan_ctest() {
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        scripts/servers.sh ctest --test-dir build/asan --output-on-failure --no-tests=error \
        -j "$jobs" -L 'unit|contract'
}
bench_smoke() {   # proves each benchmark runs; numbers come from scripts/bench.sh
    local bench found=0
    for bench in build/debug/benchmarks/bench_*; do
        [[ -f $bench && -x $bench ]] || continue
        found=1
        echo "--- $bench"
        # Google Benchmark 1.7: seconds, a plain number. Under the servers: bench_hub then also
        # smoke-runs its S3 + PostgreSQL backends.
        scripts/servers.sh "$bench" --benchmark_min_time=0.01
    done
    [[ $found -eq 1 ]] || { echo "no build/debug/benchmarks/bench_* executables" >&2; return 1; }
}

total=$SECONDS
phase deps -- scripts/deps.sh
phase standalone deps -- standalone_configure
phase debug-build deps -- debug_build
phase debug-ctest debug-build -- debug_ctest
phase asan-build deps -- asan_build
phase asan-ctest asan-build -- asan_ctest
phase consumers debug-build -- scripts/check-consumers.sh build/debug
phase bench-smoke debug-build -- bench_smoke

summary="${#passed[@]} passed, ${#failed[@]} failed${failed[*]:+ (${failed[*]})}"
summary+=", ${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}, $((SECONDS - total)) s"
if [[ ${#failed[@]} -eq 0 && ${#skipped[@]} -eq 0 ]]; then
    echo "test.sh: PASS: $summary"
else
    echo "test.sh: FAIL: $summary"
    exit 1
fi
