"""Sorts for building the contact graph, in linear time where NumPy's general sorts are not (issue 12).

Each gives exactly the permutation or arrays of the NumPy call it replaces (the docstrings say
which; tests/test_graph_sorting.py checks them against NumPy), so a society is the same bit for
bit; they are only faster because they use what is known about the keys: small integer parts.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def argsort_jittered(position, jitter):  # pragma: no cover - compiled
    """np.argsort(position + jitter, kind="stable") for integer positions >= 0 and jitters >= 0.

    A counting sort by the integer part of each value (stable), then an insertion sort within each
    bucket by the value itself (stable): buckets hold a few values each, so this is linear."""
    n = len(position)
    value = np.empty(n, np.float64)
    top = 0
    for k in range(n):
        value[k] = position[k] + jitter[k]
        b = int(value[k])
        if b > top:
            top = b
    start = np.zeros(top + 2, np.int64)
    for k in range(n):
        start[int(value[k]) + 1] += 1
    for b in range(top + 1):
        start[b + 1] += start[b]
    fill = start.copy()
    out = np.empty(n, np.int64)
    sval = np.empty(n, np.float64)  # the values in bucket order, beside `out`: the insertion sort reads them in line
    for k in range(n):
        b = int(value[k])
        out[fill[b]] = k
        sval[fill[b]] = value[k]
        fill[b] += 1
    for b in range(top + 1):
        for i in range(start[b] + 1, start[b + 1]):
            k = out[i]
            v = sval[i]
            j = i - 1
            while j >= start[b] and sval[j] > v:
                out[j + 1] = out[j]
                sval[j + 1] = sval[j]
                j -= 1
            out[j + 1] = k
            sval[j + 1] = v
    return out


@njit(cache=True)
def lexsort_small_key(tiebreak, key, key_range):  # pragma: no cover - compiled
    """np.lexsort((tiebreak, key)) for integer keys in [0, key_range): a counting sort by key, then
    a stable sort by the tie-break within each key."""
    n = len(key)
    start = np.zeros(key_range + 1, np.int64)
    for k in range(n):
        start[key[k] + 1] += 1
    for b in range(key_range):
        start[b + 1] += start[b]
    fill = start.copy()
    out = np.empty(n, np.int64)
    for k in range(n):
        out[fill[key[k]]] = k
        fill[key[k]] += 1
    for b in range(key_range):
        lo, hi = start[b], start[b + 1]
        if hi - lo > 1:
            idx = out[lo:hi].copy()
            order = np.argsort(tiebreak[idx], kind="mergesort")
            out[lo:hi] = idx[order]
    return out


@njit(cache=True)
def sorted_unique_rows(n, src, dst):  # pragma: no cover - compiled
    """The CSR (indptr, indices) of the pairs (src[k], dst[k]): columns sorted and distinct within
    each row, as scipy's csr_matrix, sum_duplicates() and sort_indices() give them."""
    start = np.zeros(n + 1, np.int64)
    for k in range(len(src)):
        start[src[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start.copy()
    cols = np.empty(len(src), np.int32)
    for k in range(len(src)):
        cols[fill[src[k]]] = dst[k]
        fill[src[k]] += 1
    indptr = np.zeros(n + 1, np.int64)
    w = 0
    for i in range(n):
        lo, hi = start[i], start[i + 1]
        for a in range(lo + 1, hi):  # rows are short: insertion sort in place
            c = cols[a]
            j = a - 1
            while j >= lo and cols[j] > c:
                cols[j + 1] = cols[j]
                j -= 1
            cols[j + 1] = c
        prev = -1
        for a in range(lo, hi):
            if cols[a] != prev:
                cols[w] = cols[a]
                w += 1
                prev = cols[a]
        indptr[i + 1] = w
    return indptr, cols[:w].copy()
