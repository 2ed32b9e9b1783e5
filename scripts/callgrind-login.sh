#!/usr/bin/env bash
# What a login costs natter-server in instructions: the server run under valgrind's callgrind, the
# `login` workload against it, instructions (user space, all threads) counted only while the workload
# runs, divided by the logins made. Unlike CPU time, an instruction count does not move when other
# processes load the machine, so two builds can be compared from runs minutes apart. (System calls are
# counted by their user-space side only: what the kernel spends in them is not in the figure; see
# `strace -c -f` for how many there are.)
#
#   scripts/callgrind-login.sh [--server PATH | --relay] [--cache] [CONCURRENCY [SECONDS]]
#                                                           (default 10 in flight, 10 s)
#
# --relay counts natter-bench's do-nothing relay instead (the limit to compare with). --cache adds
# valgrind's cache simulation (with the host's cache sizes: 32 KiB L1 caches here): the L1
# instruction and data misses a login too, what a login's code and data take from the caches the
# kernel's code then shares (a login whose code overflows the instruction cache makes the system
# calls after it slower).
#
# Needs valgrind. Uses target/release/natter-bench and (unless --server) target/release/natter-server,
# built beforehand. CALLGRIND_OUT=DIR keeps the profile and the annotated functions there (default
# target/callgrind-login); CALLGRIND_PORT=PORT another port than 47121 (two sittings at once).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER=target/release/natter-server
RELAY=0
CACHE=()
POSITIONAL=()
while [ $# -gt 0 ]; do
    case "$1" in
        --server)
            SERVER=$2
            shift
            ;;
        --relay) RELAY=1 ;;
        --cache) CACHE=(--cache-sim=yes) ;;
        -h | --help)
            sed -n '2,19p' "$0"
            exit 0
            ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
C=${POSITIONAL[0]:-10}
SECS=${POSITIONAL[1]:-10}
OUT=${CALLGRIND_OUT:-target/callgrind-login}
BENCH=target/release/natter-bench
PORT=${CALLGRIND_PORT:-47121}
source scripts/bench-lib.sh
needs valgrind valgrind
mkdir -p "$OUT"
bench_work callgrind
load_args "$PORT"

USERS=$((2 * C > 1000 ? 2 * C : 1000))
tag=$(basename "$SERVER")-c$C
[ "$RELAY" = 1 ] && tag=relay-c$C
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt"
# bench-peers' flags (see profile-login.sh); instructions are counted only while the workload runs.
VALGRIND=(valgrind --tool=callgrind --instr-atstart=no "${CACHE[@]}"
    --callgrind-out-file="$OUT/callgrind-$tag.out")
if [ "$RELAY" = 1 ]; then
    PROTO=relay
    "${VALGRIND[@]}" "$BENCH" relay "$PORT" --bind 127.0.0.1 2>"$OUT/server-$tag.log" &
else
    PROTO=natter
    "${VALGRIND[@]}" "$SERVER" "${LOAD_ARGS[@]}" --plaintext 2>"$OUT/server-$tag.log" &
fi
# (valgrind's own summary goes to the same log.)
SERVER_PID=$!
wait_listening "$PORT" 600
callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
"$BENCH" run login --proto "$PROTO" --users "$USERS" --concurrency "$C" --duration "$SECS" \
    --addr "127.0.0.1:$PORT" --setup-timeout 240 --json >"$OUT/report-$tag.json" ||
    [ $? = 1 ] # 1: cycles stuck for over 3 s (often, under valgrind at 1,000 in flight): still counted
callgrind_control -i off "$SERVER_PID" >/dev/null 2>&1
# (SIGTERM: the relay under valgrind does not stop on SIGINT; natter-server stops cleanly on either.)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
OPS=$(report_ops "$OUT/report-$tag.json")
annotate "$OUT" "$tag"
IR=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$OUT/callgrind-$tag.out")
WHO=$SERVER
[ "$RELAY" = 1 ] && WHO="the relay"
echo "$WHO, $C in flight: $OPS logins, $IR instructions, $((IR / OPS)) per login"
if [ ${#CACHE[@]} -gt 0 ]; then
    # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    python3 -c 'import sys
ops = int(sys.argv[1])
events = dict(zip(sys.argv[2].split(), map(int, sys.argv[3].split())))
print("per login: %.1f L1 instruction misses, %.1f + %.1f L1 data misses (read + write)"
      % tuple(events[k] / ops for k in ("I1mr", "D1mr", "D1mw")))' "$OPS" \
        "$(sed -n 's/^events: //p' "$OUT/callgrind-$tag.out")" \
        "$(sed -n 's/^totals: //p' "$OUT/callgrind-$tag.out")"
fi
