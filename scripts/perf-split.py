#!/usr/bin/env python3
"""Splits a server's CPU profile into costs: where each microsecond of an operation goes.

Reads `perf script` output (samples with call chains, from `perf record --call-graph dwarf`) on
standard input and prints a Markdown table: one row per cost, its share of the samples, and, given
the operation count and the server's CPU seconds over the profiled run, microseconds per operation.

    perf script -i perf.data | scripts/perf-split.py --ops 52000 --cpu-s 4.1 [--top 12]

Each sample goes to one cost, decided by its stack: a sample in the kernel goes to the system call it
is under (`write` for sendto/writev to a socket, apart from writes of the log; `read` for recvfrom,
and so on) or to `kernel, other`; a sample in the allocator to `allocation`; otherwise to the first
part of the server, in order of precedence, that has a frame on the stack (TLS, the store, the log,
presence, the protocol's rendering and parsing, the core, the shell, the async runtime). `--top N` also lists the N leaf functions of most samples, for a look
inside a cost. scripts/profile-login.sh runs all of it against a fresh natter-server.
"""

import argparse
import re
import sys
from collections import Counter

# System calls, by the kernel entry point a sample is under.
SYSCALLS = [
    ("__x64_sys_sendto", "syscall: write"),
    ("__x64_sys_write", "syscall: write"),
    ("__x64_sys_writev", "syscall: write"),
    ("__x64_sys_sendmsg", "syscall: write"),
    ("__x64_sys_recvfrom", "syscall: read"),
    ("__x64_sys_read", "syscall: read"),
    ("__x64_sys_readv", "syscall: read"),
    ("__x64_sys_recvmsg", "syscall: read"),
    ("__x64_sys_accept4", "syscall: accept"),
    ("__x64_sys_accept", "syscall: accept"),
    ("__x64_sys_close", "syscall: close"),
    ("__x64_sys_shutdown", "syscall: close"),
    ("__x64_sys_epoll_wait", "syscall: epoll wait"),
    ("__x64_sys_epoll_pwait", "syscall: epoll wait"),
    ("__x64_sys_epoll_ctl", "syscall: epoll ctl"),
    ("__x64_sys_futex", "syscall: futex (threads)"),
    ("__x64_sys_fsync", "syscall: fsync/fdatasync (store)"),
    ("__x64_sys_fdatasync", "syscall: fsync/fdatasync (store)"),
    ("__x64_sys_pwrite64", "syscall: pwrite (store)"),
    ("__x64_sys_pread64", "syscall: pread (store)"),
    ("__x64_sys_setsockopt", "syscall: setsockopt/getsockopt"),
    ("__x64_sys_getsockopt", "syscall: setsockopt/getsockopt"),
    ("__x64_sys_getpeername", "syscall: getpeername/getsockname"),
    ("__x64_sys_getsockname", "syscall: getpeername/getsockname"),
    ("__x64_sys_ioctl", "syscall: ioctl/fcntl"),
    ("__x64_sys_fcntl", "syscall: ioctl/fcntl"),
    ("__x64_sys_timerfd_settime", "syscall: timerfd"),
    ("__x64_sys_madvise", "syscall: madvise/munmap/mmap (allocator)"),
    ("__x64_sys_munmap", "syscall: madvise/munmap/mmap (allocator)"),
    ("__x64_sys_mmap", "syscall: madvise/munmap/mmap (allocator)"),
    ("__x64_sys_brk", "syscall: madvise/munmap/mmap (allocator)"),
]

ALLOC = re.compile(
    r"^(__libc_malloc|malloc|__libc_free|free|cfree|__libc_realloc|realloc|__libc_calloc|calloc|"
    r"_int_malloc|_int_free|_int_realloc|malloc_consolidate|tcache_|__rust_alloc|__rust_dealloc|"
    r"__rust_realloc|alloc::alloc::|__rdl_|malloc_trim|mtrim|__malloc_trim|_int_free_merge_chunk|"
    r"_int_free_create_chunk|unlink_chunk|sysmalloc|systrim|arena_)"
)

