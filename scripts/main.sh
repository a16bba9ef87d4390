#!/usr/bin/env bash
# The main job, end to end on the embedded default (hubs in directories: files + SQLite, fsync
# on): this project's own git history goes through a real musehub server and back.
#
#   1. import   a scratch clone of this repository (main, and a `feature` branch with one
#               commit of its own) into a local hub with `musehub import-git`
#   2. serve    `musehub serve` on a free loopback port, over a second, empty hub directory
#   3. push     every branch through HTTP (wire v1, as the Muse client pushes)
#   4. clone    every branch head back into its own directory (and main once more through
#               musehub's own wire v2); every file is compared byte for byte with
#               `git archive` of the same branch
#   5. force    `feature` rewritten (its commit amended), imported again and force-pushed
#   6. gc       on the server's hub (grace 0: collect at once), consolidation, and gc again
#               (which purges the packs consolidation retired)
#   7. clone    again, compared again; fsck of the server's hub
#
# and a report: commits, objects, bytes, per-phase times and what GC reclaimed. Usage:
#   scripts/main.sh [WORKDIR]     (default: a temporary directory, removed at the end)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/musehub-ccache}

scripts/deps.sh
# Same arguments as scripts/bench.sh, which shares build/release.
cmake -S . -B build/release -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DMUSEHUB_BUILD_TESTS=OFF
cmake --build build/release -j "${JOBS:-$(nproc)}" --target musehub_tool
tool=$repo/build/release/examples/musehub

if [[ $# -ge 1 ]]; then
    work=$(mkdir -p "$1" && cd "$1" && pwd)
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/musehub-main.XXXXXX")
    keep=0
fi
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [[ $keep -eq 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

report=()
phase() { # phase NAME COMMAND...: runs it, times it, keeps its last output line for the report
    local name=$1
    shift
    local start=$EPOCHREALTIME out
    out=$("$@")
    local ms
    ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    printf '%s\n' "$out" >&2
    report+=("$(printf '%-26s %7s ms   %s' "$name" "$ms" "$(printf '%s\n' "$out" | paste -sd '|' | sed 's/|/ | /g')")")
}
git_as_main() { git -C "$work/git" -c user.name="musehub main job" -c user.email=main@musehub.invalid "$@"; }
compare() { # compare BRANCH DIR: every file of the branch head, byte for byte
    local expect=$work/expect-$1
    rm -rf "$expect" && mkdir -p "$expect"
    git -C "$work/git" archive "$1" | tar -x -C "$expect"
    diff -r --exclude=.musehub "$expect" "$2"
    echo "$1: $(find "$expect" -type f | wc -l) files identical to git archive $1"
}

# ---- 1. a scratch clone with two branches, imported ------------------------------------------
git clone -q --no-hardlinks "$repo" "$work/git"
commits=$(git -C "$work/git" rev-list --count HEAD)
back=$((commits > 10 ? 10 : commits - 1))
git_as_main checkout -q -b feature "HEAD~$back"
echo "work on a branch of its own ($(date -u +%FT%TZ))" > "$work/git/FEATURE.md"
git_as_main add FEATURE.md
git_as_main commit -q -m "Feature: a branch of its own"
git_as_main checkout -q -
url=
phase "import-git" "$tool" import-git "$work/git" --repo musehub/self --data "$work/local"

# ---- 2. the server ---------------------------------------------------------------------------
"$tool" serve --data "$work/hub" --port 0 >"$work/serve.out" 2>"$work/access.log" &
server_pid=$!
for _ in $(seq 100); do
    url=$(sed -n 's/^musehub: listening on \(http:[^ ]*\).*/\1/p' "$work/serve.out")
    [[ -n $url ]] && break
    sleep 0.1
done
[[ -n $url ]] || { echo "main: the server did not start:" >&2; cat "$work/access.log" >&2; exit 1; }
remote=$url/musehub/self
echo "main: server at $url (pid $server_pid), access log $work/access.log" >&2

# ---- 3. push, 4. clone and compare -----------------------------------------------------------
phase "push (every branch)" "$tool" push "$remote" --repo musehub/self --data "$work/local"
for b in main feature; do
    phase "clone $b" "$tool" clone "$remote" "$work/clone-$b" --branch "$b"
    phase "compare $b" compare "$b" "$work/clone-$b"
done
phase "clone main (wire v2)" "$tool" clone "$remote" "$work/clone-v2" --branch main --wire v2
phase "compare main (wire v2)" compare main "$work/clone-v2"

# ---- 5. rewrite feature and force-push -------------------------------------------------------
git_as_main checkout -q feature
echo "the same work, rewritten ($(date -u +%FT%TZ))" > "$work/git/FEATURE.md"
git_as_main commit -q --amend -a -m "Feature: rewritten"
git_as_main checkout -q -
phase "import-git (rewritten)" "$tool" import-git "$work/git" --repo musehub/self --data "$work/local" --branch feature
if "$tool" push "$remote" --repo musehub/self --data "$work/local" --branch feature 2>"$work/refused"; then
    echo "main: a diverged push was accepted without --force" >&2
    exit 1
fi
echo "main: refused without --force, as it must be: $(cat "$work/refused")" >&2
phase "force-push feature" "$tool" push "$remote" --repo musehub/self --data "$work/local" --branch feature --force

# ---- 6. GC and consolidation on the server's hub (another process, same directory) -----------
phase "gc (grace 0)" "$tool" gc --data "$work/hub" --grace 0
phase "consolidate" "$tool" consolidate --data "$work/hub"
phase "gc (purge retired packs)" "$tool" gc --data "$work/hub" --grace 0

# ---- 7. clone again, compare, fsck -------------------------------------------------------------
for b in main feature; do
    rm -rf "$work/again-$b"
    phase "clone $b again" "$tool" clone "$remote" "$work/again-$b" --branch "$b"
    phase "compare $b again" compare "$b" "$work/again-$b"
done
phase "fsck" "$tool" fsck --data "$work/hub"
phase "stats" "$tool" stats --data "$work/hub"

kill -TERM "$server_pid"
wait "$server_pid" || { echo "main: the server did not stop cleanly" >&2; exit 1; }
server_pid=

echo
echo "== musehub main job: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $commits commits of this repository, hubs under $work"
printf '%s\n' "${report[@]}"
echo "access log: $(wc -l <"$work/access.log") requests ($(grep -c ' 200 ' "$work/access.log") ok, $(grep -c ' 409 ' "$work/access.log") diverged)"
[[ $keep -eq 1 ]] && echo "kept: $work"
exit 0
