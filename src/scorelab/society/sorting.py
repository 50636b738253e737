"""Sorts and sets for building a society (the contact graph, the income ranks), in linear time where
NumPy's general sorts are not (issue 12).

Each gives exactly the permutation or arrays of the NumPy call it replaces (the docstrings say
which; tests/test_graph_sorting.py checks them against NumPy), so a society is the same bit for
bit; they are only faster because they use what is known about the keys (small integer parts,
ends grouped by citizen) or look keys up in a hash set instead of a sorted array.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def argsort_stable_float32(x):  # pragma: no cover - compiled
    """np.argsort(x, kind="stable") for float32: an LSD radix sort (three passes of 11 bits) of
    the bits turned into an unsigned key that orders as the values do (-0.0 as 0.0, every NaN
    last, as NumPy orders them). NumPy's stable sort of floats is a merge sort."""
    n = len(x)
    key = np.empty(n, np.uint32)
    bits = x.view(np.uint32)
    for i in range(n):
        b = bits[i]
        if x[i] != x[i]:  # NaN
            key[i] = np.uint32(0xFFFFFFFF)
        elif b == np.uint32(0x80000000):  # -0.0 sorts with 0.0
            key[i] = np.uint32(0x80000000)
        elif b & np.uint32(0x80000000):
            key[i] = ~b
        else:
            key[i] = b | np.uint32(0x80000000)
    order = np.arange(n)
    spare = np.empty(n, np.int64)
    count = np.zeros(2049, np.int64)
    for shift in (0, 11, 22):
        count[:] = 0
        for i in range(n):  # a digit's histogram does not depend on the order: read the keys in line
            count[((key[i] >> np.uint32(shift)) & np.uint32(2047)) + 1] += 1
        for d in range(2048):
            count[d + 1] += count[d]
        for i in range(n):
            d = (key[order[i]] >> np.uint32(shift)) & np.uint32(2047)
            spare[count[d]] = order[i]
            count[d] += 1
        order, spare = spare, order
    return order


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
    return _unique_rows(n, src, dst, False)


@njit(cache=True)
def symmetric_unique_rows(n, a, b):  # pragma: no cover - compiled
    """sorted_unique_rows(n, concat(a, b), concat(b, a)), without building the two concatenations
    (at 10M citizens, two arrays of 100M int64)."""
    return _unique_rows(n, a, b, True)


