#!/usr/bin/env bash
# What a direct message costs natter-server in instructions: the server run under valgrind's callgrind
# twice, `natter-bench run direct` against it with a short and a long run, and the difference in
# instructions divided by the difference in messages, so the 1,000 logins of the setup (the same in
# both runs) drop out. Like scripts/callgrind-login.sh, the figure does not move when other processes
# load the machine, so two builds can be compared from runs minutes apart; it counts user space only
# (the kernel's side of the reads and writes is not in it).
#
#   scripts/callgrind-direct.sh [--server PATH | --relay] [--acks] [--fanout | --group] [--cache]
#                               [--port PORT] [SHORT LONG]
#
# SHORT and LONG are messages per user (default 20 and 220; 1,000 users, 32 in flight). --acks: the
# users say `acks on` and acknowledge what they read, as the natter client does. --fanout:
# `natter-bench run fanout` instead, 10 of the users broadcasting SHORT and LONG each, and the figure
# is per delivery (one broadcast is 999 deliveries); --group: `natter-bench run group` the same
# way, each of the 10 sending to a group every user is in. --relay: the do-nothing relay (`natter-bench
# relay`, docs/PERFORMANCE.md) in the server's place, the limit natter's figure is read against.
# --cache adds valgrind's cache simulation (the host's cache sizes), and the L1 instruction and data
# misses per message, by the same difference: what the path's code and data take from the caches.
# Needs valgrind; uses target/release/natter-bench and (unless --server) target/release/natter-server,
# built beforehand.
# CALLGRIND_OUT=DIR keeps the profiles and the annotated functions there (default
# target/callgrind-direct). SERVER_ARGS="..." adds flags to the server's (a cluster node:
# SERVER_ARGS="--cluster redis://127.0.0.1:PORT"), and BEFORE_RUN="command" runs before each of the
# two runs (for a node: BEFORE_RUN="redis-cli -p PORT flushall", so the second run does not replay
# the first one's log).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER=target/release/natter-server
ACKS=""
CACHE=()
WORKLOAD=direct
SUFFIX=""
PORT=48121
POSITIONAL=()
while [ $# -gt 0 ]; do
    case "$1" in
        --server)
            SERVER=$2
            shift
            ;;
        --relay) SERVER=relay ;;
        --acks) ACKS=--acks ;;
        --cache) CACHE=(--cache-sim=yes) ;;
        --fanout) WORKLOAD=fanout SUFFIX=-fanout ;;
        --group) WORKLOAD=group SUFFIX=-group ;;
        --port)
            PORT=$2
            shift
            ;;
        -h | --help)
            awk 'NR > 1 && !/^#/ { exit } NR > 1 { print }' "$0"
            exit 0
            ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
SHORT=${POSITIONAL[0]:-20}
LONG=${POSITIONAL[1]:-220}
OUT=${CALLGRIND_OUT:-target/callgrind-direct}
BENCH=${BENCH:-target/release/natter-bench}
USERS=1000
source scripts/bench-lib.sh
needs valgrind valgrind
mkdir -p "$OUT"
bench_work callgrind
load_args "$PORT"
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt"

# One run of MSGS messages per user: prints "<messages> <instructions>".
one_run() {
    local msgs=$1 tag
    tag=$(basename "$SERVER")${ACKS:+-acks}$SUFFIX-m$msgs
    local run=("$SERVER" "${LOAD_ARGS[@]}" --plaintext --presence-interval 0) proto=natter stop=INT
    if [ "$SERVER" = relay ]; then
        run=("$BENCH" relay "$PORT" --bind 127.0.0.1)
        proto=relay stop=TERM
    fi
    rm -rf "$WORK/data"
    if ss -Hltn "sport = :$PORT" | grep -q .; then
        echo "callgrind-direct: port $PORT is in use; pick another with --port" >&2
        exit 1
    fi
    # bench-peers' flags (see profile-login.sh), but every presence change told at once: rationed,
    # the notices of the setup's logins are told on a timer, as many times as the run lasts, which
    # would not drop out of the difference.
    [ -n "${BEFORE_RUN:-}" ] && bash -c "$BEFORE_RUN" >/dev/null
    # shellcheck disable=SC2086 # SERVER_ARGS: several flags, split on purpose
    valgrind --tool=callgrind "${CACHE[@]}" --callgrind-out-file="$OUT/callgrind-$tag.out" \
        "${run[@]}" ${SERVER_ARGS:-} 2>"$OUT/server-$tag.log" &
    SERVER_PID=$!
    wait_listening "$PORT" 600
    "$BENCH" run "$WORKLOAD" --proto "$proto" --users "$USERS" --messages "$msgs" --window 32 \
        $ACKS --addr "127.0.0.1:$PORT" --setup-timeout 600 --stall 120 --json \
        >"$OUT/report-$tag.json"
    # (The relay has no handler of its own, and a background job ignores SIGINT: SIGTERM for it.)
    kill "-$stop" "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    wait_free "$PORT"
    annotate "$OUT" "$tag"
    local ops ir
    ops=$(report_ops "$OUT/report-$tag.json")
    ir=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$OUT/callgrind-$tag.out")
    echo "$ops $ir" >"$WORK/figures"
    sed -n 's/^events: //p' "$OUT/callgrind-$tag.out" >"$WORK/events"
    sed -n 's/^totals: //p' "$OUT/callgrind-$tag.out" >>"$WORK/events"
}

one_run "$SHORT"
read -r OPS1 IR1 <"$WORK/figures"
cp "$WORK/events" "$WORK/events-short"
one_run "$LONG"
read -r OPS2 IR2 <"$WORK/figures"
label=$SERVER
[ -n "$ACKS" ] && label="$SERVER (acks on)"
unit=message units=messages
[ "$WORKLOAD" != direct ] && label="$label ($WORKLOAD)" && unit=delivery units=deliveries
echo "$label: $OPS1 $units $IR1 instructions; $OPS2 $units $IR2 instructions;" \
    "$(((IR2 - IR1) / (OPS2 - OPS1))) per $unit"
if [ ${#CACHE[@]} -gt 0 ]; then
    # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw, the short run's totals then the long run's
    python3 -c 'import sys
n = int(sys.argv[1])
names = sys.argv[2].split()
short = dict(zip(names, map(int, sys.argv[3].split())))
long = dict(zip(names, map(int, sys.argv[4].split())))
print("per %s: %.1f L1 instruction misses, %.1f + %.1f L1 data misses (read + write)"
      % ((sys.argv[5],) + tuple((long[k] - short[k]) / n for k in ("I1mr", "D1mr", "D1mw"))))' \
        "$((OPS2 - OPS1))" "$(sed -n 1p "$WORK/events")" "$(sed -n 2p "$WORK/events-short")" \
        "$(sed -n 2p "$WORK/events")" "$unit"
fi
