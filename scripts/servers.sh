#!/usr/bin/env bash
# Runs CMD against throwaway real servers, then stops exactly what it started:
#   scripts/servers.sh CMD ARGS...
# - PostgreSQL 15 on 127.0.0.1 (fresh initdb in a temp dir, trust auth, fsync off)
# - an S3 server (tests/servers/s3-server.js: @20minutes/s3rver, which verifies SigV4) on 127.0.0.1
# CMD sees MUSEHUB_PG_URL, MUSEHUB_S3_ENDPOINT, MUSEHUB_S3_BUCKET, MUSEHUB_S3_REGION,
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Exits with CMD's status (130/143/129 on SIGINT,
# SIGTERM or SIGHUP).
# Both servers are stopped and their data removed however the script ends, short of SIGKILL.
# Works as root (the PostgreSQL binaries then run as the postgres OS user) and as a normal user.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
servers=$repo/tests/servers
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}   # Debian keeps initdb/pg_ctl/postgres off PATH
bucket=musehub-test
export AWS_ACCESS_KEY_ID=MUSEHUBTESTKEY000001
export AWS_SECRET_ACCESS_KEY='musehub/test+secret/0123456789abcdefABCD'   # '/' and '+' as in real ones
unset AWS_SESSION_TOKEN AWS_PROFILE   # a developer's real AWS settings must not leak into the tests

