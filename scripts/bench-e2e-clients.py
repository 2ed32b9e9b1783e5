#!/usr/bin/env python3
"""Direct messages per second between two real natter clients, end to end, with and without end-to-end
encryption in one run, and the disk syncs each message costs.

    scripts/bench-e2e-clients.py PLAIN_CLIENT E2E_CLIENT SERVER [MESSAGES] [ROUNDS]

PLAIN_CLIENT is natter built without end-to-end encryption (`--no-default-features`), E2E_CLIENT the
product; the same server serves both. alice's client reads MESSAGES `message bob ...` lines from its
stdin as fast as it can and bob's prints them; the time runs from the first line written to alice to
the last one bob shows. The two builds alternate for ROUNDS rounds (a shared machine's load moves
between rounds; each round compares the two under the same load). Each client's CPU time (user and
system, all its threads, from /proc) over the same span is printed per message too: on a shared
machine it moves far less than the rates do (its resolution is the kernel's clock tick, 10 ms on
most systems: 1 us a message over 10,000 messages, a third of that over 30,000). Then one more encrypted run under
`strace -f -e trace=fsync,fdatasync` counts the syncs of both clients (strace only stops the clients
at those calls, so they keep their pace).

Plain text between client and server (TLS costs both builds the same), flood control and
per-address limits off; everything on 127.0.0.1 in a temporary directory (the state directories on
the same disk), stopped at the end. One warm-up message first, so the two clients have a session
(and keys) before timing. The server's CPU time per message is printed too: once the clients cost
less than it, the plain rate is the server's.

With BENCH_E2E_CALLGRIND=DIR set, each build runs once instead, both its clients under
`valgrind --tool=callgrind`, and the instructions each client executed are printed (run it with two
message counts and take the difference: instructions per message, repeatable on a loaded machine).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

plain_bin, e2e_bin, server_bin = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
strace = shutil.which("strace")


def cpu_seconds(pid):
    """The CPU time (user and system, every thread) process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(client_bin, trace_to=None, callgrind=None):
    """One run: (messages shown, seconds, syncs counted or None, CPU seconds of alice's and bob's
    clients during the timed part). `callgrind`: a directory; each client runs under
    `valgrind --tool=callgrind` and writes its counts there (`alice.out`, `bob.out`)."""
    work = tempfile.mkdtemp(prefix="natter-e2e-bench.")
    procs = []
    try:
        with open(os.path.join(work, "cred.txt"), "w") as f:
            f.write("alice wonderland\nbob builder\n")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        flags = ["--plaintext", "--flood-rate", "0", "--max-logins-per-address", "0",
                 "--new-connections-per-address", "0", "--logins-per-address", "0",
                 "--logins-per-account", "0", "--presence-interval", "0",
                 "--failed-logins-per-address", "0", "--mailbox-share", "100",
                 "--max-outbound", "67108864", "--mailbox-limit", "1000000"]
        procs.append(subprocess.Popen(
            [server_bin, str(port), "60", "3600", "--bind", "127.0.0.1", "--credentials",
             os.path.join(work, "cred.txt"), "--data-dir", os.path.join(work, "data")] + flags,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # Until the server listens (on a loaded machine it can take longer than a moment).
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

        def client(user, password):
            cmd = [client_bin, "--plaintext", "--state-dir", os.path.join(work, user), "127.0.0.1",
                   str(port)]
            if callgrind:
                cmd = ["valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={os.path.join(callgrind, user)}.out"] + cmd
            elif trace_to:
                cmd = [strace, "-f", "-c", "-e", "trace=fsync,fdatasync",
                       "-o", os.path.join(work, f"strace-{user}")] + cmd
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, bufsize=1)
            procs.append(p)
            p.stdin.write(f"{user}\n{password}\n")
            p.stdin.flush()
            for line in p.stdout:
                if "Welcome" in line:
                    return p
            sys.exit(f"{user}'s client ended before the welcome")

        bob = client("bob", "builder")
        alice = client("alice", "wonderland")
        # alice's client says what became of each message ("- delivered to bob"): read and dropped,
        # so that a full pipe never stops it.
        threading.Thread(target=lambda: [None for _ in alice.stdout], daemon=True).start()
        alice.stdin.write("message bob warmup\n")
        alice.stdin.flush()
        for line in bob.stdout:
            if "warmup" in line:
                break
        payload = "x" * 40
        cpu_before = [cpu_seconds(p.pid) for p in (alice, bob, procs[0])]
        start = time.time()
        alice.stdin.write("".join(f"message bob m{i} {payload}\n" for i in range(n)))
        alice.stdin.flush()
        last, shown = f"m{n - 1} ", 0
        for line in bob.stdout:
            if payload in line:
                shown += 1
                if last in line:
                    break
        took = time.time() - start
        cpu = [cpu_seconds(p.pid) - b for p, b in zip((alice, bob, procs[0]), cpu_before)]
        syncs = None
        if trace_to or callgrind:
            # A clean exit, so that strace (or callgrind) writes its counts.
            for p in (alice, bob):
                p.stdin.write("logout\n")
                p.stdin.flush()
            for p in (alice, bob):
                p.wait(timeout=300 if callgrind else 30)
        if trace_to:
            syncs = 0
            for user in ("alice", "bob"):
                with open(os.path.join(work, f"strace-{user}")) as f:
                    for row in f:
                        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)", row)
                        if m:
                            syncs += int(m.group(1))
        return shown, took, syncs, cpu
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


