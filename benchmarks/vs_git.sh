#!/usr/bin/env bash
# musehub against git, doing the same work on the same history, in one run on loopback.
#
#   benchmarks/vs_git.sh GIT_REPO [WORKDIR]
#
# GIT_REPO is any local git repository (a clone or a bare git dir); its default branch (the
# branch HEAD names; VS_GIT_BRANCH=name picks another) is the history. WORKDIR keeps every
# hub, repo, clone and log (default: a temporary directory, removed at the end).
#
#   convert      `musehub import-git` of the branch into a local hub (musehub only: shown)
#   push         the branch, to `musehub serve` (embedded default, durable) over wire v1 and,
#                into a second server and hub directory, over wire v2; against `git push` to
#                `git daemon` (receive-pack enabled) into a bare repo whose HEAD names it
#   clone        with checkout: `musehub clone --branch B` (each wire) against `git clone`;
#                the files of each musehub clone are checked against the git clone's
#   force-push   the branch back to the first-parent commit at half the first-parent chain
#   collect      `musehub gc --grace 0` (collect, repack what it left with dead bytes, purge
#                what the repack retired) against `git reflog expire --expire=now --all` +
#                `git gc --prune=now`
#   clone again  after the force push and the collection; the files are checked again
#   fsck         `musehub fsck` (reads and hashes every object) against `git fsck`
#
# and prints one line per measure: musehub, git, and the ratio musehub/git. A failed check
# (files that differ, an fsck that fails) makes the exit status 1, after the table.
#
# The musehub tool is built as scripts/main.sh builds it (build/release, shared with main.sh
# and bench.sh), unless MUSEHUB_TOOL=/path/to/musehub names a binary to use.
#
# How each figure is taken (the same way for both systems wherever both have it):
#   - time: wall seconds ($EPOCHREALTIME around the client command; a server's background
#     work after the command returned is not in it: musehub's follow-up jobs are shown in a
#     row of their own, waited for before the next step so they never overlap it).
#   - wire bytes: nftables counters on the loopback output hook, one rule per direction on the
#     server's port (each packet on lo crosses the output hook exactly once), read before and
#     after the client command. They count IP packets, headers included (the same TCP/IP
#     framing for both; HTTP headers are musehub's, git's pkt-lines git's), in both
#     directions. Exact and uniform, and no relay that would slow either side. Needs root and
#     nft (installed here with apt-get if missing); without them the rows say n/a.
#   - peak RSS of a client or collection command: GNU time's %M (ru_maxrss: the largest
#     resident set of the command or of any descendant it waited for: git gc's repack and
#     pack-objects, git clone's index-pack are included).
#   - peak RSS of a server over the whole run: musehub serve's VmHWM (/proc/PID/status, read
#     just before it is stopped; one process, its threads included); git daemon runs under
#     GNU time and its %M is the largest of the daemon and every upload-pack, receive-pack,
#     pack-objects, index-pack it forked (each reaped, so its peak reaches the daemon's
#     rusage): the peak of the largest single process git used to serve, not a sum.
#   - disk: `du -sb` of the server's hub directory (objects + the SQLite catalog and queue;
#     the catalog's share, hub.db*, on a row of its own) against `du -sb` of the bare repo
#     (hooks/*.sample of `git init` included: ~25 KB; the share of the fetch answers the fs
#     store keeps, objects/*/fetch.d, on a row too), at three points: before collection
#     (after the force push and musehub's follow-up jobs), after it (servers live: SQLite's
#     -wal file counts), and at the end (after the second clone and fsck, servers stopped).
set -euo pipefail

usage() { echo "usage: $0 GIT_REPO [WORKDIR]   (MUSEHUB_TOOL=/path/to/musehub to skip the build)" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
case $1 in -h | --help) usage ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$(cd "$1" && pwd) || { echo "vs_git: $1: no such directory" >&2; exit 2; }
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "vs_git: $src is not a git repository" >&2; exit 2; }
if [[ -n ${VS_GIT_BRANCH:-} ]]; then
    branch=$VS_GIT_BRANCH
