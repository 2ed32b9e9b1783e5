#!/usr/bin/env bash
# natter against ngircd, InspIRCd and a do-nothing relay on this machine: every workload, in one run,
# one table with ratios. docs/PERFORMANCE.md ("Against ngircd and InspIRCd", "Against a do-nothing
# relay") explains the figures and the servers' settings.
#
#   scripts/bench-peers.sh            the full run (50-60 minutes on 2 cores, and the build)
#   scripts/bench-peers.sh --quick    small sizes, about 5 minutes: checks the harness, not the servers
#                                     (on the plain release build, quicker to make)
#
# Environment: BENCH_SERVERS="natter natter-tls relay relay-tls ngircd ngircd-tls inspircd inspircd-tls"
# picks the servers (the -tls ones: every workload over TLS, each on an ECDSA P-256 certificate;
# natter-tls is natter's secure default with the certificate it makes itself; relay is
# `natter-bench relay`, natter's lines with no accounts, storage, rules or limits: the limit natter's
# figures are reported against, as fractions; at the open-loop rates natter and the relay also run
# with Nagle's algorithm on, as natter-nagle and relay-nagle); BENCH_OUT=DIR keeps the reports
# (results.jsonl, table.md) and the servers' logs there (default target/bench-peers). To measure a change
# against the build before it in the same run, add `natter-base` to BENCH_SERVERS and point NATTER_BASE
# at that build's natter-server binary (e.g. one built from `git worktree add ../base HEAD~1`).
# BENCH_ONLY=REGEX runs only the workloads whose command line (e.g. "login --users 1000 --concurrency
# 10 --duration 5") matches the extended regular expression: a subset when the full run would not fit.
# BENCH_BIN=DIR takes natter-server and natter-bench from DIR and builds nothing (binaries set aside,
# so that the tree can be rebuilt while the run goes on; BENCH_BIN=target/release measures the plain
# `cargo build --release`). BENCH_ROUNDS=N (default 3; 1 with --quick)
# runs every workload N times against natter, natter-tls, natter-base and the relays, interleaved
# (round 1 of every server, then round 2, ...), and BENCH_PEER_ROUNDS=N (default 1) the same for the
# peers; the table shows each server's median. One run of a workload on this machine moves by up to
# half its figure with whatever else the kernel does, so the fractions of the relay near a target are
# only read from medians of runs taken side by side. The short rows whose target sits within that
# spread (48-byte direct messages and the two login churns) get BENCH_CLOSE_ROUNDS=N (default 5; 1
# with --quick) rounds instead, for a steadier median (about 140 s more on 2 cores).
#
# It installs ngircd and inspircd from Debian if they are missing (apt-get, needs root), builds natter
# as it is deployed (scripts/build-pgo.sh: the release build, profile-guided, about 25 minutes from
# cold; natter-bench, and with it the relay, is built the same way), writes every config into a
# temporary directory (nothing under /etc is read or changed), starts each server on 127.0.0.1 for each
# workload and stops it afterwards: a fresh process per run, so each run's CPU and memory figures are
# its own. Nothing is left running, even on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help)
            sed -n '2,36p' "$0"
            exit 0
            ;;
        *)
            echo "bench-peers: unknown argument '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

SERVERS=${BENCH_SERVERS:-natter natter-tls relay relay-tls ngircd ngircd-tls inspircd inspircd-tls}
OUT=${BENCH_OUT:-target/bench-peers}
# The build as deployed (profile-guided); --quick checks the harness and takes the plain release build.
if [ "$QUICK" = 1 ]; then
    BIN=${BENCH_BIN:-target/release}
else
    BIN=${BENCH_BIN:-target/pgo/bin}
fi
BENCH=$BIN/natter-bench
NATTER=$BIN/natter-server
ONLY=${BENCH_ONLY:-}
# Ports nothing else here uses; each server gets its own. Below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default): a login churn opens thousands of client
# connections, and one whose local port is a server's port, left in TIME_WAIT, kept InspIRCd (which
# binds without SO_REUSEADDR) from listening there in the next run.
PORT_natter=31100
PORT_ngircd=31101
PORT_inspircd=31102
PORT_natter_base=31103
PORT_natter_tls=31104
PORT_ngircd_tls=31105
PORT_inspircd_tls=31106
PORT_relay=31107
PORT_relay_tls=31108
PORT_relay_nagle=31109
PORT_natter_nagle=31110
# Connections logging in at once during setup, per generator thread. ngircd's listen backlog is fixed at
# 10, so more than that overflows its accept queue and stalls in SYN retries; InspIRCd completes a
# registration only once a second by design, so it needs many at once to log 1,000 users in quickly.
DIAL_natter=64
DIAL_natter_base=64
DIAL_natter_tls=64
DIAL_relay=64
DIAL_relay_tls=64
DIAL_relay_nagle=64
DIAL_natter_nagle=64
DIAL_ngircd=4
DIAL_inspircd=512
DIAL_ngircd_tls=4
DIAL_inspircd_tls=512

