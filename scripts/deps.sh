#!/usr/bin/env bash
# Installs the Debian 12 packages musehub builds and tests with. Idempotent: only packages that are
# not installed are asked for, and apt-get update runs only if there is something to install.
set -euo pipefail

# One list; append here as backends and tools arrive.
PACKAGES=(
    build-essential cmake ninja-build pkg-config ccache clang-format
    git libgit2-dev      # musehub import-git (libgit2 reads git objects in-process); the main job and E2E-7 import git histories
    libboost-dev librange-v3-dev libmsgpack-cxx-dev libzstd-dev libxxhash-dev libssl-dev
    catch2 libbenchmark-dev nlohmann-json3-dev
    libsqlite3-dev
    libpq-dev libcurl4-openssl-dev
    postgresql nodejs    # the throwaway test servers of scripts/servers.sh (PostgreSQL 15, S3 via npm)
    python3              # tests/servers/faulty-s3.py, the S3 that fails on purpose
    libcpp-httplib-dev libcli11-dev   # the musehub tool and hub server (examples/musehub)
)
# npm: the machine image's nodejs (NodeSource 20.x) bundles npm and Conflicts: npm, so asking apt for
# it there fails; Debian's own nodejs (18.x, also enough for the S3 server) needs the npm package.
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#PACKAGES[@]} packages installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
