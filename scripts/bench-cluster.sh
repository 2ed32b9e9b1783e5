#!/usr/bin/env bash
# natter in cluster mode against natter alone: direct messages, closed loop and at a steady rate, for a
# standalone server, a cluster of one node, and a cluster of two nodes with every message crossing from
# one node to the other. docs/PERFORMANCE.md ("Cluster mode") explains the figures.
#
# Needs redis-server (Debian: apt-get install redis-server). Everything runs on 127.0.0.1, in a
# temporary directory, and is stopped at the end (or on Ctrl-C). ROUNDS=N repeats the set (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "bench-cluster: needs redis-server (apt-get install redis-server)" >&2; exit 1; }
cargo build --release --locked --bins --quiet
B=$PWD/target/release
ROUNDS=${ROUNDS:-2}
W=$(mktemp -d "${TMPDIR:-/tmp}/natter-bench-cluster.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"
"$B/natter-bench" gen-credentials 2000 cred.txt >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# One host drives every user: flood control and per-address limits off, as in bench-peers.
FLAGS=(--bind 127.0.0.1 --plaintext --credentials cred.txt --flood-rate 0 --max-logins-per-address 0
    --new-connections-per-address 0 --failed-logins-per-address 0 --mailbox-share 100 --max-outbound 67108864 --mailbox-limit 1000000)
REDIS_PORT=""
redis_up() {
    REDIS_PORT=$(free_port)
    rm -rf redis && mkdir redis
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
        --dir "$W/redis" >redis.log 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "bench-cluster: redis-server did not start" >&2; exit 1
}
node() { # port [extra flags...]: starts natter-server, prints its pid
    local port=$1; shift
    "$B/natter-server" "$port" 60 36000 "${FLAGS[@]}" --data-dir "data-$port" "$@" >"node-$port.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && return; sleep 0.05; done
    echo "bench-cluster: natter-server on $port did not start" >&2; exit 1
}
stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
    rm -rf data-* redis
}
bench() { # label, then natter-bench run arguments
    local label=$1; shift
    "$B/natter-bench" run direct --users 1000 --label "$label" "$@" |
        grep -E "deliveries/s|latency|server:|verified" | sed "s|^|[$label] |"
}
for round in $(seq "$ROUNDS"); do
    echo "== round $round"
    p1=$(free_port); node "$p1"; pid=${PIDS[-1]}
    bench standalone --addr "127.0.0.1:$p1" --server-pid "$pid"
    bench "standalone @5000/s" --addr "127.0.0.1:$p1" --rate 5000 --duration 5
    stop_all
    redis_up; p1=$(free_port); node "$p1" --cluster "redis://127.0.0.1:$REDIS_PORT"; pid=${PIDS[-1]}
    bench "cluster, 1 node" --addr "127.0.0.1:$p1" --server-pid "$pid"
    bench "cluster, 1 node @5000/s" --addr "127.0.0.1:$p1" --rate 5000 --duration 5
    stop_all
    redis_up; p1=$(free_port); p2=$(free_port)
    node "$p1" --cluster "redis://127.0.0.1:$REDIS_PORT"; pid=${PIDS[-1]}
    node "$p2" --cluster "redis://127.0.0.1:$REDIS_PORT"
    bench "cluster, 2 nodes, cross-node" --addr "127.0.0.1:$p1" --addr "127.0.0.1:$p2" --server-pid "$pid"
    bench "cluster, 2 nodes, cross-node @5000/s" --addr "127.0.0.1:$p1" --addr "127.0.0.1:$p2" --rate 5000 --duration 5
    stop_all
done