say() { printf '\n=== %s (%s, load %s)\n' "$*" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1 /proc/loadavg)"; }

# --- the peers ----------------------------------------------------------------------------------------
need_peers=0
for s in $SERVERS; do
    case "$s" in
        natter | natter-tls | natter-nagle | relay | relay-tls | relay-nagle) ;;
        natter-base)
            if [ ! -x "${NATTER_BASE:-}" ]; then
                echo "bench-peers: natter-base needs NATTER_BASE=PATH of an earlier natter-server build" >&2
                exit 2
            fi
            ;;
        ngircd | ngircd-tls) command -v ngircd >/dev/null || need_peers=1 ;;
        inspircd | inspircd-tls) command -v inspircd >/dev/null || need_peers=1 ;;
        *)
            echo "bench-peers: unknown server '$s' in BENCH_SERVERS (natter, natter-tls, natter-base, relay, relay-tls, ngircd, ngircd-tls, inspircd, inspircd-tls)" >&2
            exit 2
            ;;
    esac
done
if [ "$need_peers" = 1 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bench-peers: ngircd and inspircd are missing; run as root, or: apt-get install ngircd inspircd" >&2
        exit 2
    fi
    say "installing ngircd and inspircd (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ngircd inspircd >/dev/null
fi

if [ -z "${BENCH_BIN:-}" ]; then
    if [ "$QUICK" = 1 ]; then
        say "building natter (release)"
        cargo build --release --locked --bins --quiet
    else
        say "building natter (the release build, profile-guided: scripts/build-pgo.sh)"
        bash scripts/build-pgo.sh "$BIN"
    fi
fi

# The open-file limit is per process: raise the soft limit to the hard one for every server started here.
ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
# InspIRCd 3 (Debian) may crash while shutting down after a run; no core file may land in the checkout.
ulimit -c 0

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/natter-bench-peers.XXXXXX")
SERVER_PID=""

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "bench-peers: server $SERVER_PID ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- configs (into $WORK, never /etc) -------------------------------------------------------------------
# Accounts for the largest run (u0..uN, password pw-<i>).
ACCOUNTS=22000
"$BENCH" gen-credentials "$ACCOUNTS" "$WORK/credentials.txt"
# The peers' TLS certificate: ECDSA P-256, self-signed, like the one natter makes for itself.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=bench" \
    -keyout "$WORK/tls-key.pem" -out "$WORK/tls-cert.pem" 2>/dev/null

# ngircd: every limit its config has, off. What stays (compiled in, docs/PERFORMANCE.md): 3 commands
# per client per main-loop pass, a 32 KiB write buffer per client (overflow disconnects), a listen
# backlog of 10, and logging every connection to stderr.
cat >"$WORK/ngircd.conf" <<EOF
[Global]
	Name = bench.ngircd.local
	Info = natter-bench peer
	AdminInfo1 = natter-bench
	AdminInfo2 = loopback
	AdminEMail = bench@localhost
	Listen = 127.0.0.1
	Ports = $PORT_ngircd
	MotdPhrase = "natter-bench"
	PidFile = $WORK/ngircd.pid
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxPenaltyTime = 0
	PingTimeout = 3600
	PongTimeout = 3600
[SSL]
	CertFile = $WORK/tls-cert.pem
	KeyFile = $WORK/tls-key.pem
	Ports = $PORT_ngircd_tls
[Options]
	DNS = no
	Ident = no
	PAM = no
	ConnectIPv6 = no
	RequireAuthPing = no
EOF

# InspIRCd: the connect class with flood control out of reach (1e9 commands/s, a penalty threshold of
# 1e9 commands), 64 MiB queues, no per-IP or class limits, no DNS or ident lookups. What stays: a user
# is registered only by the once-a-second background pass.
echo "natter-bench" >"$WORK/motd.txt"
cat >"$WORK/inspircd.conf" <<EOF
<server name="bench.inspircd.local" description="natter-bench peer" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$PORT_inspircd" type="clients">
<module name="ssl_gnutls">
<sslprofile name="bench" provider="gnutls" certfile="$WORK/tls-cert.pem" keyfile="$WORK/tls-key.pem"
            dhfile="" hash="sha256" priority="NORMAL">
<bind address="127.0.0.1" port="$PORT_inspircd_tls" type="clients" sslprofile="bench">
<connect name="bench" allow="*" timeout="3600" pingfreq="3600"
         hardsendq="67108864" softsendq="67108864" recvq="67108864"
         threshold="1000000000" commandrate="1000000000" fakelag="yes"
         localmax="1000000" globalmax="1000000" maxconnwarn="no" limit="1000000"
         maxchans="20" resolvehostnames="no" useident="no">
<files motd="$WORK/motd.txt">
<dns server="127.0.0.1" timeout="1">
<pid file="$WORK/inspircd.pid">
<channels users="20" opers="60">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" pingwarning="15"
         splitwhois="no" exemptchanops="">
<security hideserver="" userstats="Pu" customversion="" flatlinks="no" hidesplits="no" hideulines="no"
          hidebans="no" maxtargets="20">
<performance quietbursts="yes" softlimit="$FD_LIMIT" somaxconn="4096" netbuffersize="65536">
<whowas groupsize="10" maxgroups="100000" maxkeep="3d">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$OUT/inspircd.log">
EOF

# --- one server at a time -------------------------------------------------------------------------------
start_server() {
    local name=$1 port bin
    port=$(eval echo "\$PORT_${name//-/_}")
    if ss -Hltn "sport = :$port" | grep -q .; then
        echo "bench-peers: port $port is already in use; is an earlier run still going?" >&2
        exit 1
    fi
    case "$name" in
        natter | natter-base | natter-tls | natter-nagle)
            # A fresh data directory per run, like a fresh process: otherwise messages stored by the
            # offline run and not yet acknowledged when it stopped would reach the next run's users.
            bin=$NATTER
            # One host drives every user as fast as it can: a load test, not an attack, so no flood
            # control or limits per address (flags the earlier build does not have, nor need).
            # Presence rationing (--presence-interval) stays at its default, as natter ships: it is
            # what a login loop's presence costs everybody else, not a limit on the load.
            load_flags=(--plaintext --flood-rate 0 --max-logins-per-address 0
                --new-connections-per-address 0 --logins-per-address 0 --logins-per-account 0 --failed-logins-per-address 0 --mailbox-share 100)
            if [ "$name" = natter-base ]; then
                # The earlier build gets the flags it has (a flag it lacks is a limit it lacks too).
                bin=$NATTER_BASE
                local known=() help
                help=$("$bin" --help)
                set -- "${load_flags[@]}"
                while [ $# -gt 0 ]; do
                    local flag=$1 value=()
                    shift
                    if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
                        value=("$1")
                        shift
                    fi
                    if grep -qE -- "(^|[ ,])$flag( |$|,)" <<<"$help"; then
                        known+=("$flag" "${value[@]}")
                    fi
                done
                load_flags=("${known[@]}")
            fi
            # The secure default: TLS with the certificate it makes for itself in the data directory.
            if [ "$name" = natter-tls ]; then
                load_flags=("${load_flags[@]:1}")
            fi
            # Nagle's algorithm left on, as the IRC peers leave it (natter's default sets TCP_NODELAY).
            if [ "$name" = natter-nagle ]; then
                load_flags+=(--nagle)
            fi
            rm -rf "$WORK/natter-data"
            "$bin" "$port" 60 36000 --bind 127.0.0.1 --credentials "$WORK/credentials.txt" \
                --data-dir "$WORK/natter-data" "${load_flags[@]}" \
                --max-outbound 67108864 --mailbox-limit 1000000 2>>"$OUT/$name.log" &
            ;;
        relay | relay-tls | relay-nagle)
            # The do-nothing relay; over TLS with natter's TLS settings and a self-signed certificate
            # made as natter-tls makes its own; with Nagle's algorithm left on, as the peers leave it.
            local relay_opts=()
            [ "$name" = relay-tls ] && relay_opts=(--tls --data-dir "$WORK/relay-data")
            [ "$name" = relay-nagle ] && relay_opts=(--nagle)
            "$BENCH" relay "$port" --bind 127.0.0.1 "${relay_opts[@]}" 2>>"$OUT/$name.log" &
            ;;
        ngircd | ngircd-tls) ngircd -n -f "$WORK/ngircd.conf" >>"$OUT/ngircd.log" 2>&1 & ;;
        inspircd | inspircd-tls)
            inspircd --config="$WORK/inspircd.conf" --nofork --runasroot >>"$OUT/inspircd.out" 2>&1 &
            ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 200); do
        if ss -Hltn "sport = :$port" | grep -q .; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "bench-peers: $name exited at start (see $OUT); this run of it is skipped" >&2
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            return 1
        fi
        sleep 0.05
    done
    echo "bench-peers: $name did not listen on port $port within 10 s (see $OUT); this run of it is skipped" >&2
    stop_server
    return 1
}

