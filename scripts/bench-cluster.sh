#!/usr/bin/env bash
# natter in cluster mode against natter alone, the build before a change and the build now, in one
# run: direct messages, closed loop and at a steady 5,000 a second, for a standalone server, a
# cluster of one node, and a cluster of two nodes with every message crossing from one node to the
# other; and Redis operations per message (INFO commandstats). docs/PERFORMANCE.md ("Cluster mode")
# explains the figures.
#
#   BEFORE=REV   the build to compare with (default: the commit before Redis was driven from the
#                node's own thread); BEFORE=none measures only the build now
#   ROUNDS=N     repeats of the whole set, before and after alternating (default 2)
#   BENCH_BIN=DIR  the build now from DIR (natter-server and natter-bench set aside), nothing built
#   TWO_NODES=0  only the standalone server and the one-node cluster (no two-node cases)
#   MESSAGES=N   messages per user in each closed-loop run (default 500: a run long enough that the
#                server's CPU, counted in 10 ms ticks, is read to about 1%)
#   REDIS_FSYNC=everysec  Redis's appendfsync (default always, as cluster mode needs): everysec shows
#                what the nodes and their I/O cost without the disk's sync in every round trip
#
# Needs redis-server (Debian: apt-get install redis-server). Everything runs on 127.0.0.1, in a
# temporary directory, and is stopped at the end (or on Ctrl-C). The machine is shared: look at
# `uptime` first, and repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "bench-cluster: needs redis-server (apt-get install redis-server)" >&2; exit 1; }
ROOT=$PWD
source scripts/bench-lib.sh
ROUNDS=${ROUNDS:-2}
MESSAGES=${MESSAGES:-500}
BEFORE=${BEFORE:-1963cde}

# The build before, once per revision: its source from git, built beside ours (same target
# directory, so the dependencies are built once), its binaries kept apart.
BUILDS=(after)
declare -A BIN
if [ "$BEFORE" != none ]; then
    rev=$(git rev-parse --short "$BEFORE")
    keep="$ROOT/target/bench-cluster/$rev"
    if [ ! -x "$keep/natter-server" ]; then
        echo "bench-cluster: building $rev (the build before) ..." >&2
        src="$ROOT/target/bench-cluster/src-$rev"
        rm -rf "$src" && mkdir -p "$src"
        git archive "$rev" | tar -x -C "$src"
        (cd "$src" && cargo build --release --locked --bins --quiet --target-dir "$ROOT/target")
        mkdir -p "$keep"
        cp "$ROOT/target/release/natter-server" "$ROOT/target/release/natter-bench" "$keep/"
    fi
    BIN[before]=$keep
    BUILDS=(before after)
fi
if [ -n "${BENCH_BIN:-}" ]; then
    BIN[after]=$(cd "$BENCH_BIN" && pwd)
else
    cargo build --release --locked --bins --quiet
    BIN[after]=$ROOT/target/release
fi
B=${BIN[after]}

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
# One host drives every user: flood control and per-address limits off, as in bench-peers.
FLAGS=(--bind 127.0.0.1 --plaintext --credentials cred.txt --flood-rate 0 --max-logins-per-address 0
    --new-connections-per-address 0 --logins-per-address 0 --logins-per-account 0 --presence-interval 0 --failed-logins-per-address 0 --mailbox-share 100 --max-outbound 67108864 --mailbox-limit 1000000)
