#!/usr/bin/env bash
# The main job: build the embedded-default lesson (a hub in one directory: files + SQLite) in
# Release and run it. Pass a directory to keep the hub there (run twice to see it reopened).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_DIR=${CCACHE_DIR:-$repo/.cache/ccache}

scripts/deps.sh
# Same arguments as scripts/bench.sh, which shares build/release.
cmake -S . -B build/release -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DMUSEHUB_BUILD_TESTS=OFF
cmake --build build/release -j "${JOBS:-$(nproc)}" --target 03_embedded_hub
exec build/release/examples/03_embedded_hub "$@"
