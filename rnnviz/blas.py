"""How many threads NumPy's BLAS (OpenBLAS) may use, changed at run time.

A recurrent step is a chain of small matmuls. Split over two threads they gain little
on a quiet machine and lose badly on a busy one: when the other core is taken (by the
GUI thread, or another program), each small matmul waits for a descheduled helper
thread. Measured here on a 2-core machine under load: one (32, 100)-token step of the
default classifier took 24.7 ms with two BLAS threads and 4.7 ms with one.

Works with the OpenBLAS that NumPy wheels bundle (found in /proc/self/maps); where it
cannot be found (other BLAS, other OS) every call is a harmless no-op.
"""

from __future__ import annotations

import ctypes
import functools
from contextlib import contextmanager

_PREFIXES = ("scipy_openblas_", "openblas_")
_SUFFIXES = ("64_", "")


@functools.cache
def _openblas():
    """(set_num_threads, get_num_threads) of the loaded OpenBLAS, or None."""
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    return setter, getter
    return None


def get_threads() -> int | None:
    """BLAS threads in use, or None when the BLAS is not controllable."""
    found = _openblas()
    return None if found is None else int(found[1]())


def set_threads(count: int) -> int | None:
    """Let BLAS use `count` threads; returns the previous count (None: not controllable)."""
    found = _openblas()
    if found is None:
        return None
    previous = int(found[1]())
    found[0](max(1, int(count)))
    return previous


@contextmanager
def threads(count: int):
    """Run a block with `count` BLAS threads, then restore the previous setting."""
    previous = set_threads(count)
    try:
        yield
    finally:
        if previous is not None:
            set_threads(previous)