REDIS_PORT=""
# FLAGS as `build` takes them: a limit an earlier build does not have is left out (it had no such
# limit to turn off), with its value.
declare -A TAKES
flags_for() { # build: prints the flags, one a line
    local build=$1 i=0 flag
    [ -n "${TAKES[$build]:-}" ] || TAKES[$build]=$("${BIN[$build]}/natter-server" --help)
    while [ $i -lt ${#FLAGS[@]} ]; do
        flag=${FLAGS[$i]}; i=$((i + 1))
        local value=()
        if [ $i -lt ${#FLAGS[@]} ] && [[ ${FLAGS[$i]} != --* ]]; then value=("${FLAGS[$i]}"); i=$((i + 1)); fi
        if grep -qE -- "(^|[ ,])$flag( |$|,|=)" <<<"${TAKES[$build]}"; then printf '%s\n' "$flag" "${value[@]}"; fi
    done
}
node() { # build, port [extra flags...]: starts natter-server
    local build=$1 port=$2; shift 2
    local flags
    mapfile -t flags < <(flags_for "$build")
    "${BIN[$build]}/natter-server" "$port" 60 36000 "${flags[@]}" --data-dir "data-$port" "$@" >"node-$port.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 200); do ss -Hltn "sport = :$port" | grep -q . && return; sleep 0.05; done
    echo "bench-cluster: natter-server on $port did not start:" >&2; tail -5 "node-$port.log" >&2; exit 1
}
stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
    rm -rf data-* redis
}
# What the runs report: one line per run, the summary at the end (python3, in the work directory).
cat >figures.py <<'EOF'
import json, sys
from collections import defaultdict

def line(r):
    lat = r.get("latency") or {}
    out = "[{:6}] {:40} {:>10,.0f} msgs/s  p50 {:7.2f} ms  p99 {:7.2f} ms".format(
        r["build"], r["label"], r["per_sec"], lat.get("p50_ms", 0), lat.get("p99_ms", 0))
    if r.get("server_cpu_us_per_op"):
        out += "  {:.3f} us/msg".format(r["server_cpu_us_per_op"])
    if r["ops"]:
        out += "  Redis {:.2f} ops/msg".format(sum(r["ops"].values()) / max(r["delivered"], 1))
    if not r["ok"]:
        out += "  NOT VERIFIED"
    return out

def summary(results):
    runs = defaultdict(list)
    for r in results:
        runs[(r["label"], r["build"])].append(r)
    fig = lambda label, build, f: [f(r) for r in runs.get((label, build), [])]
    show = lambda xs, fmt: " / ".join(fmt.format(x) for x in xs) if xs else "-"
    row = lambda name, label, f, fmt: print("{:46} {:>30} {:>30}".format(
        name, show(fig(label, "before", f), fmt), show(fig(label, "after", f), fmt)))
    rate = lambda r: r["per_sec"]
    ops = lambda r: sum(r["ops"].values()) / max(r["delivered"], 1)
    cmd = lambda c: (lambda r: r["ops"].get(c, 0) / max(r["delivered"], 1))
    alone = fig("standalone", "after", rate)
    print("\nsummary (each round, in order)")
    print("{:46} {:>30} {:>30}".format("", "before", "after"))
    print("{:46} {:>30} {:>30}".format("standalone direct msgs/s", "", show(alone, "{:,.0f}")))
    for label in ["cluster, 1 node", "cluster, 2 nodes, cross-node"]:
        row(label + " msgs/s", label, rate, "{:,.0f}")
        if alone:
            row("  against the best standalone (target 0.5)", label, lambda r: r["per_sec"] / max(alone), "{:.2f}")
            # The same round's standalone run, minutes apart on the same machine: the fairer pair
            # when the machine's speed drifts between rounds.
            print("{:46} {:>30} {:>30}".format("  against that round's standalone", *(
                show([r["per_sec"] / alone[i] for i, r in enumerate(runs.get((label, b), [])) if i < len(alone)], "{:.2f}")
                for b in ("before", "after"))))
            # Per server CPU-second, against the same round's standalone: what the node costs beside
            # a server alone, whatever the generator's share of the machine.
            cpu_alone = fig("standalone", "after", lambda r: r.get("server_cpu_us_per_op") or 0)
            print("{:46} {:>30} {:>30}".format("  per server CPU-second, against that round's", *(
                show([cpu_alone[i] / r["server_cpu_us_per_op"] for i, r in enumerate(runs.get((label, b), []))
                      if i < len(cpu_alone) and r.get("server_cpu_us_per_op")], "{:.2f}")
                for b in ("before", "after"))))
        row("  Redis operations per message", label, ops, "{:.2f}")
        row("    XADD per message", label, cmd("xadd"), "{:.2f}")
        row("    XREAD per message", label, cmd("xread"), "{:.4f}")
    label = "cluster, 2 nodes, cross-node @5000/s"
    lat = lambda k: (lambda r: (r.get("latency") or {}).get(k, float("nan")))
    row("cross-node p50 ms at 5,000/s (target 1)", label, lat("p50_ms"), "{:.2f}")
    row("cross-node p99 ms at 5,000/s (target 3)", label, lat("p99_ms"), "{:.2f}")
    bad = [r for rs in runs.values() for r in rs if not r["ok"]]
    print("\n{} run(s) NOT verified (loss, duplicate or misdelivery)".format(len(bad)) if bad
          else "\nevery run verified (no loss, duplicate or misdelivery)")

if sys.argv[1] == "tag":
    r = json.loads(sys.stdin.read())
    r["build"], r["ops"] = sys.argv[2], json.loads(sys.argv[3])
    print(json.dumps(r))
elif sys.argv[1] == "line":
    print(line(json.loads(sys.stdin.read())))
else:
    summary([json.loads(l) for l in sys.stdin])
EOF
# bench build label [natter-bench run arguments]: one run, its JSON report kept in results.jsonl,
# with Redis's operations per message (its counters reset first) when a Redis is up.
bench() {
    local build=$1 label=$2; shift 2
    [ -n "$REDIS_PORT" ] && redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
    # Each build's own generator: a later one speaks what its server speaks (acknowledgements).
    "${BIN[$build]}/natter-bench" run direct --users 1000 --label "$label" --json "$@" >run.json
    local ops="{}"
    if [ -n "$REDIS_PORT" ]; then
        ops=$(redis-cli -p "$REDIS_PORT" info commandstats | python3 -c '
import json, re, sys
print(json.dumps({m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_([a-z|]+):calls=(\d+)", sys.stdin.read())}))')
    fi
    python3 figures.py tag "$build" "$ops" <run.json | tee -a results.jsonl | python3 figures.py line
}
# The machine is shared: how busy it was, before and after, is part of the figures.
echo "uptime at the start: $(uptime)"
# With appendfsync always, every round trip to the log waits for one synced write of this disk:
# the floor under the cross-node latency.
python3 - "$W" <<'EOF'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
took = []
for _ in range(200):
    t = time.perf_counter()
    os.write(fd, b"x" * 512)
    os.fsync(fd)
    took.append((time.perf_counter() - t) * 1000)
os.close(fd)
os.unlink(path)
took.sort()
print("a synced 512-byte write here takes {:.2f} ms at the median, {:.2f} ms at p99 (Redis: appendfsync {})".format(
    statistics.median(took), took[int(len(took) * 0.99)], os.environ.get("REDIS_FSYNC", "always")))
EOF
for round in $(seq "$ROUNDS"); do
    echo "== round $round"
    REDIS_PORT=""
    p1=$(free_port); node after "$p1"; pid=${PIDS[-1]}
    bench after standalone --messages "$MESSAGES" --addr "127.0.0.1:$p1" --server-pid "$pid"
    stop_all
    for build in "${BUILDS[@]}"; do
        redis_up "$W"; p1=$(free_port); node "$build" "$p1" --cluster "redis://127.0.0.1:$REDIS_PORT"; pid=${PIDS[-1]}
        bench "$build" "cluster, 1 node" --messages "$MESSAGES" --addr "127.0.0.1:$p1" --server-pid "$pid"
        stop_all
        [ "${TWO_NODES:-1}" = 0 ] && continue
        redis_up "$W"; p1=$(free_port); p2=$(free_port)
        node "$build" "$p1" --cluster "redis://127.0.0.1:$REDIS_PORT"; pid=${PIDS[-1]}
        node "$build" "$p2" --cluster "redis://127.0.0.1:$REDIS_PORT"
        bench "$build" "cluster, 2 nodes, cross-node" --messages "$MESSAGES" --addr "127.0.0.1:$p1" --addr "127.0.0.1:$p2" --server-pid "$pid"
        bench "$build" "cluster, 2 nodes, cross-node @5000/s" --addr "127.0.0.1:$p1" --addr "127.0.0.1:$p2" --rate 5000 --duration 5
        stop_all
        REDIS_PORT=""
    done
done
echo "uptime at the end: $(uptime)"
python3 figures.py summary <results.jsonl
