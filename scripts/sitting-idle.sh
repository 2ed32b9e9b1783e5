#!/usr/bin/env bash
# Idle memory per connection, interleaved in one sitting: natter-server builds (a before and an
# after) and the do-nothing relay, each started fresh per run with bench-peers' flags, ROUNDS rounds,
# the order reversed every other round, at each size (default 10,000 and 19,000 connections; the
# generator is its own process, so each side stays under the 20,000 open files a process may have
# here). Prints one line per run (RSS growth per logged-in connection, the load average) and the
# medians per server and size; the JSON reports stay in OUT.
#
#   scripts/sitting-idle.sh [--rounds N] [--port PORT] [--sizes "10000 19000"] [--hold SECS]
#                           [--smaps] NAME=PATH [NAME=PATH...]
#
# NAME=PATH is a natter-server build to run under NAME (e.g. before=/tmp/natter-server-main
# after=target/release/natter-server); the relay (target/release/natter-bench relay) runs too.
# 22,000 accounts. --hold: how long the connections stay idle before the server's memory is read
# (natter-bench's default is half a second: the tidy-up after the presence flood may not be over).
# --smaps: also the steady state, from /proc/PID/smaps_rollup's anonymous memory (which leaves out the
# binary's code pages), read once a second while the connections are held and taken three readings
# before the end (give --hold 8 or more), against its reading before the first connection.
# SITTING_OUT=DIR (default target/sitting-idle).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=2
PORT=48141
SIZES="10000 19000"
HOLD=0
SMAPS=0
SERVERS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds)
            ROUNDS=$2
            shift
            ;;
        --port)
            PORT=$2
            shift
            ;;
        --sizes)
            SIZES=$2
            shift
            ;;
        --hold)
            HOLD=$2
            shift
            ;;
        --smaps) SMAPS=1 ;;
        -h | --help)
            sed -n '2,20p' "$0"
            exit 0
            ;;
        *=*) SERVERS+=("$1") ;;
        *)
            echo "sitting-idle: what is $1?" >&2
            exit 2
            ;;
    esac
    shift
done
SERVERS+=(relay=relay)
OUT=${SITTING_OUT:-target/sitting-idle}
BENCH=${BENCH:-target/release/natter-bench}
ACCOUNTS=22000
source scripts/bench-lib.sh
mkdir -p "$OUT"
bench_work sitting
load_args "$PORT"
"$BENCH" gen-credentials "$ACCOUNTS" "$WORK/credentials.txt"
RESULTS=$OUT/results.txt
: >"$RESULTS"

one() {
    local round=$1 name=$2 path=$3 size=$4 proto=natter tag
    [ "$path" = relay ] && proto=relay
    tag=$name-$size-r$round
    start_sitting "$path" "$PORT" "$OUT"
    local anon0 samples=() steady=""
    anon0=$(anon_kib "$SERVER_PID")
    "$BENCH" run idle --proto "$proto" --users "$size" --hold "$HOLD" \
        --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --label "$name" --json >"$OUT/report-$tag.json" &
    local bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        [ "$SMAPS" = 1 ] && samples+=("$(anon_kib "$SERVER_PID")")
        sleep 1
    done
    wait "$bench"
    if [ "$SMAPS" = 1 ] && [ ${#samples[@]} -ge 4 ]; then
        steady=$(((samples[${#samples[@]} - 3] - anon0) * 1024 / size))
    fi
    stop_server "$PORT"
    python3 - "$OUT/report-$tag.json" "$round" "$name" "$size" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$steady" <<'EOF' | tee -a "$RESULTS"
import json, sys
r = json.load(open(sys.argv[1]))
steady = f", steady {sys.argv[6]} B/conn anon" if sys.argv[6] else ""
print(f"round {sys.argv[2]} {sys.argv[3]} {sys.argv[4]}: {r['idle_kib_per_conn']:.3f} KiB/conn, "
      f"RSS {r['server_rss_kib']} KiB, setup {r['setup_s']:.1f} s{steady}, load {sys.argv[5]}")
EOF
}

# anon_kib PID: the process's anonymous memory (heap, mmaps of its own), in KiB.
anon_kib() {
    awk '/^Anonymous:/ { print $2 }' "/proc/$1/smaps_rollup"
}

for round in $(seq "$ROUNDS"); do
    round_order "$round" "${SERVERS[@]}"
    for size in $SIZES; do
        for s in "${ORDER[@]}"; do
            one "$round" "${s%%=*}" "${s#*=}" "$size"
        done
    done
done

echo "medians over $ROUNDS rounds (server RSS growth per logged-in connection):"
python3 - "$RESULTS" <<'EOF'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"round \d+ (\S+) (\d+): ([0-9.]+) KiB/conn", line)
    if m:
        runs.setdefault((m[1], int(m[2])), []).append(float(m[3]))
relay = {k[1]: statistics.median(v) for k, v in runs.items() if k[0] == "relay"}
steady = {}
for line in open(sys.argv[1]):
    m = re.match(r"round \d+ (\S+) (\d+): .* steady (-?\d+) B/conn", line)
    if m:
        steady.setdefault((m[1], int(m[2])), []).append(int(m[3]))
relay_steady = {k[1]: statistics.median(v) for k, v in steady.items() if k[0] == "relay"}
for (name, size), vs in sorted(runs.items()):
    kib = statistics.median(vs)
    frac = f", {kib / relay[size]:.2f}x the relay" if size in relay else ""
    anon = ""
    if (name, size) in steady:
        b = statistics.median(steady[(name, size)])
        anon = f"; steady {b:.0f} B anonymous"
        if relay_steady.get(size):
            anon += f", {b / relay_steady[size]:.2f}x the relay's"
    print(f"{name} {size}: {kib:.3f} KiB per connection{frac}{anon}")
EOF
