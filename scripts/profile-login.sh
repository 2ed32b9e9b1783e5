#!/usr/bin/env bash
# Where each microsecond of a login goes: natter-server (or the do-nothing relay) profiled under the
# login workload, its CPU split into costs (syscalls by kind, TLS, core, rendering, store, allocation,
# presence...) in microseconds per login. docs/PERFORMANCE.md ("Against a do-nothing relay") has the
# figures it gave.
#
#   scripts/profile-login.sh [--relay] [--tls] [--server PATH] [CONCURRENCY [SECONDS]]
#                                                       (default 10 in flight, 5 s)
#
# --server PATH profiles that natter-server build instead of this tree's (an earlier build, to show a
# change's profile before and after in one sitting); nothing is built then.
# Needs perf (Debian: linux-perf) and python3. A fresh server on 127.0.0.1 with natter-bench's load
# flags (as bench-peers starts it), `natter-bench run login` against it while `perf record
# --call-graph dwarf` samples the server, then scripts/perf-split.py. PROFILE_OUT=DIR keeps the
# profile, the generator's report and the split there (default target/profile-login); PROFILE_PORT=PORT
# another port than 47120 (two sittings at once).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-lib.sh
profile_args 2,16 "$@"
C=${POSITIONAL[0]:-10}
SECS=${POSITIONAL[1]:-5}
OUT=${PROFILE_OUT:-target/profile-login}
BENCH=target/release/natter-bench
PORT=${PROFILE_PORT:-47120}
needs perf linux-perf
mkdir -p "$OUT"
bench_work profile
load_args "$PORT"

# Each cycle in flight has accounts of its own (at least 1,000 in all, as bench-peers gives 10).
USERS=$((2 * C > 1000 ? 2 * C : 1000))
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt"
start_profiled "$PORT" "$OUT"

tag=$NAME-c$C
[ "$SERVER" != target/release/natter-server ] && [ "$RELAY" = 0 ] && tag=$(basename "$SERVER")-c$C
perf record -q -F 999 --call-graph dwarf,16384 -p "$SERVER_PID" -o "$OUT/perf-$tag.data" \
    -- sleep "$((SECS + 1))" 2>/dev/null &
PERF_PID=$!
sleep 0.3
"$BENCH" run login --proto "$PROTO" "${TLS_ARGS[@]}" --users "$USERS" --concurrency "$C" \
    --duration "$SECS" --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --label "$NAME" --json \
    >"$OUT/report-$tag.json"
wait "$PERF_PID" || true
read -r OPS CPU < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(round(r["per_sec"] * r["elapsed_s"]), r["server_cpu_s"] or 0)' "$OUT/report-$tag.json")
echo "$NAME, $C in flight: $OPS logins, $CPU server CPU s, load $(cut -d' ' -f1 /proc/loadavg)"
perf script -i "$OUT/perf-$tag.data" 2>/dev/null |
    scripts/perf-split.py --ops "$OPS" --cpu-s "$CPU" --top 30 | tee "$OUT/split-$tag.md"
