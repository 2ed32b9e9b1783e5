# natter's developer recipes. `just` itself: `cargo install just --locked`.
# CI does not need just: it runs `bash .ci/run`.

# List the recipes.
default:
    @just --list

# Run the server with the shipped credentials (port 4000, lockout 60 s, idle timeout 600 s).
run *ARGS:
    cargo run --release --bin natter-server -- {{ARGS}}

# The test suite (the README's test command).
test:
    cargo test

# Everything CI runs.
ci:
    bash .ci/run

# Format, lint, test.
check:
    cargo fmt
    cargo clippy --all-targets -- -D warnings
    cargo test