say() { echo "servers: $*" >&2 || true; }   # a closed stderr must not stop the cleanup
die() { say "$*"; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

[[ $# -gt 0 ]] || { echo "usage: scripts/servers.sh CMD ARGS..." >&2; exit 2; }

# --- what must be installed (scripts/deps.sh installs all of it)
[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] ||
    die "no PostgreSQL 15 server in $PGBIN: install the Debian package postgresql (postgresql-15)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node or npm is missing: install the Debian packages nodejs and npm (scripts/deps.sh)"
fi
# The caller's NODE_OPTIONS is for CMD: our own node and npm runs get an empty or a fixed one.
node_major=$(NODE_OPTIONS='' node -p 'process.versions.node.split(".")[0]')
# @20minutes/s3rver 4.0.4 declares Node >= 20, but s3-server.js also runs on Debian 12's own Node 18.
[[ $node_major -ge 18 ]] || die "node $(node --version) is too old: the S3 server needs Node >= 18"
as_pg=() pg_owner=()   # initdb, pg_ctl and postgres refuse to run as root
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no postgres OS user: install the Debian package postgresql"
    as_pg=(runuser -u postgres --) pg_owner=(-o postgres -g postgres)
fi

# --- cleanup: registered before anything starts, so a failed start is cleaned up too
tmp='' s3_pid='' cmd_pid=''
# pg PROGRAM ARGS...: a PostgreSQL binary, as the postgres user when root, from a cwd it can read,
# output to $tmp/pg-tools.log. The redirection is inside the subshell on purpose: one on the call would
# also catch the messages of a trap that runs meanwhile. setsid: a Ctrl-C must not kill pg_ctl in the
# middle of a start, leaving a postmaster that cleanup does not know of yet; the trap waits for it.
pg() {
    (cd "$tmp" && exec setsid -w "${as_pg[@]}" "$PGBIN/$1" "${@:2}" >>"$tmp/pg-tools.log" 2>&1)
}
# running PID: PID is a background job of this script that has not ended. bash reaps its children as
# they end, so after that a bare PID could already be another process's.
running() { jobs -pr | grep -qx "$1"; }
# shellcheck disable=SC2317  # cleanup and on_signal are called from traps
cleanup() {
    set +e
    trap '' INT TERM HUP   # a second Ctrl-C must not cut the cleanup short
    if [[ -n $s3_pid ]]; then
        running "$s3_pid" && kill "$s3_pid" 2>/dev/null   # it may have just died (Ctrl-C)
        wait "$s3_pid" 2>/dev/null
    fi
    if [[ -n $tmp && -f $tmp/pg/postmaster.pid ]]; then
        # immediate: no checkpoint, the data is thrown away anyway. -w waits for every backend to go.
        if ! pg pg_ctl stop -D "$tmp/pg" -m immediate -w -t 30; then
            pid=$(head -1 "$tmp/pg/postmaster.pid")   # kill it only if it is still our postmaster
            grep -qF "$tmp/pg" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid"
        fi
    fi
    [[ -n $tmp ]] && rm -rf "$tmp"
    [[ -n $tmp ]] && say "servers stopped, $tmp removed"
}
trap cleanup EXIT
# A trapped signal interrupts `wait` (not a foreground command), so CMD runs in the background:
# pass the signal on to it, let it finish, then exit (the EXIT trap stops the servers).
# shellcheck disable=SC2317
on_signal() {   # on_signal SIG STATUS
    say "got SIG$1"
    if [[ -n $cmd_pid ]]; then
        running "$cmd_pid" && { kill -s "$1" "$cmd_pid" 2>/dev/null || true; }
        wait "$cmd_pid" 2>/dev/null || true
    fi
    exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP   # the terminal closed: an untrapped HUP would skip the cleanup
trap : PIPE   # same for `servers.sh CMD | head`; trapped, not ignored, so CMD still gets the default

tmp=$(mktemp -d -t musehub-servers.XXXXXX)
chmod 711 "$tmp"   # the postgres user must be able to reach $tmp/pg

# --- S3: install the pinned packages if needed, then start it; it gets ready while PostgreSQL starts
# shellcheck disable=SC2094  # the lockfile is only read, and locked
(
    # Two runs at once must not both run npm ci into one node_modules: lock the lockfile meanwhile.
    flock 9
    want=$(cat "$servers/package.json" "$servers/package-lock.json" | sha256sum)
    stamp=$servers/node_modules/.musehub-lock-sha256
    if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
        say "npm ci in tests/servers"
        (cd "$servers" && NODE_OPTIONS='' npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 ||
            { cat "$tmp/npm.log" >&2; die "npm ci failed in tests/servers"; }
        echo "$want" >"$stamp"
    fi
) 9<"$servers/package-lock.json"
# Port 0: the kernel picks a free port and the server prints it, so there is no race.
# --openssl-legacy-provider: s3rver's ListObjectsV2 continuation tokens use DES (see s3-server.js).
NODE_OPTIONS=--openssl-legacy-provider \
    node "$servers/s3-server.js" "$tmp/s3" 0 "$bucket" >"$tmp/s3.log" 2>&1 &
s3_pid=$!

# --- PostgreSQL
pg_start=$(now)
install -d -m 700 "${pg_owner[@]}" "$tmp/pg"
pg initdb -D "$tmp/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions ||
    { cat "$tmp/pg-tools.log" >&2; die "initdb failed"; }
# Throwaway data: durability off. TCP on loopback only, no Unix socket (no path-length limit, nothing
# left in /var/run). Appending as root keeps the file's owner.
cat >>"$tmp/pg/postgresql.conf" <<'EOF'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 200
EOF
# A random port below the kernel's ephemeral range (32768+, used by outgoing connections); skip ones
# something answers on, and retry if another process takes the port before postgres binds it.
pg_port=''
for _ in {1..10}; do
    port=$((20000 + RANDOM % 10000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue   # in use
    if pg pg_ctl start -D "$tmp/pg" -l "$tmp/pg/server.log" -w -t 30 -o "-p $port"; then
        pg_port=$port
        break
    fi
    grep -q 'could not bind' "$tmp/pg/server.log" || break   # a real failure, not a port clash
done
[[ -n $pg_port ]] || { tail -n 20 "$tmp/pg/server.log" >&2 || true; die "PostgreSQL did not start"; }
export MUSEHUB_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
version=$("$PGBIN/psql" "$MUSEHUB_PG_URL" -XAtqc 'show server_version') ||
    die "PostgreSQL started but does not answer"
say "postgres ${version%% *} ready at $MUSEHUB_PG_URL ($(since "$pg_start"))"

# --- wait for S3's ready line (it prints the port it got)
ready=''
for _ in $(seq 600); do   # 30 s
    ready=$(grep -m1 '^s3-server: ready ' "$tmp/s3.log" || true)
    [[ -n $ready ]] && break
    running "$s3_pid" || break
    sleep 0.05
done
[[ -n $ready ]] || { cat "$tmp/s3.log" >&2; die "the S3 server did not start"; }
read -r _ _ MUSEHUB_S3_ENDPOINT _ s3_took <<<"$ready"   # s3_took: node's own start-up time
export MUSEHUB_S3_ENDPOINT MUSEHUB_S3_BUCKET=$bucket MUSEHUB_S3_REGION=us-east-1
say "s3 ready at $MUSEHUB_S3_ENDPOINT, bucket $bucket ($s3_took s after node started)"

# --- CMD (stdin passed on explicitly: a background command would get /dev/null, and SIGINT/SIGQUIT
# would stay ignored in it, so restore their default)
say "running: $*"
( trap - INT QUIT; exec "$@" ) <&0 &
cmd_pid=$!
status=0
wait "$cmd_pid" || status=$?
cmd_pid=''
say "command exited with status $status"
exit "$status"
