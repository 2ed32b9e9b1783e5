#!/usr/bin/env bash
# Login churn, interleaved in one sitting: natter-server builds (a before and an after) and the
# do-nothing relay, each started fresh per run with bench-peers' flags, ROUNDS rounds, the order
# reversed every other round, `login` with 10 and with 1,000 cycles in flight. Prints one line per run
# (server CPU per login, logins per server CPU-second, the load average, and the server's CPU per
# login split into user space and the kernel, from /proc: where a gap is) and the medians per server
# and concurrency, with each build's fraction of the relay; the JSON reports stay in OUT.
#
#   scripts/sitting-login.sh [--rounds N] [--port PORT] [--seconds S] [--tls] NAME=PATH...
#
# NAME=PATH is a natter-server build to run under NAME (e.g. before=target/base/natter-server
# after=target/release/natter-server); the relay (target/release/natter-bench relay) runs too.
# Accounts 1,000 at 10 in flight and 2,000 at 1,000, S seconds each (default 5), plain text; --tls:
# every server, the relay too, over TLS. SITTING_OUT=DIR (default target/sitting-login).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
PORT=48141
SECS=5
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
        --seconds)
            SECS=$2
            shift
            ;;
        --tls) TLS=1 ;;
        -h | --help)
            sed -n '2,13p' "$0"
            exit 0
            ;;
        *=*) SERVERS+=("$1") ;;
        *)
            echo "sitting-login: what is $1?" >&2
            exit 2
            ;;
    esac
    shift
done
SERVERS+=(relay=relay)
OUT=${SITTING_OUT:-target/sitting-login}
BENCH=${BENCH:-target/release/natter-bench}
TLS_ARGS=()
[ "$TLS" = 1 ] && TLS_ARGS=(--tls)
source scripts/bench-lib.sh
mkdir -p "$OUT"
bench_work sitting-login
load_args "$PORT"
"$BENCH" gen-credentials 2000 "$WORK/credentials.txt"
RESULTS=$OUT/results.txt
: >"$RESULTS"

one() {
    local round=$1 name=$2 path=$3 c=$4 proto=natter users=1000 tag
    [ "$path" = relay ] && proto=relay
    [ "$c" -ge 1000 ] && users=2000
    tag=$name-c$c-r$round
    start_sitting "$path" "$PORT" "$OUT"
    local before after
    before=$(cpu_split "$SERVER_PID")
    "$BENCH" run login --proto "$proto" "${TLS_ARGS[@]}" --users "$users" --concurrency "$c" --duration "$SECS" \
        --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --label "$name" \
        --json >"$OUT/report-$tag.json" || [ $? = 1 ] # 1: a run not verified (said per line)
    after=$(cpu_split "$SERVER_PID")
    stop_server "$PORT"
    python3 - "$OUT/report-$tag.json" "$round" "$name" "c$c" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$before" "$after" "$(getconf CLK_TCK)" <<'PY' | tee -a "$RESULTS"
import json, sys
r = json.load(open(sys.argv[1]))
ops = r["per_sec"] * r["elapsed_s"]
cpu = r["server_cpu_s"] or 0
ok = "" if r.get("ok", True) else " (not verified)"
# (The split spans the generator's whole run, its few milliseconds of setup included.)
(u0, s0), (u1, s1) = (map(int, sys.argv[i].split()) for i in (6, 7))
tick = 1e6 / int(sys.argv[8])
print(f"round {sys.argv[2]} {sys.argv[3]} {sys.argv[4]}: {ops:.0f} logins, {cpu:.2f} CPU-s, "
      f"{cpu / ops * 1e6:.1f} us/login, {ops / cpu / 1e3:.1f} k/CPU-s, "
      f"{r['per_sec'] / 1e3:.1f} k/s, load {sys.argv[5]}, "
      f"user {(u1 - u0) * tick / ops:.1f} + system {(s1 - s0) * tick / ops:.1f} us/login{ok}")
PY
}

for round in $(seq "$ROUNDS"); do
    round_order "$round" "${SERVERS[@]}"
    for c in 10 1000; do
        for s in "${ORDER[@]}"; do
            one "$round" "${s%%=*}" "${s#*=}" "$c"
        done
    done
done

echo "medians over $ROUNDS rounds (us of server CPU per login, and its user and kernel parts; per server CPU-second):"
sitting_medians "$RESULTS" login 1 1
