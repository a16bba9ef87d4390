#!/usr/bin/env bash
# Release-mode benchmark run (-O2): builds build/release and runs every bench_* with Google
# Benchmark's default settings, then benchmarks/vs_git.sh (musehub against git on this
# repository's own history); the output is also kept in build/release/bench-results.txt.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/musehub-ccache}

scripts/deps.sh
# Same arguments as scripts/main.sh, which shares build/release.
cmake -S . -B build/release -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DMUSEHUB_BUILD_TESTS=OFF
cmake --build build/release -j "${JOBS:-$(nproc)}"

results=build/release/bench-results.txt
echo "# musehub benchmarks, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo no-commit)" \
    | tee "$results"
found=0
for bench in build/release/benchmarks/bench_*; do
    [[ -f $bench && -x $bench ]] || continue
    found=1
    echo "--- $bench" | tee -a "$results"
    # Under the throwaway servers, so bench_hub also measures S3 + PostgreSQL (fs-pg, s3-pg).
    scripts/servers.sh "$bench" 2>&1 | tee -a "$results"
done
[[ $found -eq 1 ]] || { echo "bench: no build/release/benchmarks/bench_* executables" >&2; exit 1; }

# musehub against git on this repository's own history (the tool built above; its table
# goes to the results too, its progress lines to stderr).
echo "--- benchmarks/vs_git.sh $repo" | tee -a "$results"
vs_git=0
MUSEHUB_TOOL=$repo/build/release/examples/musehub benchmarks/vs_git.sh "$repo" | tee -a "$results" || vs_git=$?
echo "bench: results in $results"
[[ $vs_git -eq 0 ]] || { echo "bench: benchmarks/vs_git.sh reported a failed check (see its table)" >&2; exit "$vs_git"; }
