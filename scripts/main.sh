#!/usr/bin/env bash
# The main job: build the first teaching example in Release and run it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_DIR=${CCACHE_DIR:-$repo/.cache/ccache}

scripts/deps.sh
# Same arguments as scripts/bench.sh, which shares build/release.
cmake -S . -B build/release -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DMUSEHUB_BUILD_TESTS=OFF
cmake --build build/release -j "${JOBS:-$(nproc)}" --target 01_push_fetch_gc
exec build/release/examples/01_push_fetch_gc
