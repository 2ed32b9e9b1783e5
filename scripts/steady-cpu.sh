#!/usr/bin/env bash
# A server's CPU a direct message in steady state, split into user and system time, with its page
# faults: each build started fresh, warmed up by one run, then measured over a second run on the
# same server (from /proc/PID/stat around it), so neither the logins nor the first growth of every
# buffer and pool are in the figure. The fresh-server sittings (sitting-direct.sh, bench-cluster.sh)
# count both; this one says what a server that has been busy for a while spends, and whether the
# difference between two builds is in the user's code or the kernel's.
#
#   scripts/steady-cpu.sh [--rounds N] [--messages M] [--cluster] NAME=PATH...
#
# NAME=PATH is a directory holding a natter-server build (e.g. before=target/kept after=target/release).
# 1,000 users, 32 in flight, M messages each in the measured run (default 1,000; the warm-up 200).
# --cluster: each build also as a one-node cluster, on a Redis of its own started here (a temporary
# directory, appendfsync always, as cluster mode needs; Debian: apt-get install redis-server). The
# builds run in turn each round, the order reversed every other round; one line per run (CPU, page
# faults, and the run's rate and latency: a pacing change trades them), then the
# medians. BENCH=PATH is the natter-bench used (default target/release/natter-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
MSGS=1000
CLUSTER=0
BUILDS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds)
            ROUNDS=$2
            shift
            ;;
        --messages)
            MSGS=$2
            shift
            ;;
        --cluster) CLUSTER=1 ;;
        -h | --help)
            sed -n '2,17p' "$0"
            exit 0
            ;;
        *=*) BUILDS+=("$1") ;;
        *)
            echo "steady-cpu: unknown argument $1 (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done
[ ${#BUILDS[@]} -gt 0 ] || {
    echo "steady-cpu: name at least one build, NAME=DIR" >&2
    exit 2
}
BENCH=${BENCH:-target/release/natter-bench}
USERS=1000
source scripts/bench-lib.sh
bench_work steady-cpu
REDIS_PID=""
stop_redis() {
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=""
}
trap 'stop_redis; bench_cleanup' EXIT
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt" >/dev/null
PORT=$(free_port)
load_args "$PORT"
if [ "$CLUSTER" = 1 ]; then
    needs redis-server redis-server
    RPORT=$(free_port)
    mkdir -p "$WORK/redis"
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" --save '' \
        --appendonly yes --appendfsync always >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# run NAME DIR KIND: one fresh server, warmed up, then measured; prints one line and appends it to
# $WORK/runs.
run() {
    local name=$1 dir=$2 kind=$3 extra=()
    rm -rf "$WORK/data"
    if [ "$kind" = node ]; then
        redis-cli -p "$RPORT" flushall >/dev/null
        extra=(--cluster "redis://127.0.0.1:$RPORT")
    fi
    "$dir/natter-server" "${LOAD_ARGS[@]}" --plaintext --presence-interval 0 "${extra[@]}" \
        >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_listening "$PORT"
    "$BENCH" run direct --users "$USERS" --messages 200 --addr "127.0.0.1:$PORT" >/dev/null
    local before after
    before=$(awk '{print $10, $14, $15}' "/proc/$SERVER_PID/stat")
    "$BENCH" run direct --users "$USERS" --messages "$MSGS" --addr "127.0.0.1:$PORT" >"$WORK/run.txt"
    after=$(awk '{print $10, $14, $15}' "/proc/$SERVER_PID/stat")
    grep -q "verified: OK" "$WORK/run.txt" || {
        echo "steady-cpu: $name $kind: the run was not verified:" >&2
        cat "$WORK/run.txt" >&2
        exit 1
    }
    stop_server "$PORT"
    local rate p50 p99
    rate=$(grep -o '^ *[0-9,]* deliveries/s' "$WORK/run.txt" | tr -d ' ,' | cut -d d -f1)
    p50=$(grep -o 'p50 [0-9.]*' "$WORK/run.txt" | cut -d' ' -f2)
    p99=$(grep -o 'p99 [0-9.]*' "$WORK/run.txt" | cut -d' ' -f2)
    python3 - "$name" "$kind" "$((USERS * MSGS))" "$(getconf CLK_TCK)" $before $after "$rate" "$p50" "$p99" <<'PY' | tee -a "$WORK/runs"
import sys
name, kind, msgs, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f0, u0, s0, f1, u1, s1 = map(int, sys.argv[5:11])
rate, p50, p99 = int(sys.argv[11]), float(sys.argv[12]), float(sys.argv[13])
us = lambda ticks: ticks / hz * 1e6 / msgs
print(f"{name} {kind}: user {us(u1 - u0):.3f} system {us(s1 - s0):.3f} total {us(u1 - u0 + s1 - s0):.3f} us/msg, "
      f"{(f1 - f0) * 1e6 / msgs:.0f} page faults per million messages, {rate} msgs/s, p50 {p50:.1f} p99 {p99:.1f} ms")
PY
}

KINDS=(alone)
[ "$CLUSTER" = 1 ] && KINDS+=(node)
for round in $(seq "$ROUNDS"); do
    round_order "$round" "${BUILDS[@]}"
    for build in "${ORDER[@]}"; do
        for kind in "${KINDS[@]}"; do
            run "${build%%=*}" "${build#*=}" "$kind"
        done
    done
done
echo "medians of $ROUNDS rounds:"
python3 - "$WORK/runs" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (\S+): user ([0-9.]+) system ([0-9.]+) total ([0-9.]+) us/msg, (\d+) page"
                 r".*, (\d+) msgs/s, p50 ([0-9.]+) p99 ([0-9.]+) ms", line)
    if m:
        runs.setdefault((m.group(1), m.group(2)), []).append([float(x) for x in m.group(3, 4, 5, 6, 7, 8, 9)])
alone = {}
for (name, kind), rs in runs.items():
    med = [statistics.median(col) for col in zip(*rs)]
    if kind == "alone":
        alone[name] = med[2]
    runs[(name, kind)] = med
for (name, kind), (u, s, t, f, rate, p50, p99) in runs.items():
    ratio = f", alone / node per CPU-second {alone[name] / t:.2f}" if kind == "node" else ""
    print(f"  {name} {kind}: user {u:.3f} system {s:.3f} total {t:.3f} us/msg, {f:.0f} faults per million, "
          f"{rate:,.0f} msgs/s, p50 {p50:.1f} p99 {p99:.1f} ms{ratio}")
PY
