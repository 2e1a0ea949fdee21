"""Keep freed memory in the process for the next training step (glibc's malloc).

A training step allocates and frees the same large arrays every step (states,
pre-activations, their gradients: tens of megabytes at the benchmark's large size).
By default glibc serves blocks that large with fresh mmap'd pages, or trims them off
the heap when freed, so every step the kernel maps and zeroes them again: measured here
at the large size (V=5000, D=128, H=256, B=128, T=64) 3,000 page faults and ~10 ms of
kernel time in a 66 ms step; with the settings below, none, and 56 ms.

The settings are process-wide (like rnnviz.blas): blocks up to 32 MiB come from the
heap and up to 1 GiB of freed heap is kept for reuse. What is kept is at most what the
run used at its peak, which it needs again on the next step. Where glibc's `mallopt`
is not available (other C libraries, other systems) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Apply the settings once per process; True when glibc accepted them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