# bench [--natter-only | --natter-lines | --with-nagle] WORKLOAD ARGS...: the workload against every
# server (IRC ones get --proto irc, the relay --proto relay); --natter-only: natter alone (natter,
# natter-tls, natter-base); --natter-lines: natter and the relay (what IRC cannot do, but the relay
# can); --with-nagle: every server and, when natter and the relay run, each with Nagle's algorithm on
# too (natter-nagle and relay-nagle: what the peers' choice to leave it on does where lines are
# sparse, and natter against the peers with the same socket option; on loopback, read their server
# CPU beside both ends' CPU, since much of what it takes off the server the clients pay);
# --close: CLOSE_ROUNDS rounds of natter and the relay instead of ROUNDS (a row whose target is
# within one run's spread).
bench() {
    local only="" workload s port proto tls servers=$SERVERS natter_rounds=$ROUNDS
    while true; do
        case "$1" in
            --natter-only) only="natter" ;;
            --natter-lines) only="natter relay" ;;
            --with-nagle)
                [[ " $SERVERS " == *" natter "* ]] && servers="$servers natter-nagle"
                [[ " $SERVERS " == *" relay "* ]] && servers="$servers relay-nagle"
                ;;
            --close) natter_rounds=$CLOSE_ROUNDS ;;
            *) break ;;
        esac
        shift
    done
    workload=$1
    shift
    if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<<"$workload $*"; then
        return 0
    fi
    local round rounds=$natter_rounds
    [ "$PEER_ROUNDS" -gt "$rounds" ] && rounds=$PEER_ROUNDS
    for round in $(seq "$rounds"); do
        for s in $servers; do
            if [ -n "$only" ] && ! [[ " $only " == *" ${s%-*} "* ]]; then
                continue
            fi
            case "${s%-*}" in
                natter | relay) [ "$round" -le "$natter_rounds" ] || continue ;;
                *) [ "$round" -le "$PEER_ROUNDS" ] || continue ;;
            esac
            port=$(eval echo "\$PORT_${s//-/_}")
            proto=irc
            [ "${s%-*}" = natter ] && proto=natter
            [ "${s%-*}" = relay ] && proto=relay
            tls=()
            [ "${s%-tls}" != "$s" ] && tls=(--tls)
            # A server that does not start is left out of this round (its column shows the
            # other rounds, or n/a), and the run goes on: a peer crashing must not cost the rest.
            start_server "$s" || continue
            say "$s: $workload $* (round $round of $rounds)"
            if ! "$BENCH" run "$workload" --proto "$proto" --label "$s" --addr "127.0.0.1:$port" \
                --server-pid "$SERVER_PID" --dial-limit "$(eval echo "\$DIAL_${s//-/_}")" "${tls[@]}" "$@" --setup-timeout 240 --json \
                >>"$RESULTS"; then
                echo "bench-peers: $s failed $workload (the table shows it)" >&2
            fi
            tail -n 1 "$RESULTS" | cut -c1-300
            stop_server
        done
    done
}

