#!/usr/bin/env bash
# Proves musehub is usable from outside: installs an already-configured build tree into a temporary
# prefix, then builds and runs, each pushing a history through a real Hub, fetching it back,
# collecting and fsck-ing it (tests/consumers/common/history_roundtrip.hpp):
#   find_package      the in-memory backend, find_package(musehub) with no components (it must
#                     not look for SQLite, libcurl or libpq);
#   find_package_fs   the embedded backend, find_package(musehub COMPONENTS fs);
#   add_subdirectory  the embedded backend, this source tree vendored with S3 and PostgreSQL off;
#   pkg-config        the in-memory program against `pkg-config musehub` (which must not link
#                     SQLite, libcurl or libpq) and the embedded one against `musehub-fs`.
# Then installs a core-only configuration (every MUSEHUB_WITH_* off) and checks that asking it
# for the postgres component fails, saying it was not installed, and that the in-memory
# consumer still configures against it.
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

# Neither SQLite nor libcurl nor libpq in an executable's dynamic section.
links_no_backend_library() {
    if readelf -d "$1" | grep -E 'NEEDED.*(libpq|libcurl|libsqlite3)'; then
        echo "$1 links a backend library" >&2
        return 1
    fi
}

begin "find_package consumer (memory): configure, build, run"
quiet find_package.log cmake -S "$repo/tests/consumers/find_package" -B "$tmp/find_package" \
    "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$prefix"
grep -- '-- musehub ' "$tmp/find_package.log"   # version and the config dir it came from
quiet find_package-build.log cmake --build "$tmp/find_package"
"$tmp/find_package/consumer"
links_no_backend_library "$tmp/find_package/consumer"

begin "find_package consumer (COMPONENTS fs): configure, build, run"
quiet find_package_fs.log cmake -S "$repo/tests/consumers/find_package_fs" \
    -B "$tmp/find_package_fs" "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$prefix"
quiet find_package_fs-build.log cmake --build "$tmp/find_package_fs"
"$tmp/find_package_fs/consumer"

begin "add_subdirectory consumer (fs, S3 and PostgreSQL off): configure, build, run"
quiet add_subdirectory.log cmake -S "$repo/tests/consumers/add_subdirectory" \
    -B "$tmp/add_subdirectory" "${cmake_args[@]}" -DMUSEHUB_SOURCE_DIR="$repo"
quiet add_subdirectory-build.log cmake --build "$tmp/add_subdirectory"
"$tmp/add_subdirectory/consumer"

begin "pkg-config consumers (musehub, musehub-fs): cflags, compile, run"
export PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags musehub)
echo "pkg-config --cflags musehub: $cflags"
[[ $cflags == *-std=c++20* && $cflags == *"-I$prefix/"* ]] ||
    { echo "cflags lack -std=c++20 or -I$prefix/..." >&2; false; }
libs=$(pkg-config --libs musehub)
echo "pkg-config --libs musehub: $libs"
[[ $libs != *-lpq* && $libs != *-lcurl* && $libs != *-lsqlite3* ]] ||
    { echo "musehub.pc links a backend library" >&2; false; }
fs_libs=$(pkg-config --libs musehub-fs)
echo "pkg-config --libs musehub-fs: $fs_libs"
[[ $fs_libs == *-lsqlite3* ]] || { echo "musehub-fs.pc lacks -lsqlite3" >&2; false; }
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
"${CXX:-c++}" $cflags "$repo/tests/consumers/memory/main.cpp" -o "$tmp/pc-memory" $libs
"$tmp/pc-memory"
links_no_backend_library "$tmp/pc-memory"
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
"${CXX:-c++}" $(pkg-config --cflags musehub-fs) "$repo/tests/consumers/fs/main.cpp" \
    -o "$tmp/pc-fs" $fs_libs
"$tmp/pc-fs"

begin "core-only install: a missing component fails readably, memory still configures"
core_prefix=$tmp/core-prefix
quiet core-configure.log cmake -S "$repo" -B "$tmp/core-build" -G Ninja \
    -DMUSEHUB_WITH_FS=OFF -DMUSEHUB_WITH_S3=OFF -DMUSEHUB_WITH_POSTGRES=OFF \
    -DMUSEHUB_BUILD_TESTS=OFF -DMUSEHUB_BUILD_EXAMPLES=OFF -DMUSEHUB_BUILD_BENCHMARKS=OFF
quiet core-install.log cmake --install "$tmp/core-build" --prefix "$core_prefix"
if ls "$core_prefix"/include/musehub/{fs,s3,postgres} 2>/dev/null; then
    echo "a core-only install installed backend headers" >&2; false
fi
if cmake -S "$repo/tests/consumers/missing_component" -B "$tmp/missing_component" \
    -DCMAKE_PREFIX_PATH="$core_prefix" -DCOMPONENT=postgres >"$tmp/missing.log" 2>&1; then
    echo "find_package(musehub COMPONENTS postgres) succeeded on a core-only install" >&2; false
fi
grep -q 'musehub component "postgres" was not installed' "$tmp/missing.log" ||
    { cat "$tmp/missing.log" >&2; echo "no readable reason for the missing component" >&2; false; }
grep -A1 'musehub component "postgres"' "$tmp/missing.log"
quiet core-memory.log cmake -S "$repo/tests/consumers/find_package" -B "$tmp/core-memory" \
    "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$core_prefix"

step=""
echo "check-consumers: all consumers OK"