else
    branch=$(git -C "$src" symbolic-ref -q --short HEAD) || {
        echo "vs_git: HEAD of $src is detached: check out a branch there, or name one with VS_GIT_BRANCH=name" >&2
        exit 2
    }
fi
git -C "$src" rev-parse -q --verify "refs/heads/$branch^{commit}" >/dev/null || {
    echo "vs_git: $src has no branch '$branch' (HEAD names it); name one with VS_GIT_BRANCH=name" >&2
    exit 2
}

# ---- the tool ------------------------------------------------------------------------------
if [[ -n ${MUSEHUB_TOOL:-} ]]; then
    [[ -f $MUSEHUB_TOOL && -x $MUSEHUB_TOOL ]] || { echo "vs_git: MUSEHUB_TOOL=$MUSEHUB_TOOL is not an executable" >&2; exit 2; }
    tool=$(cd "$(dirname "$MUSEHUB_TOOL")" && pwd)/$(basename "$MUSEHUB_TOOL")
else
    (
        cd "$repo"
        export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/musehub-ccache}
        scripts/deps.sh
        # Same arguments as scripts/main.sh and scripts/bench.sh, which share build/release.
        cmake -S . -B build/release -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DMUSEHUB_BUILD_TESTS=OFF
        cmake --build build/release -j "${JOBS:-$(nproc)}" --target musehub_tool
    ) >&2
    tool=$repo/build/release/examples/musehub
fi

