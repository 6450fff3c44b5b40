"""Process-wide tuning, applied once by the command line and the endpoint process.

A bench allocates and frees bodies of a few hundred bytes to a few megabytes
at a high rate. glibc gives memory back to the system whenever more than
128 KiB lie free at the top of the heap, so the heap shrinks and regrows all
the time and every regrowth costs page faults: serialising 1,000 500-byte
messages one by one took 4 ms with the default and 0.2 ms with a 64 MiB trim
threshold.

The cyclic collector runs less often: a run keeps thousands of messages
alive between the source and the endpoint, and with the default thresholds
every 700 allocations a young collection walked them again (a whole NDJSON
run: 106,000 → 120,000 messages/s, bench/run_throughput.py). This used to pile
up cyclic garbage holding request bodies (740 MB over a million messages
through httpx); the engine's HTTP client leaves none now
(tests/engine/test_no_cyclic_bodies.py), and what the process had allocated
before the run is frozen out of the collector's walks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
# Setting the trim threshold freezes glibc's otherwise adaptive mmap threshold at
# 128 KiB, so every batch body (~500 KB) would be mapped and unmapped afresh:
# hundreds of page faults per batch. Bodies up to 32 MiB come from the heap instead.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024


def tune_malloc() -> bool:
    """Raise glibc's trim threshold; True when applied (False elsewhere, harmlessly)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
                    and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


# Young collections every 10,000 allocations instead of 700; older generations as often relative to them.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def tune_process() -> None:
    """The allocator and collector settings above; call once, early, in a process's entry point."""
    tune_malloc()
    tune_gc()
