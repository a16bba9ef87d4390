#!/usr/bin/env bash
# Proves musehub is usable from outside: installs an already-configured build tree into a temporary
# prefix, then builds and runs tests/consumers/find_package against that prefix,
# tests/consumers/add_subdirectory against this source tree, and a plain compile driven by
# `pkg-config musehub`.
# usage: scripts/check-consumers.sh BUILD_DIR
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$(cd "$1" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/musehub-consumers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step=""
trap '[[ -n $step ]] && echo "check-consumers: FAILED: $step" >&2' ERR
begin() { step=$1; echo "check-consumers: $step"; }
# Runs a chatty command into a log that is shown only when it fails.
quiet() {
    local log=$1; shift
    "$@" >"$tmp/$log" 2>&1 || { cat "$tmp/$log" >&2; return 1; }
}

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

begin "install $build_dir into $prefix"
quiet install.log cmake --install "$build_dir" --prefix "$prefix"

begin "find_package consumer: configure, build, run"
quiet find_package.log cmake -S "$repo/tests/consumers/find_package" -B "$tmp/find_package" \
    "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$prefix"
grep -- '-- musehub ' "$tmp/find_package.log"   # version and the config dir it came from
quiet find_package-build.log cmake --build "$tmp/find_package"
"$tmp/find_package/consumer"

begin "add_subdirectory consumer: configure, build, run"
quiet add_subdirectory.log cmake -S "$repo/tests/consumers/add_subdirectory" \
    -B "$tmp/add_subdirectory" "${cmake_args[@]}" -DMUSEHUB_SOURCE_DIR="$repo"
quiet add_subdirectory-build.log cmake --build "$tmp/add_subdirectory"
"$tmp/add_subdirectory/consumer"

begin "pkg-config consumer: cflags, compile, run"
export PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags musehub)
echo "pkg-config --cflags musehub: $cflags"
[[ $cflags == *-std=c++20* && $cflags == *"-I$prefix/"* ]] ||
    { echo "cflags lack -std=c++20 or -I$prefix/..." >&2; false; }
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
"${CXX:-c++}" $cflags "$repo/tests/consumers/find_package/main.cpp" -o "$tmp/pc-consumer" \
    $(pkg-config --libs musehub)
"$tmp/pc-consumer"

step=""
echo "check-consumers: all consumers OK"
