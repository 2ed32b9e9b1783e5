#!/usr/bin/env bash
# Three cluster nodes on one Redis hold N idle users together (N/3 each, from three generators, one per
# node: one process could not hold them all under the open-file limit), and the memory of each node is
# read once all are connected. docs/PERFORMANCE.md ("Cluster mode") has the figures for N=51000.
# Usage: N=51000 HOLD=240 bash scripts/bench-cluster-idle.sh   (needs redis-server; minutes for 51000)
# LOGS=DIR keeps the nodes' and generators' logs there.
set -u
cd "$(dirname "$0")/.."
cargo build --release --locked --bins --quiet
N=${N:-3000}; PER=$((N/3)); HOLD=${HOLD:-240}
B=$PWD/target/release
W=$(mktemp -d "${TMPDIR:-/tmp}/natter-bench-cluster-idle.XXXXXX"); cd "$W"
LOGS=${LOGS:-}; [ -n "$LOGS" ] && mkdir -p "$LOGS" && LOGS=$(cd "$LOGS" && pwd)
# Everything here shares one loopback, whose per-CPU queue of packets in flight holds 1,000 by default:
# 51,000 connections' keepalive probes and their answers, sent in the same seconds, overflow it (lost
# probes count as unanswered, and healthy connections are reset), where separate hosts would each have
# their own. Raised for the run when allowed (root), put back after; the packets it dropped are shown.
BACKLOG=/proc/sys/net/core/netdev_max_backlog; OLD_BACKLOG=$(cat $BACKLOG)
[ -w $BACKLOG ] && echo 100000 > $BACKLOG 2>/dev/null
dropped() { local d=0 x; while read -r _ x _; do d=$((d + 16#$x)); done < /proc/net/softnet_stat; echo $d; }
DROPPED0=$(dropped)
trap 'kill ${P[@]:-} ${G[@]:-} 2>/dev/null; redis-cli -p 6397 shutdown nosave >/dev/null 2>&1; [ -w $BACKLOG ] && echo $OLD_BACKLOG > $BACKLOG 2>/dev/null; [ -n "$LOGS" ] && cp "$W"/*.log "$W"/*.out "$LOGS"/; rm -rf "$W"' EXIT
$B/natter-bench gen-credentials $N cred.txt >/dev/null
ulimit -n 20000
FLAGS="--bind 127.0.0.1 --plaintext --credentials cred.txt --flood-rate 0 --max-logins-per-address 0 --new-connections-per-address 0 --logins-per-address 0 --logins-per-account 0 --presence-interval 0 --failed-logins-per-address 0 --mailbox-share 100 --max-outbound 1073741824"
redis-server --port 6397 --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always --dir $W --daemonize yes --logfile $W/redis.log; sleep 0.5
P=()
for i in 1 2 3; do $B/natter-server 497$i 60 36000 $FLAGS --data-dir d$i --cluster redis://127.0.0.1:6397 > n$i.log 2>&1 & P+=($!); done
sleep 1
rss() { awk '/VmRSS/{print $2}' /proc/$1/status; }
fds() { ls /proc/$1/fd | wc -l; }
B0=(); for p in "${P[@]}"; do B0+=($(rss $p)); done
echo "before: ${B0[*]} KiB"
start=$(date +%s)
G=()
for i in 0 1 2; do
  $B/natter-bench run idle --users $PER --first-user $((i*PER)) --addr 127.0.0.1:497$((i+1)) --server-pid ${P[$i]} --hold $HOLD --setup-timeout 3000 --stall 600 > g$i.out 2>&1 & G+=($!)
done
# wait until every node holds its share of the users
while true; do
  F=(); for p in "${P[@]}"; do F+=($(fds $p)); done
  ok=1; for f in "${F[@]}"; do [ "$f" -ge "$PER" ] || ok=0; done
  [ $ok = 1 ] && break
  sleep 2
  [ $(( $(date +%s) - start )) -gt 2000 ] && { echo "gave up waiting: fds ${F[*]}"; break; }
done
echo "all connected after $(( $(date +%s) - start )) s: fds ${F[*]}"
for t in 20 60; do
  sleep $(( t == 20 ? 20 : 40 ))
  A=(); for p in "${P[@]}"; do A+=($(rss $p)); done
  F=(); for p in "${P[@]}"; do F+=($(fds $p)); done
  echo "+${t}s: RSS ${A[*]} KiB; fds ${F[*]}; redis $(redis-cli -p 6397 info memory | grep used_memory_rss_human | tr -d '\r') entries $(redis-cli -p 6397 xlen natter:log)"
done
wait "${G[@]}"
for i in 0 1 2; do grep -E "setup|RSS|per idle|verified|error|fault" g$i.out | sed "s/^/[gen $i] /"; done
grep -h "could not renew" n*.log | head -3
echo "loopback queue: $(cat $BACKLOG) packets; packets it dropped during the run: $(( $(dropped) - DROPPED0 ))"
kill "${P[@]}"; sleep 1; redis-cli -p 6397 shutdown nosave >/dev/null
