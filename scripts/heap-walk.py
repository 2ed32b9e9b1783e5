#!/usr/bin/env python3
"""Where a live process's main heap is resident, chunk by chunk (glibc's [heap] only, not mmaps).

    scripts/heap-walk.py PID

Walks glibc's chunks through the heap (each chunk's size word; in use if the next chunk says so,
which counts chunks in glibc's per-thread caches and fast bins as in use) and reads
/proc/PID/pagemap for which pages are resident, so it can say how much of the resident heap is
free memory the allocator could not give back (free bytes on pages shared with chunks in use), which
chunk sizes in use share those pages, and how much of each large chunk in use is resident. Needs
root (or ptrace rights on PID); reads the process's memory without stopping it, so a busy process
gives a blurred picture. Used for "Idle memory, fourth round" in docs/PERFORMANCE.md.
"""
import collections
import struct
import sys

PAGE = 4096


def main(pid):
    start = end = None
    for line in open(f"/proc/{pid}/maps"):
        if line.rstrip().endswith("[heap]"):
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
    if start is None:
        sys.exit("no [heap] mapping")
    npages = (end - start) // PAGE
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        pm.seek(start // PAGE * 8)
        raw = pm.read(npages * 8)
    res = [(struct.unpack_from("<Q", raw, i * 8)[0] >> 63) & 1 for i in range(npages)]
    mem = open(f"/proc/{pid}/mem", "rb")
    data = bytearray(end - start)
    for i in range(npages):
        if res[i]:
            mem.seek(start + i * PAGE)
            data[i * PAGE:(i + 1) * PAGE] = mem.read(PAGE)

    def word(off):
        if not res[off // PAGE]:
            mem.seek(start + off)
            return struct.unpack("<Q", mem.read(8))[0]
        return struct.unpack_from("<Q", data, off)[0]

    chunks, off = [], 0
    while off + 16 <= end - start:
        size = word(off + 8) & ~7
        if size < 32 or off + size > end - start:
            break
        chunks.append((off, size))
        off += size

    def in_use(i):
        return i + 1 < len(chunks) and word(chunks[i + 1][0] + 8) & 1

    def resident(o, s):
        return sum(min(o + s, (p + 1) * PAGE) - max(o, p * PAGE)
                   for p in range(o // PAGE, (o + s - 1) // PAGE + 1) if res[p])

    used_on = collections.Counter()
    free_on = collections.Counter()
    for i, (o, s) in enumerate(chunks):
        target = used_on if in_use(i) else free_on
        for p in range(o // PAGE, (o + s - 1) // PAGE + 1):
            if res[p]:
                target[p] += min(o + s, (p + 1) * PAGE) - max(o, p * PAGE)
    print(f"heap {(end - start) >> 10} KiB, resident {sum(res) * PAGE >> 10} KiB: "
          f"in use {sum(used_on.values()) >> 10} KiB, free {sum(free_on.values()) >> 10} KiB "
          f"(resident pages wholly free: {sum(1 for p in free_on if not used_on[p])})")
    pinners = collections.Counter()
    for i, (o, s) in enumerate(chunks):
        if in_use(i) and any(free_on[p] for p in range(o // PAGE, (o + s - 1) // PAGE + 1)):
            pinners[s] += 1
    print("chunks in use on pages with free bytes resident, by size:")
    for s, n in pinners.most_common(10):
        print(f"  {s:9} bytes: {n}")
    print("chunks in use of 64 KiB or more: resident KiB of size")
    for i, (o, s) in enumerate(chunks):
        if s >= 65536 and in_use(i):
            print(f"  {resident(o, s) >> 10:7} of {s >> 10:7} KiB, at {o >> 10} KiB")


if __name__ == "__main__":
    main(int(sys.argv[1]))
