#!/usr/bin/env bash
# A server alone against a one-node cluster with its reading hold off and on (docs/PERFORMANCE.md,
# "Cluster mode": the one-node cluster against a server alone), from one build, interleaved: each
# round a server alone, then the node with NATTER_CLUSTER_HOLD_MS=0 (off) and as built (on), the
# two in alternating order, each fresh (its own Redis, appendfsync always). Around each run
# `perf stat` counts the server's system calls (all threads); one line per run, with its server CPU
# per message and its calls per 1,000 messages, and each run appended to $RESULTS as JSON.
#
#   B=DIR        natter-server and natter-bench from DIR (default target/release)
#   ROUNDS=N     rounds (default 3)
#   MSGS=N       messages per user, 1,000 users (default 100)
#   WORK="..."   another workload for `natter-bench run` (e.g. "login --users 1000 --concurrency 10
#                --duration 4")
#   OFF_ENV / ON_ENV  the environment of the two nodes (default NATTER_CLUSTER_HOLD_MS=0 / none)
#   REDIS_FSYNC=everysec  Redis's appendfsync (default always, as cluster mode needs)
#
# Needs redis-server and perf (with access to the syscall tracepoints: root, or a low
# perf_event_paranoid). The machine is shared: the start and end load averages are printed.
set -uo pipefail
B=$(cd "${B:-target/release}" && pwd)
source "$(dirname "$0")/bench-lib.sh"
RESULTS=$(realpath -m "${RESULTS:-cluster-hold.jsonl}")
ROUNDS=${ROUNDS:-3}
MSGS=${MSGS:-100}
W=$(mktemp -d "${TMPDIR:-/tmp}/natter-cluster-hold.XXXXXX")
trap 'stop_all; rm -rf "$W"' EXIT
cd "$W"
"$B/natter-bench" gen-credentials 2000 cred.txt >/dev/null
FLAGS=(--bind 127.0.0.1 --plaintext --credentials cred.txt --flood-rate 0 --max-logins-per-address 0
    --new-connections-per-address 0 --logins-per-address 0 --logins-per-account 0 --presence-interval 0 --failed-logins-per-address 0 --mailbox-share 100 --max-outbound 67108864 --mailbox-limit 1000000)
PIDS=()
start() { # port env-assignment [flags...]
    local port=$1 envset=$2; shift 2
    env $envset "$B/natter-server" "$port" 60 36000 "${FLAGS[@]}" --data-dir "data-$port" "$@" >"node-$port.log" 2>&1 &
    SPID=$!; PIDS+=($SPID)
    for _ in $(seq 200); do ss -Hltn "sport = :$port" | grep -q . && return; sleep 0.05; done
}
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=(); rm -rf data-* redis; }
run() { # label
    local label=$1
    perf stat -x, -e 'syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,raw_syscalls:sys_enter,context-switches' -p "$SPID" -o perf.txt &
    local perfpid=$!
    sleep 0.2
    "$B/natter-bench" run ${WORK:-direct --users 1000 --messages $MSGS} --addr "127.0.0.1:$PORT" --server-pid "$SPID" --label "$label" --json ${BENCH_EXTRA:-} >run.json 2>bench.err
    kill -INT $perfpid; wait $perfpid 2>/dev/null
    python3 - "$label" "$RESULTS" <<'PY'
import json,sys
r=json.load(open("run.json"))
c={}
for l in open("perf.txt"):
    p=l.strip().split(",")
    if len(p)>3 and p[0].replace('.','').isdigit(): c[p[2]]=float(p[0])
msgs=max(r.get("delivered") or 1,1)

k=1000.0/msgs
print("{:10} {:>10,.0f} msgs/s  {:5.2f} us/msg  per1k: recvfrom {:6.1f} sendto {:6.1f} epoll {:5.2f} pwait {:5.2f} all {:6.1f} cs {:5.2f} ok={}".format(
  sys.argv[1], r["per_sec"], r.get("server_cpu_us_per_op") or 0,
  c.get("syscalls:sys_enter_recvfrom",0)*k, c.get("syscalls:sys_enter_sendto",0)*k,
  c.get("syscalls:sys_enter_epoll_wait",0)*k, c.get("syscalls:sys_enter_epoll_pwait",0)*k,
  c.get("raw_syscalls:sys_enter",0)*k, c.get("context-switches",0)*k, r["ok"]))
open(sys.argv[2],"a").write(json.dumps({"label":sys.argv[1],"per_sec":r["per_sec"],"us":r.get("server_cpu_us_per_op"),"per1k":{a:b*k for a,b in c.items()},"ok":r["ok"]})+"\n")
PY
}
echo "start: $(uptime)"
for round in $(seq "$ROUNDS"); do
    echo "== round $round"
    PORT=$(free_port); start "$PORT" X=1; run standalone; stop_all
    if [ $((round % 2)) = 1 ]; then ORDER="off on"; else ORDER="on off"; fi
    for v in $ORDER; do
        redis_up "$W"; PORT=$(free_port)
        if [ $v = off ]; then e=${OFF_ENV:-NATTER_CLUSTER_HOLD_MS=0}; else e=${ON_ENV:-X=1}; fi
        start "$PORT" "$e" --cluster "redis://127.0.0.1:$REDIS_PORT"
        run "node-$v"; stop_all
    done
done
echo "end: $(uptime)"
