#!/usr/bin/env bash
# The release build to deploy and to measure: profile-guided (PGO). `cargo build --release` lays the
# program out from static guesses; a login runs through a wide stretch of it (the shell, the composed
# server, the core's rules, the store), and under callgrind's cache simulation it missed the 32 KiB
# instruction cache 381-465 times (the do-nothing relay: none). Every line the server's code evicts, the
# kernel's code reloads in the system calls that follow, so the misses cost twice. With the branch
# counts of a real run, LLVM keeps the hot paths together and moves the cold ones (errors, the first
# sight of a user, logging's slow paths) out of line: half the misses and 17% fewer instructions a
# login (docs/PERFORMANCE.md, "Logins, fourteenth round").
#
#   scripts/build-pgo.sh [OUT]        (default target/pgo/bin; about 25 minutes on 2 cores from cold,
#                                      most of it the two builds, each with fat LTO)
#
# 1. builds natter-server and natter-bench instrumented (`-Cprofile-generate`), in target/pgo/gen;
# 2. trains them on what a server does, so that no part of it is laid out as if it never ran (code
#    the training never reaches is optimised for size, as cold):
#    - `scripts/bench-peers.sh --quick` with natter and the do-nothing relay, plain and over TLS (every
#      workload, a few seconds each), the instrumented natter-bench as the generator and as the relay
#      (so the limit natter is measured against is built the same way);
#    - the IRC listener (`--irc-port`, guests): direct messages, a channel, login churn;
#    - cluster mode: `scripts/bench-cluster.sh` once, small (a one-node and a two-node cluster on a
#      Redis of its own: needs redis-server, installed with apt-get as CI does when missing);
#    about 3 minutes in all;
# 3. merges the counts with the toolchain's own llvm-profdata (rustup's `llvm-tools`, installed here if
#    missing: a profile must be read by the LLVM that rustc is built on, not the system's);
# 4. builds both again with `-Cprofile-use`, in target/pgo/use, and copies them to OUT.
#
# Only the server and the bench are trained; the client (`natter`) is the usual release build.
# Correctness does not depend on the profile: it only moves code and weighs inlining. A profile that no
# longer matches a function (the code changed since) leaves that function as the plain build has it, so
# the profile is made again from the code being built, never kept in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-target/pgo/bin}
PGO=$ROOT/target/pgo
HOST=$(rustc -vV | sed -n 's/^host: //p')
PROFDATA=$(rustc --print sysroot)/lib/rustlib/$HOST/bin/llvm-profdata

say() { printf '[build-pgo %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ ! -x "$PROFDATA" ]; then
    say "installing rustup's llvm-tools (llvm-profdata for rustc's own LLVM)"
    rustup component add llvm-tools
fi

# --target: RUSTFLAGS then reach only the target's code, not build scripts and proc macros, whose
# counts would be written during the build and mixed into the profile.
build() {
    local dir=$1 flags=$2
    RUSTFLAGS="$flags" CARGO_TARGET_DIR="$PGO/$dir" \
        cargo build --release --locked --quiet --target "$HOST" --bin natter-server --bin natter-bench
}

# The IRC listener under load: a server with bench-peers' flags (bench-lib's load_args), an IRC port
# that admits guests (the bench's nicks u0... are no account's here), natter-bench speaking IRC to it.
train_irc() {
    source scripts/bench-lib.sh
    bench_work pgo-irc
    local port irc
    port=$(free_port)
    irc=$(free_port)
    printf 'pgo-owner pgo-owner-password\n' >"$WORK/credentials.txt"
    load_args "$port"
    "$TRAIN/natter-server" "${LOAD_ARGS[@]}" --plaintext --irc-port "$irc" --irc-guests &
    SERVER_PID=$!
    wait_listening "$irc"
    local run=("$TRAIN/natter-bench" run --proto irc --addr "127.0.0.1:$irc")
    "${run[@]}" direct --users 200 --messages 200 --window 32 || return 1
    "${run[@]}" fanout --users 200 --senders 10 --messages 50 --window 32 || return 1
    "${run[@]}" login --users 200 --concurrency 10 --duration 2 || return 1
    stop_server "$port"
}

say "1/4: instrumented build (target/pgo/gen)"
rm -rf "$PGO/raw"
mkdir -p "$PGO/raw"
build gen "-Cprofile-generate=$PGO/raw"

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing redis-server (Debian) for the cluster's training"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null
        # The package may start a system service; the training starts a Redis of its own.
        if [ -x /etc/init.d/redis-server ]; then /etc/init.d/redis-server stop >/dev/null || true; fi
    else
        say "cluster mode's training needs redis-server: apt-get install redis-server"
        exit 1
    fi
fi

say "2/4: training (log: target/pgo/train.log)"
TRAIN=$PGO/train-bin
mkdir -p "$TRAIN"
cp "$PGO/gen/$HOST/release/natter-server" "$PGO/gen/$HOST/release/natter-bench" "$TRAIN/"
train() {
    say "  $1"
    shift
    "$@" >>"$PGO/train.log" 2>&1 || {
        say "this part of the training failed; its log: $PGO/train.log"
        exit 1
    }
}
: >"$PGO/train.log"
train "natter and the relay, plain and TLS: every workload (bench-peers --quick)" \
    env BENCH_BIN="$TRAIN" BENCH_SERVERS="natter natter-tls relay relay-tls" BENCH_OUT="$PGO/train" \
    bash scripts/bench-peers.sh --quick
train "the IRC listener" train_irc
train "cluster mode (bench-cluster, small)" \
    env BENCH_BIN="$TRAIN" BEFORE=none ROUNDS=1 MESSAGES=50 bash scripts/bench-cluster.sh
if ! ls "$PGO"/raw/*.profraw >/dev/null 2>&1; then
    say "the training run wrote no profile into $PGO/raw (did the servers exit cleanly?)"
    exit 1
fi

say "3/4: merging the counts"
"$PROFDATA" merge -o "$PGO/natter.profdata" "$PGO"/raw/*.profraw

say "4/4: optimised build with the profile (target/pgo/use)"
build use "-Cprofile-use=$PGO/natter.profdata"

mkdir -p "$OUT"
cp "$PGO/use/$HOST/release/natter-server" "$PGO/use/$HOST/release/natter-bench" "$OUT/"
say "done: $OUT/natter-server and $OUT/natter-bench"