# The better peer's closed-loop `direct` rate in this run: the open-loop rates are fractions of it.
best_peer_rate() {
    # Empty, not a failure, when no peer ran (BENCH_SERVERS without ngircd and inspircd).
    grep -E '"label":"(ngircd|inspircd)"' "$RESULTS" | grep '"workload":"direct"' | grep '"size":48,' |
        grep '"mode":"closed"' | grep '"ok":true' | sed -n 's/.*"per_sec":\([0-9.e+]*\).*/\1/p' |
        sort -g | tail -n 1 || true
}

# MSGS: direct messages per user, enough for a run of natter or the relay to take about a second
# of server CPU (500 took 0.3-0.5 s, read in 10 ms ticks: a run's figure moved by up to 30%).
# IDLE_MAX: idle connections near the open-file limit (20,000 here; generator and server are separate
# processes, each with its own). WIDE: login cycles in flight at once, the second login case.
if [ "$QUICK" = 1 ]; then
    USERS=200 MSGS=100 FAN_MSGS=50 BIG=1000 BIG_MSGS=20 IDLE=1000 IDLE_MAX=1900 WIDE=100 SECS=2
    OFFLINE_MSGS=20 QUERIES=200 ROUNDS=${BENCH_ROUNDS:-1} CLOSE_ROUNDS=${BENCH_CLOSE_ROUNDS:-1}