# Parts of the server, by the function names in a frame: first match from the leaf up wins.
PARTS = [
    (re.compile(r"rustls|\bring::|ring_core|\bring_|chacha20|poly1305|tls_compact|tls_chacha|"
                r"tls_conn|tls_read|tls_peer|\baes_|x25519|\bp256|ecp_nistz|sha2::|GFp_|"
                r"ChaCha|Poly1305"), "TLS"),
    (re.compile(r"sqlite3|rusqlite|natter::store|natter::shell::committer|natter::shell::persist"),
     "store (SQLite, commits)"),
    (re.compile(r"argon2|natter(_core)?::password|blake2"), "password check"),
    (re.compile(r"natter(_core)?::server::oplog|tracing|natter::shell::server::operator"),
     "logging (tracing, operator log)"),
    (re.compile(r"natter(_core)?::server::(presence|announced)"), "presence"),
    (re.compile(r"natter(_core)?::protocol::(render|reply|wire|lines|columns)|ServerMsg.*(fmt|render)|"
                r"as core::fmt::Display|core::fmt::"), "rendering (protocol lines, fmt)"),
    (re.compile(r"natter(_core)?::protocol::(parse|command|line|name|decode)|nom::"),
     "parsing (command lines)"),
    (re.compile(r"natter(_core)?::server::(history|logged|record)"),
     "login history and records"),
    (re.compile(r"natter(_core)?::server::(login|accounts|sessions)"), "core: login and sessions"),
    (re.compile(r"natter(_core)?::server::(outbox|pacing|flow|delivery|messaging|mailboxes|backlog)"),
     "core: outbox, delivery"),
    (re.compile(r"natter(_core)?::server::"), "core: other"),
    (re.compile(r"natter::shell::server::(writing)"), "shell: writing"),
    (re.compile(r"natter::shell::server::(accept)"), "shell: accepting"),
    (re.compile(r"natter::shell::server::(conn|inbox)"), "shell: connections, reading"),
    (re.compile(r"natter::shell::server::(driver|engine)"), "shell: driver"),
    (re.compile(r"natter::shell::"), "shell: other"),
    (re.compile(r"natter_bench::relay::lines"), "relay: lines"),
    (re.compile(r"natter_bench::relay"), "relay: loop, connections"),
    (re.compile(r"async_io|async_executor|async_task|smol::|polling::|futures_lite|"
                r"event_listener|async_net|concurrent_queue"), "async runtime"),
    (re.compile(r"hashbrown|core::hash|rustc_hash|FxHash|siphash|SipHasher"), "hashing"),
]

ENTRY = re.compile(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")


def classify(frames):
    """frames: the sample's (symbol, object) pairs, leaf first."""
    leaf_sym, leaf_obj = frames[0]
    if "kernel" in leaf_obj or leaf_obj.startswith("[k"):
        for sym, _ in frames:
            for entry, name in SYSCALLS:
                if sym.startswith(entry):
                    if name == "syscall: write" and not any(
                        f.startswith(("sock_", "tcp_", "inet_", "__sock", "____sys_sendmsg",
                                      "__sys_sendto", "__sys_sendmsg"))
                        for f, _ in frames
                    ):
                        return "syscall: write (the log: stderr, a file)"
                    return name
        for sym, _ in frames:
            if sym.startswith("__x64_sys_"):
                return "syscall: " + sym[len("__x64_sys_"):]
        return "kernel, other (interrupts, softirq, scheduling)"
    for sym, _ in frames:
        if ALLOC.match(sym):
            return "allocation (malloc/free)"
        if not sym.startswith(("core::", "alloc::", "std::", "__mem", "memcpy", "memmove", "memset",
                               "__memcpy", "__memmove", "__memset", "[unknown]", "<")):
            break
    # Parts in order of precedence: the most specific part anywhere on the stack (rendering called by
    # the core is rendering; everything runs under the shell and the runtime).
    for pattern, name in PARTS:
        if any(pattern.search(sym) for sym, _ in frames):
            return name
    if re.match(r"(__)?mem(cpy|move|set|chr|cmp)|__strlen|__memchr", leaf_sym):
        return "memcpy/memchr (unattributed)"
    return "other (std, libc)"


def samples(stream):
    frames = []
    for line in stream:
        if not line.strip():
            if frames:
                yield frames
                frames = []
            continue
        m = ENTRY.match(line)
        if m:
            frames.append((OFFSET.sub("", m.group(1)), m.group(2)))
    if frames:
        yield frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=float, help="operations in the profiled run (logins)")
    ap.add_argument("--cpu-s", type=float, help="the server's CPU seconds over the profiled run")
    ap.add_argument("--top", type=int, default=0, help="also list the N hottest leaf functions")
    ap.add_argument("--why", metavar="COST", help="list the stacks' frames that put samples in COST")
    args = ap.parse_args()
    costs = Counter()
    leaves = Counter()
    total = 0
    why = Counter()
    for frames in samples(sys.stdin):
        total += 1
        cost = classify(frames)
        costs[cost] += 1
        leaves[frames[0][0]] += 1
        if args.why and cost == args.why:
            why[" <- ".join(sym for sym, _ in frames[:6])] += 1
    for stack, n in why.most_common(15):
        print(f"{n:6} {stack[:400]}")
    if total == 0:
        sys.exit("perf-split: no samples with call chains on standard input")
    per_op = args.ops and args.cpu_s
    us = (args.cpu_s * 1e6 / args.ops) if per_op else None
    print(f"{total} samples" + (f"; {us:.1f} µs of server CPU per operation" if us else ""))
    print()
    print("| cost | share | µs per op |" if us else "| cost | share |")
    print("|---|---:|---:|" if us else "|---|---:|")
    for name, n in costs.most_common():
        share = n / total
        cell = f" {share * us:.2f} |" if us else ""
        print(f"| {name} | {share * 100:.1f}% |{cell}")
    if args.top:
        print()
        print("| leaf function | share |")
        print("|---|---:|")
        for name, n in leaves.most_common(args.top):
            print(f"| `{name[:90]}` | {n / total * 100:.1f}% |")


if __name__ == "__main__":
    main()
