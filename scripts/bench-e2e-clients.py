#!/usr/bin/env python3
"""Direct messages per second between two real natter clients, end to end: alice's client reads
N `message bob ...` lines from its stdin as fast as it can and bob's prints them; the time runs from
the first line written to alice to the last one bob shows. Run it with a client built with end-to-end
encryption and one built before it (same server) to see what encryption costs two people's clients:

    scripts/bench-e2e-clients.py CLIENT_BIN SERVER_BIN [MESSAGES]

Plain text between client and server (TLS costs both builds the same), flood control and per-address
limits off, queues as in bench-peers; everything on 127.0.0.1 in a temporary directory, stopped at
the end. One warm-up message first, so the two clients have a session (and keys) before timing.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

client_bin, server_bin = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
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
    time.sleep(0.5)

    def client(user, password):
        p = subprocess.Popen(
            [client_bin, "--plaintext", "--state-dir", os.path.join(work, user), "127.0.0.1", str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        procs.append(p)
        p.stdin.write(f"{user}\n{password}\n")
        p.stdin.flush()
        for line in p.stdout:
            if "Welcome" in line:
                return p
        sys.exit(f"{user}'s client ended before the welcome")

    bob = client("bob", "builder")
    alice = client("alice", "wonderland")
    alice.stdin.write("message bob warmup\n")
    alice.stdin.flush()
    for line in bob.stdout:
        if "warmup" in line:
            break
    payload = "x" * 40
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
    print(f"{client_bin}: {shown} of {n} shown in {took:.3f} s = {shown / took:,.0f} msgs/s")
finally:
    for p in procs:
        p.kill()
        p.wait()
    shutil.rmtree(work, ignore_errors=True)
