"""Giving freed memory back to the operating system between the steps of a run.

A step that allocates and frees a lot in Python (scoring: a gigabyte of
record batches, matrices and contribution tables at 10M subscribers) leaves
most of it with the allocators rather than the system: Arrow's pool keeps
its freed buffers, and glibc's malloc keeps freed blocks smaller than its
(dynamic, up to 32 MB) mmap threshold inside the heap. The process then
enters the next step, where DuckDB may use its own memory limit in full,
still holding that memory. :func:`release_unused` hands both back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_unused() -> bool:
    """Return freed memory to the system: Arrow's pool, then glibc's heap.

    Returns whether glibc's heap could be trimmed (False where the C library
    has no ``malloc_trim``; Arrow's pool is released either way).
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
