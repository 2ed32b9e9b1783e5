# natter's developer recipes. `just` itself: `cargo install just --locked`.
# CI does not need just: it runs `bash .ci/run`.

# List the recipes.
default:
    @just --list

# Run the server with the shipped credentials (port 4000, lockout 60 s, idle timeout 600 s).
run *ARGS:
    cargo run --release --bin natter-server -- {{ARGS}}

# Run a client against a local server.
client port="4000":
    cargo run --release --bin natter -- {{port}}

# The test suite (the README's test command).
test:
    cargo test

# The release build to deploy (and the one `just bench-peers` measures): profile-guided, trained on
# bench-peers' workloads, natter-server and natter-bench in target/pgo/bin (about 25 minutes from cold).
release:
    bash scripts/build-pgo.sh

# Everything CI runs.
ci:
    bash .ci/run

# Format, lint, test.
check:
    cargo fmt
    cargo clippy --all-targets -- -D warnings
    cargo test

# kill -9 the real server many times under load; NATTER_CRASH_SEED=N replays a run.
crash kills="200":
    NATTER_CRASH_KILLS={{kills}} cargo test --release --test durable crash -- --nocapture

# The documented long run: 1,000 kill -9s under load, with mailboxes growing past what a client may
# have waiting at once (they are written as it reads). Several minutes; run before a release.
crash-long:
    NATTER_CRASH_KILLS=1000 cargo test --release --test durable crash -- --nocapture

# Stored-message throughput: group commit vs one commit per message.
bench-store:
    cargo bench --bench store

# natter against ngircd, InspIRCd and a do-nothing relay (natter's limit): every workload, one table
# with ratios, natter and the relay three times each (five on the rows nearest their targets),
# interleaved, read as medians (installs the peers with apt if missing; 30-50 minutes,
# `just bench-peers --quick` a few).
# See docs/PERFORMANCE.md.
bench-peers *ARGS:
    bash scripts/bench-peers.sh {{ARGS}}

# How many seeds `just sim` runs: `just sim SEEDS=N` (or `just sim N`).
SEEDS := "100"

# Deterministic simulation, hundreds of clients per seed; prints steps/s. SIM_SEED=S replays one seed.
sim *ARGS:
    SIM_SEEDS={{ trim_start_match(if ARGS == "" { SEEDS } else { ARGS }, "SEEDS=") }} cargo test --release --test sim seeds_pass_every_invariant -- --nocapture

# The cluster simulator: nodes on a simulated Redis under faults (`just sim-cluster SEEDS=N`).
# SIM_SEED=S replays one seed; SIM_STRICT=0 counts DELIVERED messages lost with their node instead
# of failing on them.
sim-cluster *ARGS:
    SIM_SEEDS={{ trim_start_match(if ARGS == "" { SEEDS } else { ARGS }, "SEEDS=") }} cargo test --release --test sim_cluster -- --nocapture

# Fuzz one target (needs nightly and cargo-fuzz): just fuzz server_state 600
fuzz target="server_state" secs="60":
    command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
    cd fuzz && cargo +nightly fuzz run -s none {{target}} "$(mktemp -d)" corpus/{{target}} -- -max_total_time={{secs}}

# natter in cluster mode (Redis) against natter alone: direct messages, cross-node, Redis operations per
# message; the build before the change (BEFORE=REV, default the commit before Redis was driven from the
# node's thread; BEFORE=none: skip) and the build now, in one run (ROUNDS=N, default 2). Needs redis-server.
bench-cluster:
    bash scripts/bench-cluster.sh

# Direct messages per second between two real natter clients with end-to-end encryption and without
# (the same client built without it), in one run, and the disk syncs per message (strace). See
# docs/PERFORMANCE.md. `just bench-e2e 5000 5`: messages, rounds.
bench-e2e messages="2000" rounds="3":
    cargo build --release --locked --no-default-features --bin natter
    mkdir -p target/bench-e2e && cp target/release/natter target/bench-e2e/natter-plain
    cargo build --release --locked --bin natter --bin natter-server
    python3 scripts/bench-e2e-clients.py target/bench-e2e/natter-plain target/release/natter target/release/natter-server {{messages}} {{rounds}}

# irctest's upstream selection against natter's IRC listener, and its counts (passed, failed, skipped):
# irctest from ../shared/irctest beside the repository (or IRCTEST_DIR), never copied here; a recent
# pytest, pytest-xdist and filelock, installed into target/irctest-venv when python3 lacks them. The
# controller starts a debug natter-server with --irc-guests. About a minute with 2 workers.
irctest workers="2":
    scripts/irctest.sh all {{workers}}
