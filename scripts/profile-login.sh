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

RELAY=0
TLS=0
SERVER=""
POSITIONAL=()
while [ $# -gt 0 ]; do
    case "$1" in
        --relay) RELAY=1 ;;
        --tls) TLS=1 ;;
        --server)
            SERVER=$2
            shift
            ;;
        -h | --help)
            sed -n '2,17p' "$0"
            exit 0
            ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
C=${POSITIONAL[0]:-10}
SECS=${POSITIONAL[1]:-5}
OUT=${PROFILE_OUT:-target/profile-login}
BENCH=target/release/natter-bench
PORT=${PROFILE_PORT:-47120}
source scripts/bench-lib.sh
needs perf linux-perf

if [ -z "$SERVER" ]; then
    cargo build --release --locked --bins --quiet
    SERVER=target/release/natter-server
fi
mkdir -p "$OUT"
bench_work profile
load_args "$PORT"

# Each cycle in flight has accounts of its own (at least 1,000 in all, as bench-peers gives 10).
USERS=$((2 * C > 1000 ? 2 * C : 1000))
name=natter
proto=natter
[ "$RELAY" = 1 ] && name=relay && proto=relay
tls_args=()
[ "$TLS" = 1 ] && name=$name-tls && tls_args=(--tls)
"$BENCH" gen-credentials "$USERS" "$WORK/credentials.txt"
if [ "$RELAY" = 1 ]; then
    relay_tls=()
    [ "$TLS" = 1 ] && relay_tls=(--tls --data-dir "$WORK/relay-data")
    "$BENCH" relay "$PORT" "${relay_tls[@]}" 2>"$OUT/$name.log" &
else
    plain=(--plaintext)
    [ "$TLS" = 1 ] && plain=()
    # bench-peers' flags: no flood control or limits per address; presence rationing as shipped.
    "$SERVER" "${LOAD_ARGS[@]}" "${plain[@]}" 2>"$OUT/$name.log" &
fi
SERVER_PID=$!
wait_listening "$PORT"

tag=$name-c$C
[ "$SERVER" != target/release/natter-server ] && [ "$RELAY" = 0 ] && tag=$(basename "$SERVER")-c$C
perf record -q -F 999 --call-graph dwarf,16384 -p "$SERVER_PID" -o "$OUT/perf-$tag.data" \
    -- sleep "$((SECS + 1))" 2>/dev/null &
PERF_PID=$!
sleep 0.3
"$BENCH" run login --proto "$proto" "${tls_args[@]}" --users "$USERS" --concurrency "$C" \
    --duration "$SECS" --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --label "$name" --json \
    >"$OUT/report-$tag.json"
wait "$PERF_PID" || true
read -r OPS CPU < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(round(r["per_sec"] * r["elapsed_s"]), r["server_cpu_s"] or 0)' "$OUT/report-$tag.json")
echo "$name, $C in flight: $OPS logins, $CPU server CPU s, load $(cut -d' ' -f1 /proc/loadavg)"
perf script -i "$OUT/perf-$tag.data" 2>/dev/null |
    scripts/perf-split.py --ops "$OPS" --cpu-s "$CPU" --top 30 | tee "$OUT/split-$tag.md"
