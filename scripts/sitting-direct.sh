#!/usr/bin/env bash
# Direct messages, interleaved in one sitting: natter-server builds (a before and an after) and the
# do-nothing relay, each started fresh per run with bench-peers' flags, ROUNDS rounds, the order
# reversed every other round, `direct` bare and with `--acks`. Prints one line per run (server CPU
# per message, messages per server CPU-second, the load average) and the medians per server and
# workload; the JSON reports stay in OUT.
#
#   scripts/sitting-direct.sh [--rounds N] [--port PORT] [--messages M] [--users U] [--fanout]
#                             [--tls] NAME=PATH...
#
# NAME=PATH is a natter-server build to run under NAME (e.g. before=/tmp/natter-server-main
# after=target/release/natter-server); the relay (target/release/natter-bench relay) runs too.
# U users (default 1,000), 32 in flight, M messages each (default 500). --fanout: `natter-bench run
# fanout` instead (10 of the U users broadcast M each, 32 in flight; figures per delivery; no acks,
# since a broadcast is not acknowledged). --tls: every server, the relay too, over TLS.
# SITTING_OUT=DIR (default target/sitting-direct).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
PORT=48131
MSGS=500
WORKLOAD=direct
USERS=1000
TLS=0
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
        --messages)
            MSGS=$2
            shift
            ;;
        --users)
            USERS=$2
            shift
            ;;
        --fanout) WORKLOAD=fanout ;;
        --tls) TLS=1 ;;
        -h | --help)
            sed -n '2,16p' "$0"
            exit 0
            ;;
        *=*) SERVERS+=("$1") ;;
        *)
            echo "sitting-direct: what is $1?" >&2
            exit 2
            ;;
    esac
    shift
done
SERVERS+=(relay=relay)
OUT=${SITTING_OUT:-target/sitting-direct}
BENCH=${BENCH:-target/release/natter-bench}
TLS_ARGS=()
[ "$TLS" = 1 ] && TLS_ARGS=(--tls)
source scripts/bench-lib.sh
mkdir -p "$OUT"
bench_work sitting
load_args "$PORT"
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt"
RESULTS=$OUT/results.txt
: >"$RESULTS"

one() {
    local round=$1 name=$2 path=$3 acks=$4 proto=natter tag
    [ "$path" = relay ] && proto=relay
    tag=$name-${acks:-bare}-r$round
    start_sitting "$path" "$PORT" "$OUT"
    "$BENCH" run "$WORKLOAD" --proto "$proto" "${TLS_ARGS[@]}" --users "$USERS" \
        --messages "$MSGS" --window 32 ${acks:+--acks} --setup-timeout 240 \
        --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --label "$name" --json >"$OUT/report-$tag.json"
    stop_server "$PORT"
    python3 - "$OUT/report-$tag.json" "$round" "$name" "${acks:-bare}" \
        "$(cut -d' ' -f1 /proc/loadavg)" <<'EOF' | tee -a "$RESULTS"
import json, sys
r = json.load(open(sys.argv[1]))
ops = r["per_sec"] * r["elapsed_s"]
cpu = r["server_cpu_s"] or 0
print(f"round {sys.argv[2]} {sys.argv[3]} {sys.argv[4]}: {ops:.0f} msgs, {cpu:.2f} CPU-s, "
      f"{cpu / ops * 1e6:.3f} us/msg, {ops / cpu / 1e3:.0f} k/CPU-s, load {sys.argv[5]}")
EOF
}

for round in $(seq "$ROUNDS"); do
    round_order "$round" "${SERVERS[@]}"
    for s in "${ORDER[@]}"; do
        one "$round" "${s%%=*}" "${s#*=}" ""
        [ "$WORKLOAD" = fanout ] || one "$round" "${s%%=*}" "${s#*=}" acks
    done
done

echo "medians over $ROUNDS rounds (us of server CPU per message; per server CPU-second):"
sitting_medians "$RESULTS" msg 3 0