# ---- measuring tools: nft for wire bytes, GNU time for peak RSS ------------------------------
apt_missing=()
command -v nft >/dev/null || apt_missing+=(nftables)
[[ -x /usr/bin/time ]] || apt_missing+=(time)
if [[ ${#apt_missing[@]} -gt 0 && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "vs_git: installing ${apt_missing[*]} (wire bytes, peak RSS)" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_missing[@]}" ||
        { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_missing[@]}"; }; } >&2 ||
        echo "vs_git: could not install ${apt_missing[*]}: those rows will say n/a" >&2
fi
timebin=
[[ -x /usr/bin/time ]] && timebin=/usr/bin/time
nft_table=musehub_vs_git_$$
nft_ok=0

# ---- work directory, servers, cleanup -----------------------------------------------------
if [[ $# -ge 2 ]]; then
    work=$(mkdir -p "$2" && cd "$2" && pwd)
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/musehub-vs-git.XXXXXX")
    keep=0
fi
# A WORKDIR used before: start over (everything in it is this script's).
rm -rf "$work"/{src.git,local,hub-v1,hub-v2,git-server,clone-*,again-*,expect,logs,git-daemon.pid,git-daemon.rss}
mkdir -p "$work/logs"
log=$work/logs

declare -A server_pid=()
daemon_time_pid=
cleanup() {
    local p
    for p in "${server_pid[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [[ -n $daemon_time_pid ]]; then
        [[ -f $work/git-daemon.pid ]] && kill "$(cat "$work/git-daemon.pid")" 2>/dev/null
        wait "$daemon_time_pid" 2>/dev/null
    fi
    command -v nft >/dev/null && nft delete table inet "$nft_table" 2>/dev/null
    [[ $keep -eq 1 ]] || rm -rf "$work"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The counters: a table of this run's own (removed by cleanup), chain on the output hook.
if command -v nft >/dev/null && nft add table inet "$nft_table" 2>/dev/null; then
    nft_ok=1
    nft add chain inet "$nft_table" out '{ type filter hook output priority 0; policy accept; }' || nft_ok=0
fi
[[ $nft_ok -eq 1 ]] || echo "vs_git: nft unusable (root and nftables needed): no wire bytes" >&2

say() { echo "vs_git: $*" >&2; }
die() { say "$*"; exit 1; }

wire_watch() { # wire_watch PORT: counts the port's loopback traffic, both directions
    [[ $nft_ok -eq 1 ]] || return 0
    nft add rule inet "$nft_table" out ip daddr 127.0.0.1 tcp dport "$1" counter
    nft add rule inet "$nft_table" out ip saddr 127.0.0.1 tcp sport "$1" counter
}
wire_total() { # wire_total PORT: bytes so far, both directions
    nft list chain inet "$nft_table" out | awk -v p="$1" '
        index($0, "dport " p " ") || index($0, "sport " p " ") {
            for (i = 1; i < NF; i++) if ($i == "bytes") s += $(i + 1)
        }
        END { print s + 0 }'
}

# measure LOGNAME PORT COMMAND...: runs it; sets T (wall s), W (wire bytes, or n/a when PORT
# is empty or nft is unusable), RSS (peak KiB, or n/a) and RC (its exit status); the command's
# output goes to logs/LOGNAME.
measure() {
    local name=$1 port=$2 w0=0 t0 rss_file=$log/$1.rss
    shift 2
    [[ -n $port && $nft_ok -eq 1 ]] && w0=$(wire_total "$port")
    RC=0
    t0=$EPOCHREALTIME
    if [[ -n $timebin ]]; then
        "$timebin" -f %M -o "$rss_file" "$@" >"$log/$name.log" 2>&1 || RC=$?
    else
        "$@" >"$log/$name.log" 2>&1 || RC=$?
    fi
    T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    W=n/a
    [[ -n $port && $nft_ok -eq 1 ]] && W=$(($(wire_total "$port") - w0))
    RSS=n/a
    [[ -n $timebin && -s $rss_file ]] && RSS=$(tail -n 1 "$rss_file")
    say "$name: ${T} s, wire ${W} bytes, peak RSS ${RSS} KiB, exit $RC"
    return 0
}
must() { # after measure: stop on a failed command, with its output
    [[ $RC -eq 0 ]] && return 0
    tail -n 30 "$log/$1.log" >&2
    die "$1 failed (exit $RC); its output: $log/$1.log"
}
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a") print b; else if (b == "n/a") print a; else print (a > b ? a : b) }'; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
disk() { du -sb "$1" | cut -f1; }
catalog_bytes() { # the SQLite catalog and queue of a hub directory: hub.db and its -wal, -shm
    local total=0 f
    for f in "$1"/hub.db "$1"/hub.db-wal "$1"/hub.db-shm; do
        [[ -f $f ]] && total=$((total + $(stat -c %s "$f")))
    done
    echo "$total"
}
fetch_cache_bytes() { # fetch answers the fs store keeps (objects/*/fetch.d), made by clones
    find "$1" -path '*/fetch.d/*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# ---- the table ------------------------------------------------------------------------------
rows=()
row() { rows+=("$1"$'\t'"$2"$'\t'"$3"); } # row NAME MUSEHUB GIT
checks=()
failed=0
check() { # check WHAT OK?: kept for the report
    if [[ $2 -eq 0 ]]; then
        checks+=("ok      $1")
    else
        checks+=("FAILED  $1")
        failed=1
    fi
}

# compare GITCLONE MUSECLONE: every file of the git checkout byte for byte in the musehub one
# (diff -r; file modes are not compared). What musehub import-git does not store as git does
# is made explicit rather than skipped silently: a symlink is compared as its target text (the
# Muse snapshot holds the target as the file's content), a submodule (gitlink; its directory
# is empty in a clone) is left out, as import-git leaves it out.
compare() {
    local g=$1 m=$2 entry mode path links=0 subs=0 expect=$1
    local -a special=()
    while IFS= read -r -d '' entry; do
        mode=${entry%% *}
        path=${entry#*$'\t'}
        case $mode in
        120000) special+=("L$path") links=$((links + 1)) ;;
        160000) special+=("S$path") subs=$((subs + 1)) ;;
        esac
    done < <(git -C "$g" ls-files -s -z)
    if [[ ${#special[@]} -gt 0 ]]; then
        expect=$work/expect
        rm -rf "$expect" && mkdir -p "$expect"
        tar -C "$g" --exclude=./.git -cf - . | tar -C "$expect" -xf -
        for entry in "${special[@]}"; do
            path=$expect/${entry:1}
            if [[ ${entry:0:1} == L ]]; then
                local target
                target=$(readlink -- "$path")
                rm -f -- "$path"
                printf '%s' "$target" >"$path"
            else
                rmdir -- "$path" 2>/dev/null || rm -rf -- "$path"
            fi
        done
        # A directory that held only submodules is gone from the musehub checkout too (a git
        # checkout has no other empty directories).
        find "$expect" -mindepth 1 -type d -empty -delete
    fi
    local files
    files=$(find "$g" -path "$g/.git" -prune -o \( -type f -o -type l \) -print | wc -l)
    if diff -r --no-dereference --exclude=.git --exclude=.musehub "$expect" "$m" >"$log/diff.out" 2>&1; then
        COMPARED="$files files identical (diff -r)"
        [[ $links -gt 0 ]] && COMPARED+=", $links symlinks as their target text"
        [[ $subs -gt 0 ]] && COMPARED+=", $subs submodules left out (import-git skips them)"
        return 0
    fi
    COMPARED="files differ: $(wc -l <"$log/diff.out") lines of diff -r, first: $(head -n 1 "$log/diff.out")"
    cat "$log/diff.out" >"$log/diff-$(basename "$m").out"
    return 1
}

# ---- the history -----------------------------------------------------------------------------
export GIT_TERMINAL_PROMPT=0
load_start=$(cut -d' ' -f1 /proc/loadavg)
say "history: $src, branch $branch; work in $work"
git clone -q --bare --single-branch --branch "$branch" "$src" "$work/src.git"
scratch=$work/src.git
commits=$(git -C "$scratch" rev-list --count "refs/heads/$branch")
chain=$(git -C "$scratch" rev-list --first-parent --count "refs/heads/$branch")
tip=$(git -C "$scratch" rev-parse "refs/heads/$branch")
mid=$(git -C "$scratch" rev-parse "refs/heads/$branch~$((chain / 2))")
mid_commits=$(git -C "$scratch" rev-list --count "$mid")
[[ $mid != "$tip" ]] || die "the branch has one first-parent commit: no middle to force-push back to"
rname=vsgit/history

# ---- convert ---------------------------------------------------------------------------------
measure convert "" "$tool" import-git "$scratch" --repo "$rname" --data "$work/local" --branch "$branch"
must convert
row "convert: import-git (s)" "$T" -
import_line=$(tail -n 1 "$log/convert.log")

# ---- git -------------------------------------------------------------------------------------
git_server=$work/git-server
bare=$git_server/x.git
git init -q --bare "$bare"
git -C "$bare" symbolic-ref HEAD "refs/heads/$branch"
gport=$(free_port)
wire_watch "$gport"
if [[ -n $timebin ]]; then
    "$timebin" -f %M -o "$work/git-daemon.rss" git daemon --reuseaddr --base-path="$git_server" --export-all \
        --enable=receive-pack --listen=127.0.0.1 --port="$gport" --pid-file="$work/git-daemon.pid" \
        "$git_server" 2>"$log/git-daemon.log" &
else
    git daemon --reuseaddr --base-path="$git_server" --export-all --enable=receive-pack --listen=127.0.0.1 \
        --port="$gport" --pid-file="$work/git-daemon.pid" "$git_server" 2>"$log/git-daemon.log" &
fi
daemon_time_pid=$!
for _ in $(seq 100); do
    [[ -s $work/git-daemon.pid ]] && (exec 3<>"/dev/tcp/127.0.0.1/$gport") 2>/dev/null && break
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$gport") 2>/dev/null || { cat "$log/git-daemon.log" >&2; die "git daemon did not start"; }
gurl=git://127.0.0.1:$gport/x.git
say "git daemon at $gurl"

declare -A G=()
measure git-push "$gport" git -C "$scratch" push "$gurl" "refs/heads/$branch:refs/heads/$branch"
must git-push
G[push_t]=$T G[push_w]=$W G[push_rss]=$RSS
measure git-clone "$gport" git clone "$gurl" "$work/clone-git"
must git-clone
G[clone_t]=$T G[clone_w]=$W G[clone_rss]=$RSS
measure git-force-push "$gport" git -C "$scratch" push --force "$gurl" "$mid:refs/heads/$branch"
must git-force-push
G[force_t]=$T G[force_w]=$W
G[disk0]=$(disk "$bare")
# A bare repo keeps no reflogs by default (core.logAllRefUpdates), but if one does, its entries
# keep the old tip reachable and gc could not drop the unreachable half: expire them first.
measure git-reflog-expire "" git -C "$bare" reflog expire --expire=now --all
must git-reflog-expire
t_reflog=$T
measure git-gc "" git -C "$bare" gc --prune=now --quiet
must git-gc
G[collect_t]=$(add "$t_reflog" "$T") G[collect_rss]=$RSS
G[disk1]=$(disk "$bare")
measure git-clone-again "$gport" git clone "$gurl" "$work/again-git"
must git-clone-again
G[again_t]=$T G[again_w]=$W
measure git-fsck "" git -C "$bare" fsck --no-progress
G[fsck_t]=$T
check "git fsck of the bare repo after collection" "$RC"
rc=0
[[ $(git -C "$work/again-git" rev-parse HEAD) == "$mid" ]] || rc=1
check "git clone after the force push is at the middle commit" "$rc"
sleep 0.5 # the daemon reaps its last children (their peak RSS reaches its rusage)
kill -TERM "$(cat "$work/git-daemon.pid")"
wait "$daemon_time_pid" 2>/dev/null || true
daemon_time_pid=
G[server_rss]=n/a
[[ -s $work/git-daemon.rss ]] && G[server_rss]=$(tail -n 1 "$work/git-daemon.rss")

# ---- musehub: one server (and hub directory) per wire ---------------------------------------
declare -A url=() port=() M=()
start_server() { # start_server WIRE
    local w=$1 u=
    "$tool" serve --data "$work/hub-$w" --port 0 >"$log/serve-$w.out" 2>"$log/access-$w.log" &
    server_pid[$w]=$!
    for _ in $(seq 100); do
        u=$(sed -n 's/^musehub: listening on \(http:[^ ]*\).*/\1/p' "$log/serve-$w.out")
        [[ -n $u ]] && break
        sleep 0.1
    done
    [[ -n $u ]] || { cat "$log/access-$w.log" >&2; die "musehub serve ($w) did not start"; }
    url[$w]=$u/$rname
    port[$w]=${u##*:}
    wire_watch "${port[$w]}"
    say "musehub serve ($w) at $u (pid ${server_pid[$w]})"
}
wait_jobs() { # wait_jobs WIRE: until the server's follow-up jobs (repacks) are done; sets T
    local t0=$EPOCHREALTIME busy
    for _ in $(seq 3000); do
        busy=$("$tool" jobs list --data "$work/hub-$1" | grep -cE '^(queued|running)' || true)
        [[ $busy -eq 0 ]] && break
        sleep 0.1
    done
    [[ $busy -eq 0 ]] || die "the $1 server's jobs did not finish in 5 minutes"
    if "$tool" jobs list --data "$work/hub-$1" | grep -q '^failed'; then
        "$tool" jobs list --data "$work/hub-$1" >&2
        die "a job failed on the $1 server"
    fi
    T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

for w in v1 v2; do
    start_server "$w"
    measure "push-$w" "${port[$w]}" "$tool" push "${url[$w]}" --repo "$rname" --data "$work/local" --branch "$branch" --wire "$w"
    must "push-$w"
    M[push_t_$w]=$T M[push_w_$w]=$W M[push_rss_$w]=$RSS
    wait_jobs "$w"
    M[push_jobs_$w]=$T
    measure "clone-$w" "${port[$w]}" "$tool" clone "${url[$w]}" "$work/clone-$w" --branch "$branch" --wire "$w"
    must "clone-$w"
    M[clone_t_$w]=$T M[clone_w_$w]=$W M[clone_rss_$w]=$RSS
    rc=0
    compare "$work/clone-git" "$work/clone-$w" || rc=1
    check "musehub clone ($w) = git clone: $COMPARED" "$rc"
done

# The local hub's branch back to the middle: import-git of the branch moved there in the
# scratch repo (the commits are imported again by this new process, then the branch moves).
git -C "$scratch" update-ref "refs/heads/$branch" "$mid"
measure convert-middle "" "$tool" import-git "$scratch" --repo "$rname" --data "$work/local" --branch "$branch"
must convert-middle
row "convert: import-git again, branch at the middle (s)" "$T" -

for w in v1 v2; do
    measure "force-push-$w" "${port[$w]}" "$tool" push "${url[$w]}" --repo "$rname" --data "$work/local" --branch "$branch" --force --wire "$w"
    M[force_t_$w]=$T M[force_w_$w]=$W
    check "musehub force-push ($w) back to the middle$([[ $RC -eq 0 ]] || echo ": $(tail -n 1 "$log/force-push-$w.log")")" "$RC"
    if [[ $RC -ne 0 ]]; then
        # Failed: the row says so, the run fails at the end; the branch is moved over the other
        # wire (not measured) so that collection and the second clone still run on this hub.
        M[force_t_$w]=failed M[force_w_$w]=failed
        other=$([[ $w == v1 ]] && echo v2 || echo v1)
        say "force-push-$w failed; moving the branch over wire $other instead (not measured)"
        measure "force-push-$w-over-$other" "" "$tool" push "${url[$w]}" --repo "$rname" --data "$work/local" --branch "$branch" --force --wire "$other"
        must "force-push-$w-over-$other"
        checks+=("        (the $w hub's branch was moved over wire $other instead, so the rest ran on it)")
    fi
    wait_jobs "$w"
    M[force_jobs_$w]=$T
    hub=$work/hub-$w
    M[disk0_$w]=$(disk "$hub") M[cat0_$w]=$(catalog_bytes "$hub") M[fc0_$w]=$(fetch_cache_bytes "$hub")
    # gc collects, rewrites the packs it left with dead bytes (the repack a collection
    # schedules, run at once) and purges what that repack retired (--grace 0).
    measure "gc-$w" "" "$tool" gc --data "$hub" --grace 0
    must "gc-$w"
    M[collect_t_$w]=$T M[collect_rss_$w]=$RSS
    M[disk1_$w]=$(disk "$hub") M[cat1_$w]=$(catalog_bytes "$hub") M[fc1_$w]=$(fetch_cache_bytes "$hub")
    measure "clone-again-$w" "${port[$w]}" "$tool" clone "${url[$w]}" "$work/again-$w" --branch "$branch" --wire "$w"
    must "clone-again-$w"
    M[again_t_$w]=$T M[again_w_$w]=$W
    rc=0
    compare "$work/again-git" "$work/again-$w" || rc=1
    check "musehub clone ($w) after force push and collection = git clone: $COMPARED" "$rc"
    measure "fsck-$w" "" "$tool" fsck --data "$hub"
    M[fsck_t_$w]=$T
    check "musehub fsck ($w hub) after collection: $(tail -n 1 "$log/fsck-$w.log")" "$RC"
    "$tool" stats --data "$hub" >"$log/stats-$w.log"
done

for w in v1 v2; do
    M[server_rss_$w]=$(awk '/^VmHWM:/ { print $2 }' "/proc/${server_pid[$w]}/status")
    kill -TERM "${server_pid[$w]}"
    rc=0
    wait "${server_pid[$w]}" || rc=$?
    unset "server_pid[$w]"
    check "musehub serve ($w) stopped cleanly" "$rc"
    M[disk2_$w]=$(disk "$work/hub-$w") M[cat2_$w]=$(catalog_bytes "$work/hub-$w") M[fc2_$w]=$(fetch_cache_bytes "$work/hub-$w")
done
G[disk2]=$(disk "$bare")

# ---- the report ------------------------------------------------------------------------------
for w in v1 v2; do
    row "push, wire $w (s)" "${M[push_t_$w]}" "${G[push_t]}"
done
for w in v1 v2; do
    row "push, wire $w: server jobs after it (s)" "${M[push_jobs_$w]}" -
done
for w in v1 v2; do
    row "push, wire $w: bytes on the wire" "${M[push_w_$w]}" "${G[push_w]}"
done
for w in v1 v2; do
    row "push, wire $w: client peak RSS (KiB)" "${M[push_rss_$w]}" "${G[push_rss]}"
done
for w in v1 v2; do
    row "clone + checkout, wire $w (s)" "${M[clone_t_$w]}" "${G[clone_t]}"
done
for w in v1 v2; do
    row "clone, wire $w: bytes on the wire" "${M[clone_w_$w]}" "${G[clone_w]}"
done
for w in v1 v2; do
    row "clone, wire $w: client peak RSS (KiB)" "${M[clone_rss_$w]}" "${G[clone_rss]}"
done
for w in v1 v2; do
    row "force-push to the middle, wire $w (s)" "${M[force_t_$w]}" "${G[force_t]}"
done
for w in v1 v2; do
    row "force-push, wire $w: bytes on the wire" "${M[force_w_$w]}" "${G[force_w]}"
done
for w in v1 v2; do
    row "server disk before collect, $w hub (bytes)" "${M[disk0_$w]}" "${G[disk0]}"
done
for w in v1 v2; do
    row "  of which catalog hub.db*, $w hub (bytes)" "${M[cat0_$w]}" -
done
for w in v1 v2; do
    row "  of which fetch-answer cache, $w hub (bytes)" "${M[fc0_$w]}" -
done
for w in v1 v2; do
    row "collect, $w hub (s)" "${M[collect_t_$w]}" "${G[collect_t]}"
done
for w in v1 v2; do
    row "collect, $w hub: peak RSS (KiB)" "${M[collect_rss_$w]}" "${G[collect_rss]}"
done
for w in v1 v2; do
    row "server disk after collect, $w hub (bytes)" "${M[disk1_$w]}" "${G[disk1]}"
done
for w in v1 v2; do
    row "  of which catalog hub.db*, $w hub (bytes)" "${M[cat1_$w]}" -
done
for w in v1 v2; do
    row "  of which fetch-answer cache, $w hub (bytes)" "${M[fc1_$w]}" -
done
for w in v1 v2; do
    row "clone again after collect, wire $w (s)" "${M[again_t_$w]}" "${G[again_t]}"
done
for w in v1 v2; do
    row "clone again, wire $w: bytes on the wire" "${M[again_w_$w]}" "${G[again_w]}"
done
for w in v1 v2; do
    row "fsck after collect, $w hub (s)" "${M[fsck_t_$w]}" "${G[fsck_t]}"
done
for w in v1 v2; do
    row "server disk at the end (stopped), $w hub (bytes)" "${M[disk2_$w]}" "${G[disk2]}"
done
for w in v1 v2; do
    row "  of which catalog hub.db*, $w hub (bytes)" "${M[cat2_$w]}" -
done
for w in v1 v2; do
    row "  of which fetch-answer cache, $w hub (bytes)" "${M[fc2_$w]}" -
done
for w in v1 v2; do
    row "server peak RSS, $w server (KiB)" "${M[server_rss_$w]}" "${G[server_rss]}"
done

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "== musehub vs git: $(git -C "$repo" describe --always --dirty 2>/dev/null || echo "?") ($tool), $(nproc) cores (${model:-?}), $(git --version)"
echo "history: $src, branch $branch: $commits commits ($chain first-parent), tip ${tip:0:12}; force-push back to ${mid:0:12} (first-parent $((chain - chain / 2)) of $chain, $mid_commits commits)"
echo "convert: $import_line"
echo "load average (1 min): $load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (other work on the machine inflates the times)"
echo "server: musehub serve --data DIR (embedded default: files + SQLite, fsync on), one per wire; git daemon, receive-pack enabled; loopback"
printf '%s\n' "${rows[@]}" | awk -F'\t' '
    function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
    BEGIN { printf "%-52s %14s %14s %12s\n", "measure", "musehub", "git", "musehub/git" }
    {
        ratio = "-"
        if (num($2) && num($3) && $3 + 0 > 0) ratio = sprintf("%.3g", $2 / $3)
        else if (num($2) && num($3) && $2 + 0 > 0) ratio = "inf"
        printf "%-52s %14s %14s %12s\n", $1, $2, $3, ratio
    }'
for w in v1 v2; do
    echo "musehub stats, $w hub after collect: $(paste -sd ' ' "$log/stats-$w.log")"
done
echo "checks:"
printf '  %s\n' "${checks[@]}"
[[ $keep -eq 1 ]] && echo "kept: $work (logs in $log)"
if [[ $failed -ne 0 ]]; then
    say "a check failed"
    exit 1
fi
exit 0
