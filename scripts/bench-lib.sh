# Sourced by the bench scripts (sitting-*.sh, callgrind-*.sh, profile-login.sh, bench-cluster.sh,
# bench-cluster-hold.sh): how they start a natter-server (or a cluster's Redis) under load, wait for
# it and stop it, in one place, so every script measures the same server with the same flags and a
# fix to the start reaches all of them.

# needs TOOL PACKAGE: stops the calling script, saying what to install, when TOOL is not installed.
needs() {
    command -v "$1" >/dev/null || {
        echo "$(basename "$0" .sh): $1 is missing (apt-get install $2)" >&2
        exit 2
    }
}

# annotate OUT TAG: callgrind's profile OUT/callgrind-TAG.out written out by function, self and
# inclusive, beside it (OUT/self-TAG.txt, OUT/inclusive-TAG.txt).
annotate() {
    callgrind_annotate --inclusive=no "$1/callgrind-$2.out" >"$1/self-$2.txt" 2>/dev/null || true
    callgrind_annotate --inclusive=yes "$1/callgrind-$2.out" >"$1/inclusive-$2.txt" 2>/dev/null || true
}

# bench_work NAME: a temporary directory WORK for credentials and data, removed on exit with any
# server still running (SERVER_PID). Raises the open-file limit to the hard one for the load.
bench_work() {
    ulimit -n "$(ulimit -Hn)"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/natter-$1.XXXXXX")
    SERVER_PID=""
    trap bench_cleanup EXIT
}

bench_cleanup() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}

# load_args PORT: sets LOAD_ARGS to natter-server's arguments as bench-peers gives them (port,
# timeouts, loopback, WORK's credentials and a data directory, no flood control or limits per address,
# queues big enough for the bench). Plain text is the caller's choice (--plaintext).
load_args() {
    LOAD_ARGS=("$1" 60 36000 --bind 127.0.0.1 --credentials "$WORK/credentials.txt"
        --data-dir "$WORK/data" --flood-rate 0 --max-logins-per-address 0
        --new-connections-per-address 0 --logins-per-address 0 --logins-per-account 0
        --failed-logins-per-address 0 --mailbox-share 100 --max-outbound 67108864
        --mailbox-limit 1000000)
}

# free_port: a port nothing listens on now, on 127.0.0.1 (the kernel's pick).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# redis_up DIR: a Redis of the cluster bench's own on a free loopback port (REDIS_PORT), its
# append-only file in DIR/redis synced as REDIS_FSYNC says (default always: what a cluster
# acknowledges is on disk), its log DIR/redis.log. Its pid joins PIDS, so that the caller stops it
# with its servers; a Redis that does not answer in 5 s stops the calling script.
redis_up() {
    REDIS_PORT=$(free_port)
    rm -rf "$1/redis" && mkdir -m 700 "$1/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes \
        --appendfsync "${REDIS_FSYNC:-always}" --dir "$1/redis" >"$1/redis.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "$(basename "$0" .sh): redis-server did not start (see $1/redis.log)" >&2
    exit 1
}

# wait_listening PORT [TENTHS]: until something listens on PORT (default 10 s; valgrind needs more).
wait_listening() {
    for _ in $(seq "${2:-100}"); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
}

# wait_free PORT: until nothing listens on PORT, so the next server can bind it.
wait_free() {
    for _ in $(seq 100); do
        ss -Hltn "sport = :$1" | grep -q . || return 0
        sleep 0.1
    done
}

# start_sitting PATH PORT OUT: a fresh server for one run of a sitting, with a new data directory:
# the natter-server build at PATH (load_args' flags), or natter-bench's do-nothing relay for
# PATH=relay ($BENCH); in plain text, or over TLS if TLS=1 (the generator then needs --tls). Its log
# is appended to OUT/server.log or OUT/relay.log.
start_sitting() {
    local path=$1 port=$2 out=$3
    rm -rf "$WORK/data"
    local relay_tls=() plain=(--plaintext)
    if [ "${TLS:-0}" = 1 ]; then
        relay_tls=(--bind 127.0.0.1 --tls --data-dir "$WORK/relay-data")
        plain=()
    fi
    if [ "$path" = relay ]; then
        "$BENCH" relay "$port" "${relay_tls[@]}" 2>>"$out/relay.log" &
    else
        "$path" "${LOAD_ARGS[@]}" "${plain[@]}" 2>>"$out/server.log" &
    fi
    SERVER_PID=$!
    wait_listening "$port"
}

# stop_server PORT: natter-server ends on an interrupt (given 10 s); the relay runs until killed.
stop_server() {
    kill -INT "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    wait_free "$1"
}

# cpu_split PID: the process's CPU so far, user space and kernel, in clock ticks ("USER SYSTEM":
# /proc/PID/stat's utime and stime, every thread's).
cpu_split() {
    awk '{print $14, $15}' "/proc/$1/stat"
}