@njit(cache=True)
def _unique_rows(n, src, dst, mirrored):  # pragma: no cover - compiled
    """A counting sort of the pairs (and of their mirror images) by row, then each short row sorted
    by insertion and its repeats dropped."""
    start = np.zeros(n + 1, np.int64)
    for k in range(len(src)):
        start[src[k] + 1] += 1
        if mirrored:
            start[dst[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start.copy()
    cols = np.empty(start[n], np.int32)
    for k in range(len(src)):
        cols[fill[src[k]]] = dst[k]
        fill[src[k]] += 1
        if mirrored:
            cols[fill[dst[k]]] = src[k]
            fill[dst[k]] += 1
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


@njit(cache=True)
def homophilous_ends(degree, draw, homophily, position, jitter, window):  # pragma: no cover - compiled
    """The tie ends `owner = np.repeat(arange(n), degree)` split by one uniform draw each into near
    (draw < homophily) and far ends; the near ends' owners sorted by their position plus a jitter:
    (near[np.argsort(position[near] + jitter * window, kind="stable")], owner[draw >= homophily]),
    with near = owner[draw < homophily], without the arrays of owners and values.

    A two-pass radix sort: the near ends go, in their order, into a few thousand bins of
    consecutive values (few enough that every bin's write point stays in cache), then each bin is
    sorted on its own by a counting sort on the value's integer part and an insertion sort within
    each integer, both stable, so ties keep their order as NumPy's stable sort keeps it. A counting
    sort over all n integer parts at once scattered every end at random in memory."""
    n = len(degree)
    w = int(window)
    top = n + w + 2  # every value is below: a position below n plus a jitter that may round up to `window`
    width = max(1, (top + 4095) // 4096)
    bins = (top + width - 1) // width
    bin_start = np.zeros(bins + 1, np.int64)
    far = np.empty(len(draw) - len(jitter), np.int64)
    k = 0
    e = 0
    f = 0
    for c in range(n):  # pass 1: count the near ends of each bin, list the far ends
        for _ in range(degree[c]):
            if draw[k] < homophily:
                bin_start[int(position[c] + jitter[e] * window) // width + 1] += 1
                e += 1
            else:
                far[f] = c
                f += 1
            k += 1
    for i in range(bins):
        bin_start[i + 1] += bin_start[i]
    fill = bin_start[:-1].copy()
    value = np.empty(e, np.float64)
    owner = np.empty(e, np.int32)  # a society has at most 50M citizens
    k = 0
    e = 0
    for c in range(n):  # pass 2: the near ends into their bins, in order
        for _ in range(degree[c]):
            if draw[k] < homophily:
                v = position[c] + jitter[e] * window
                i = int(v) // width
                value[fill[i]] = v
                owner[fill[i]] = c
                fill[i] += 1
                e += 1
            k += 1
    out = np.empty(e, np.int64)
    bucket = np.zeros(width + 1, np.int64)
    longest = 0
    for i in range(bins):
        longest = max(longest, bin_start[i + 1] - bin_start[i])
    sval = np.empty(longest, np.float64)
    sown = np.empty(longest, np.int64)
    for i in range(bins):  # each bin on its own: a counting sort by integer part, then insertion sorts
        lo, hi = bin_start[i], bin_start[i + 1]
        base = i * width
        bucket[:] = 0
        for j in range(lo, hi):
            bucket[int(value[j]) - base + 1] += 1
        for d in range(width):
            bucket[d + 1] += bucket[d]
        for j in range(lo, hi):
            d = int(value[j]) - base
            sval[bucket[d]] = value[j]
            sown[bucket[d]] = owner[j]
            bucket[d] += 1
        start = 0
        for d in range(width):  # bucket[d] is now the end of integer part base + d
            stop = bucket[d]
            for a in range(start + 1, stop):
                v = sval[a]
                c = sown[a]
                j = a - 1
                while j >= start and sval[j] > v:
                    sval[j + 1] = sval[j]
                    sown[j + 1] = sown[j]
                    j -= 1
                sval[j + 1] = v
                sown[j + 1] = c
            start = stop
        for j in range(hi - lo):
            out[lo + j] = sown[j]
    return out, far


@njit(cache=True)
def member_mask(x, values):  # pragma: no cover - compiled
    """np.isin(x, values) for integer arrays, by a hash set of `values` (open addressing): one pass
    over x, whatever the order of either array."""
    bits = 4
    while (1 << bits) < 2 * len(values) + 1:
        bits += 1
    size = 1 << bits
    mask = np.int64(size - 1)
    shift = np.uint64(64 - bits)
    golden = np.uint64(0x9E3779B97F4A7C15)
    slot_value = np.empty(size, np.int64)
    used = np.zeros(size, np.bool_)
    for v in values:
        h = np.int64((np.uint64(v) * golden) >> shift)
        while used[h] and slot_value[h] != v:
            h = (h + 1) & mask
        used[h] = True
        slot_value[h] = v
    out = np.zeros(len(x), np.bool_)
    for k in range(len(x)):
        v = x[k]
        h = np.int64((np.uint64(v) * golden) >> shift)
        while used[h]:
            if slot_value[h] == v:
                out[k] = True
                break
            h = (h + 1) & mask
    return out


@njit(cache=True)
def keep_and_append(a, b, key, drop, new_a, new_b, new_key):  # pragma: no cover - compiled
    """(concat(a[~drop], new_a), concat(b[~drop], new_b), concat(key[~drop], new_key)) in one pass."""
    kept = 0
    for k in range(len(drop)):
        if not drop[k]:
            kept += 1
    m = kept + len(new_a)
    out_a = np.empty(m, a.dtype)
    out_b = np.empty(m, b.dtype)
    out_key = np.empty(m, key.dtype)
    w = 0
    for k in range(len(drop)):
        if not drop[k]:
            out_a[w] = a[k]
            out_b[w] = b[k]
            out_key[w] = key[k]
            w += 1
    for k in range(len(new_a)):
        out_a[w] = new_a[k]
        out_b[w] = new_b[k]
        out_key[w] = new_key[k]
        w += 1
    return out_a, out_b, out_key
