"""How a process of ours asks the C library for memory (issue 12).

A run makes and drops arrays of tens to hundreds of megabytes at every stage. glibc's malloc
serves each from a fresh `mmap` and gives it back to the kernel when NumPy frees it, so the next
array of that size is faulted in and zeroed page by page again. On the virtual machines we
measure on, a page first touched costs about 3 ms per MB (`benchmarks/RESULTS.md`), so at 10M
citizens a run spent about a quarter of its wall time there. Serving large arrays from the heap
and never trimming it lets a freed array's pages be reused by the next one instead.

The price: the process keeps its freed memory until it exits, and its peak grows by about a
tenth (freed blocks the next request does not fit): 10M x 365 took 339 s and 12.2 GB with it,
376 s and 11.1 GB without (benchmarks/RESULTS.md). So only processes that run scorelab and then end
ask for it: the `scorelab` command (not `scorelab serve`, which lives on), the dashboard's run
processes and the experiment workers. SCORELAB_KEEP_FREED_MEMORY=0 turns it off. Where the C
library is not glibc, nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import platform

KEEP_ENV = "SCORELAB_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_MAX = -4
_GLIBC_TRIM_DEFAULT = 128 * 1024
_GLIBC_MMAP_MAX_DEFAULT = 65536


def keep_freed_memory(keep: bool = True) -> bool:
    """Serve large arrays from the heap and keep freed pages for reuse (keep=False: glibc's
    defaults again). True if the setting was applied."""
    if keep and os.environ.get(KEEP_ENV, "") == "0":
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if keep:
        return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return bool(mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX_DEFAULT)) and bool(mallopt(_M_TRIM_THRESHOLD, _GLIBC_TRIM_DEFAULT))


def _mallopt():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        fn = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn
