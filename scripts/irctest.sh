#!/usr/bin/env bash
# Runs irctest (progval/irctest, the suite IRC servers measure themselves with) against natter's IRC
# listener, through the controller in tests/irctest/natter.py, with a debug build of natter-server.
#
#   scripts/irctest.sh all [WORKERS]  irctest's upstream selection; prints the passed/failed/skipped
#                                     counts (`just irctest`); failures are the counts, not an error
#   scripts/irctest.sh ci             the tests natter passes (tests/irctest/ci_tests.txt): any
#                                     failure fails (`.ci/run`)
#
# irctest is used where it is, never copied here: $IRCTEST_DIR, else ../shared/irctest beside the
# repository. Without it, `ci` skips with a note and `all` stops saying where to get it. It needs a
# recent pytest (Debian bookworm's 7.2 is too old for irctest's conftest), pytest-xdist, filelock, and
# websockets (for its IRC-over-WebSocket tests): when python3 lacks them, they are installed into a
# virtual environment under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
mode="${1:-all}"
workers="${2:-2}"
dir="${IRCTEST_DIR:-$root/../shared/irctest}"

if [ ! -d "$dir/irctest/server_tests" ]; then
    msg="irctest is not at $dir: git clone https://github.com/progval/irctest there (commit b00c039), or set IRCTEST_DIR"
    if [ "$mode" = ci ]; then
        echo "WARNING: skipping irctest: $msg"
        exit 0
    fi
    echo "$msg" >&2
    exit 1
fi

python=python3
if ! "$python" -c 'import pytest, xdist, filelock, websockets' 2>/dev/null; then
    venv="$root/target/irctest-venv"
    if [ ! -x "$venv/bin/python" ]; then
        if ! python3 -m venv "$venv" 2>/dev/null; then
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
                apt-get update -q
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
                rm -rf "$venv"
                python3 -m venv "$venv"
            else
                echo "python3 lacks pytest, pytest-xdist, filelock and websockets, and cannot make a virtual environment: apt-get install python3-venv (or pip install pytest pytest-xdist filelock websockets)" >&2
                exit 1
            fi
        fi
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'pytest>=7.4,!=9.0.0' pytest-xdist filelock 'websockets>=13'
    python="$venv/bin/python"
fi

cargo build --locked --bin natter-server
export NATTER_SERVER="$root/target/debug/natter-server"
export PYTHONPATH="$root/tests/irctest"
selection='not services and not implementation-specific and not deprecated and not strict'
cd "$dir"
case "$mode" in
    all)
        # irctest has no time limit per test: a test waiting for a reply natter never sends would
        # wait for ever, so the whole run is bounded.
        timeout 900 "$python" -m pytest -p no:cacheprovider -n "$workers" --controller natter \
            -m "$selection" -q -rN irctest/server_tests/ 2>&1 | tail -n 1 || true
        ;;
    ci)
        mapfile -t tests < <(grep -v '^\s*\(#\|$\)' "$root/tests/irctest/ci_tests.txt")
        timeout 300 "$python" -m pytest -p no:cacheprovider -n 2 --controller natter \
            -q -rfE "${tests[@]}"
        ;;
    *)
        echo "usage: scripts/irctest.sh all [WORKERS] | ci" >&2
        exit 2
        ;;
esac