else
    USERS=1000 MSGS=2000 FAN_MSGS=300 BIG=10000 BIG_MSGS=50 IDLE=10000 IDLE_MAX=19000 WIDE=1000 SECS=5
    OFFLINE_MSGS=100 QUERIES=5000 ROUNDS=${BENCH_ROUNDS:-3} CLOSE_ROUNDS=${BENCH_CLOSE_ROUNDS:-5}
fi
PEER_ROUNDS=${BENCH_PEER_ROUNDS:-1}
if [ "$IDLE_MAX" -gt $((FD_LIMIT - 100)) ]; then
    IDLE_MAX=$((FD_LIMIT - 100))
fi
START=$(date +%s)
say "natter-bench against: $SERVERS (fd limit $FD_LIMIT; rounds: $ROUNDS for natter and the relay ($CLOSE_ROUNDS on the rows near a target), $PEER_ROUNDS for the peers)"

bench --close direct --users "$USERS" --messages "$MSGS" --window 32
# Longer texts: 400 bytes, the most an IRC line leaves room for (the default is 48).
bench direct --users "$USERS" --messages "$MSGS" --window 32 --size 400
# The acknowledged path, the natter client's way (`acks on`, an `ack` per read); IRC has none.
bench --natter-lines direct --users "$USERS" --messages "$MSGS" --window 32 --acks
bench fanout --users "$USERS" --senders 10 --messages "$FAN_MSGS" --window 32
# A group every user is in (natter `message group`; for the IRC peers the same channel as fanout).
bench group --users "$USERS" --senders 10 --messages "$FAN_MSGS" --window 32
PEAK=$(best_peer_rate)
if [ -z "$PEAK" ]; then
    # No plain-text peer ran: natter's own rate (plain text if it ran, else any label).
    PEAK=$({ grep '"label":"natter"' "$RESULTS" || grep '"workload":"direct"' "$RESULTS"; } |
        grep '"workload":"direct"' | sed -n 's/.*"per_sec":\([0-9.e+]*\).*/\1/p' |
        sort -g | tail -n 1 || true)
fi
for pct in 10 50 90; do
    rate=$(awk -v p="$PEAK" -v f="$pct" 'BEGIN { printf "%d", p * f / 100 }')
    bench --with-nagle direct --users "$USERS" --rate "$rate" --duration "$SECS"
done
bench idle --users "$IDLE"
# What grows per connection shows between two sizes.
bench idle --users "$IDLE_MAX"
bench --close login --users "$USERS" --concurrency 10 --duration "$SECS"
# Many logins at once: each of the WIDE cycles in flight has two accounts of its own.
bench --close login --users $((2 * WIDE)) --concurrency "$WIDE" --duration "$SECS"
bench login --users "$USERS" --concurrency 10 --duration "$SECS" --idle-users "$USERS"
# Connections alone (with natter-tls, a whole TLS handshake each): what security costs per connection.
bench --natter-only login --users "$USERS" --concurrency 10 --duration "$SECS" --handshake-only
# IRC keeps nothing for offline users.
bench --natter-only offline --users "$USERS" --recipients "$USERS" --messages "$OFFLINE_MSGS"
# Cost per message as the user count grows tenfold.
bench direct --users "$BIG" --messages "$BIG_MSGS" --window 32
# natter and the relay only: filling a 10,000-member IRC channel announces every JOIN to every member
# (50 M lines) and took ngircd over 3 minutes for the first 3,500 joins, past this script's time budget.
bench --natter-lines fanout --users "$BIG" --senders 10 --messages "$BIG_MSGS" --window 32
# whoelsesince must not scan all history: the same queries after 1,000 and after 10,000 past sessions.
# natter only: IRC has no such command.
bench --natter-only history --users 10 --history "$USERS" --messages "$QUERIES" --window 4
bench --natter-only history --users 10 --history "$BIG" --messages "$QUERIES" --window 4

say "done in $(($(date +%s) - START)) s; open-loop rates are 10/50/90% of ${PEAK%.*} msgs/s"
"$BENCH" table "$RESULTS" | tee "$OUT/table.md"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), kernel $(uname -r), load now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reports: $RESULTS; table: $OUT/table.md; server logs: $OUT/"