# report_ops REPORT: the operations a natter-bench JSON report counts (rate times time).
report_ops() {
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(round(r["per_sec"] * r["elapsed_s"]))' "$1"
}

# round_order ROUND NAME=PATH...: sets ORDER to the servers in the order of that round, reversed
# every other round, so that neither build always runs first on a machine that warms or loads up.
round_order() {
    local round=$1
    shift
    ORDER=("$@")
    if [ $((round % 2)) = 0 ]; then
        ORDER=()
        for ((i = $#; i >= 1; i--)); do ORDER+=("${!i}"); done
    fi
}

# sitting_medians RESULTS UNIT US_DIGITS PER_DIGITS: the medians of a sitting's runs per server and
# workload, from its log of "round R NAME KIND: ... X us/UNIT, Y k/CPU-s" lines, with each one's
# fraction of the relay's median on the same workload (per server CPU-second).
sitting_medians() {
    python3 - "$@" <<'PY'
import re, statistics, sys
path, unit, us_digits, per_digits = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = {}
split = {}
for line in open(path):
    m = re.match(r"round \d+ (\S+) (\S+): .* ([0-9.]+) us/" + unit + r", ([0-9.]+) k/CPU-s", line)
    if m:
        runs.setdefault((m[1], m[2]), []).append((float(m[3]), float(m[4])))
    # A line may end with its CPU split into user space and the kernel (sitting-login.sh).
    m = re.match(r"round \d+ (\S+) (\S+): .*user ([0-9.]+) \+ system ([0-9.]+) us/", line)
    if m:
        split.setdefault((m[1], m[2]), []).append((float(m[3]), float(m[4])))
relay = {k[1]: statistics.median(v[1] for v in vs) for k, vs in runs.items() if k[0] == "relay"}
for (name, kind), vs in sorted(runs.items()):
    us = statistics.median(v[0] for v in vs)
    per = statistics.median(v[1] for v in vs)
    frac = f", {per / relay[kind]:.2f} of the relay" if kind in relay else ""
    parts = ""
    if (name, kind) in split:
        user = statistics.median(v[0] for v in split[(name, kind)])
        system = statistics.median(v[1] for v in split[(name, kind)])
        parts = f" (user {user:.1f} + system {system:.1f})"
    print(f"{name} {kind}: {us:.{us_digits}f} us/{unit}{parts}, {per:.{per_digits}f} k/CPU-s{frac}")
PY
}

# profile_args HELP_LINES ARGS...: a profiling script's options (profile-login.sh, profile-fanout.sh):
# --relay (RELAY=1), --tls (TLS=1), --server PATH (SERVER; else this tree's natter-server, built
# now), the rest in order in POSITIONAL; -h prints lines HELP_LINES (a sed range) of the script.
profile_args() {
    local help=$1
    shift
    RELAY=0
    TLS=0
    SERVER=""
    POSITIONAL=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --relay) RELAY=1 ;;
            --tls) TLS=1 ;;
            --server)
                SERVER=$2
                shift
                ;;
            -h | --help)
                sed -n "${help}p" "$0"
                exit 0
                ;;
            *) POSITIONAL+=("$1") ;;
        esac
        shift
    done
    if [ -z "$SERVER" ]; then
        cargo build --release --locked --bins --quiet
        SERVER=target/release/natter-server
    fi
}

# start_profiled PORT OUT: the server a profiling script samples, started fresh on 127.0.0.1:PORT
# with bench-peers' flags (load_args: no flood control or limits per address; presence rationing as
# shipped): natter-server at SERVER, or natter-bench's relay (RELAY), in plain text or over TLS (TLS).
# Sets NAME (natter, relay, natter-tls or relay-tls), PROTO and TLS_ARGS for the generator, and
# SERVER_PID; its log is OUT/NAME.log.
start_profiled() {
    local port=$1 out=$2
    NAME=natter
    PROTO=natter
    TLS_ARGS=()
    [ "$RELAY" = 1 ] && NAME=relay && PROTO=relay
    [ "$TLS" = 1 ] && NAME=$NAME-tls && TLS_ARGS=(--tls)
    if [ "$RELAY" = 1 ]; then
        local relay_tls=()
        [ "$TLS" = 1 ] && relay_tls=(--tls --data-dir "$WORK/relay-data")
        "$BENCH" relay "$port" --bind 127.0.0.1 "${relay_tls[@]}" 2>"$out/$NAME.log" &
    else
        local plain=(--plaintext)
        [ "$TLS" = 1 ] && plain=()
        "$SERVER" "${LOAD_ARGS[@]}" "${plain[@]}" 2>"$out/$NAME.log" &
    fi
    SERVER_PID=$!
    wait_listening "$port" 300
}