callgrind_dir = os.environ.get("BENCH_E2E_CALLGRIND")
if callgrind_dir:
    # Instructions instead of time: each client of one run of each build under callgrind (run it
    # with two message counts; the difference over the difference of the counts is per message,
    # without the login's). valgrind hides some CPU features (SHA and AVX2 paths), so crypto counts
    # for more than it costs natively; what the rest costs compares well between builds.
    def total(path):
        with open(path) as f:
            for row in f:
                if row.startswith(("totals:", "summary:")):
                    return int(row.split()[1])
    for label, binary in (("without", plain_bin), ("with", e2e_bin)):
        out = os.path.join(callgrind_dir, f"{label}-{n}")
        os.makedirs(out, exist_ok=True)
        run(binary, callgrind=out)
        counts = {u: total(os.path.join(out, f"{u}.out")) for u in ("alice", "bob")}
        print(f"{n} messages, {label} encryption: instructions, alice's client {counts['alice']:,}, "
              f"bob's {counts['bob']:,} ({out})")
    sys.exit(0)

print(f"{n} messages of 40 bytes from alice's client to bob's, {rounds} rounds; load average "
      f"{os.getloadavg()[0]:.2f}")
ratios, cpu_p, cpu_e = [], [[], [], []], [[], [], []]
for r in range(1, rounds + 1):
    shown_p, took_p, _, c_p = run(plain_bin)
    shown_e, took_e, _, c_e = run(e2e_bin)
    rate_p, rate_e = shown_p / took_p, shown_e / took_e
    ratios.append(rate_e / rate_p)
    for i in (0, 1, 2):
        cpu_p[i].append(c_p[i] / n * 1e6)
        cpu_e[i].append(c_e[i] / n * 1e6)
    print(f"round {r}: without encryption {rate_p:,.0f} msgs/s, with {rate_e:,.0f} msgs/s "
          f"({shown_e} of {n} shown): ratio {rate_e / rate_p:.2f}; CPU per message, alice's "
          f"client {c_p[0] / n * 1e6:.1f} / {c_e[0] / n * 1e6:.1f} us, bob's "
          f"{c_p[1] / n * 1e6:.1f} / {c_e[1] / n * 1e6:.1f} us, the server's "
          f"{c_p[2] / n * 1e6:.1f} / {c_e[2] / n * 1e6:.1f} us (without / with)")
print(f"ratio (encrypted / plain), median of {rounds}: {sorted(ratios)[len(ratios) // 2]:.2f}")
med = lambda xs: sorted(xs)[len(xs) // 2]
print(f"CPU per message (all of each client's threads), median: alice's client {med(cpu_p[0]):.1f} "
      f"us without, {med(cpu_e[0]):.1f} us with; bob's {med(cpu_p[1]):.1f} / {med(cpu_e[1]):.1f} us; "
      f"the server's {med(cpu_p[2]):.1f} / {med(cpu_e[2]):.1f} us")
if strace:
    shown, took, syncs, _ = run(e2e_bin, trace_to=True)
    print(f"syncs (fsync + fdatasync), both clients, whole run of {n} messages and the login: "
          f"{syncs} = {syncs / n:.3f} per message")
else:
    print("strace not found: syncs per message not counted")
print(f"load average after: {os.getloadavg()[0]:.2f}")
