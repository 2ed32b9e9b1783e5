#!/usr/bin/env bash
# Where a fanout's time goes: natter-server (or the do-nothing relay) sampled by perf while
# `natter-bench run fanout` sends MESSAGES lines from 10 senders to USERS users, and the samples of
# the measured part (after every user is logged in) listed by function, with the hottest
# instructions of the server's own hottest function. docs/PERFORMANCE.md ("Fanout to 10,000: a
# connection's flags and a store in flight") has what it showed.
#
#   scripts/profile-fanout.sh [--relay] [--tls] [--server PATH] [USERS [MESSAGES]]
#                                                   (default 10,000 users, 400 messages)
#
# --server PATH profiles that natter-server build instead of this tree's (nothing is built then).
# Plain text unless --tls. Needs perf (Debian: linux-perf) and python3. PROFILE_OUT=DIR keeps the
# profile, the generator's report and the listing (default target/profile-fanout);
# PROFILE_PORT=PORT another port than 47140.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-lib.sh
profile_args 2,14 "$@"
USERS=${POSITIONAL[0]:-10000}
MESSAGES=${POSITIONAL[1]:-400}
OUT=${PROFILE_OUT:-target/profile-fanout}
BENCH=target/release/natter-bench
PORT=${PROFILE_PORT:-47140}
needs perf linux-perf
mkdir -p "$OUT"
bench_work profile-fanout
load_args "$PORT"
"$BENCH" gen-credentials "$((USERS + 10))" "$WORK/credentials.txt"

start_profiled "$PORT" "$OUT"

tag=$NAME-$USERS
[ "$SERVER" != target/release/natter-server ] && [ "$RELAY" = 0 ] && tag=$(basename "$SERVER")-$USERS
# The whole run is sampled (the generator says nothing until it ends); the logins are cut off below.
perf record -q -F 2999 -p "$SERVER_PID" -o "$OUT/perf-$tag.data" 2>/dev/null &
PERF_PID=$!
"$BENCH" run fanout --proto "$PROTO" "${TLS_ARGS[@]}" --users "$USERS" --senders 10 \
    --messages "$MESSAGES" --window 32 --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" \
    --label "$NAME" --setup-timeout 240 --json >"$OUT/report-$tag.json"
kill -INT "$PERF_PID"
wait "$PERF_PID" || true
read -r SETUP DELIVERED CPU < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(r["setup_s"], r["delivered"], r["server_cpu_s"] or 0)' "$OUT/report-$tag.json")
# The measured part: from half a second after the logins (perf began with the generator).
# (`|| true` after a pipeline cut short by `head`: the writer before it ends on SIGPIPE.)
first=$(perf script -i "$OUT/perf-$tag.data" -F time 2>/dev/null | head -1 | tr -d ' :' || true)
from=$(python3 -c "print(f'{$first + $SETUP + 0.5:.6f}')")
{
    echo "$NAME, $USERS users: $DELIVERED deliveries, $CPU server CPU s," \
        "$(python3 -c "print(f'{$DELIVERED / max($CPU, 0.01) / 1e6:.2f}')") M per server CPU-s," \
        "load $(cut -d' ' -f1 /proc/loadavg)"
    echo
    perf report -i "$OUT/perf-$tag.data" --no-children --sort sym --time "$from," 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -20 || true
    hot=$(perf report -i "$OUT/perf-$tag.data" --no-children --sort sym --time "$from," \
        2>/dev/null | grep -E '^ +[0-9.]+% +\[\.\] (natter|<natter)' | head -1 |
        sed -E 's/^ +[0-9.]+% +\[\.\] //' || true)
    if [ -n "$hot" ]; then
        echo
        echo "the hottest instructions of $hot"
        echo "(share of its samples over the whole run, logins included):"
        perf annotate -i "$OUT/perf-$tag.data" --stdio "$hot" 2>/dev/null |
            grep -E '^ +[0-9]+\.[0-9]+ +:' | sort -rn | head -5 || true
    fi
} | tee "$OUT/hot-$tag.txt"
