"""Network measures (S1-M7, Wei et al. 2016): isolation of the listed, fragmentation, homophily.

Computed when a run ends, while its contact network is in memory (the society's graph is not
copied into the run folder), and stored in the manifest for the summary.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit


def network_measures(network, initial_indptr: np.ndarray, initial_indices: np.ndarray, listed: np.ndarray,
                     score: np.ndarray | None) -> dict:
    n = network.n
    deg0 = np.diff(initial_indptr)
    deg = network.degree()
    lost = deg0 - (deg - network.new_degree())
    out = {
        "mean_degree_initial": float(deg0.mean()) if n else 0.0,
        "mean_degree_final": float(deg.mean()) if n else 0.0,
        "ties_cut": int(lost.sum() // 2),
        "mean_degree_lost_listed": float(lost[listed].mean()) if listed.any() else None,
        "mean_degree_lost_others": float(lost[~listed].mean()) if (~listed).any() else None,
        "listed_isolated_share": float((deg[listed] == 0).mean()) if listed.any() else None,
    }
    correlate = score is not None and np.ptp(score) > 0
    # the initial graph's correlation on a second thread while this one measures the final graph
    # (the kernels release the GIL; the two share nothing, so the numbers do not depend on it)
    with ThreadPoolExecutor(1) as beside:
        initial = beside.submit(_edge_correlation, initial_indptr, initial_indices, score) if correlate else None
        indptr, indices = _final_graph(network)
        k, largest = _components(indptr, indices)
        out["largest_component_share"] = float(largest / n) if n else 0.0
        out["components"] = int(k)
        out["score_homophily_final_graph"] = _edge_correlation(indptr, indices, score) if correlate else None
        out["score_homophily_initial_graph"] = initial.result() if initial is not None else None
    return out


def _final_graph(network) -> tuple[np.ndarray, np.ndarray]:
    """The live ties at the end of the run as CSR, in arrays of its own (the society's graph is
    shared by every later run on the same Society object): each row's live original ties merged
    with its live ties formed during the run, sorted. A tie formed and then cut is not live (the
    first version of these measures counted it: fixed in issue 12)."""
    alive = network.alive if network.alive is not None else np.ones(0, bool)
    if network.new_indptr is None:
        new_indptr, new_indices = np.zeros(network.n + 1, np.int64), np.empty(0, network.indices.dtype)
        new_alive = np.ones(0, bool)
    else:
        new_indptr, new_indices = network.new_indptr, network.new_indices.astype(network.indices.dtype)
        new_alive = network.new_alive
    return _merge_live(network.indptr, network.indices, alive, network.alive is not None, new_indptr, new_indices,
                       new_alive)


@njit(cache=True, nogil=True)
def _merge_live(indptr, indices, alive, cut, new_indptr, new_indices, new_alive):  # pragma: no cover - compiled
    """Per row, the sorted union of the live columns of (indptr, indices) (all of them if not
    `cut`) and the live columns of (new_indptr, new_indices); both sorted within rows."""
    n = len(indptr) - 1
    out_ptr = np.zeros(n + 1, np.int64)
    out = np.empty(len(indices) + len(new_indices), indices.dtype)
    w = 0
    for i in range(n):
        p, q = indptr[i], new_indptr[i]
        p_end, q_end = indptr[i + 1], new_indptr[i + 1]
        while p < p_end or q < q_end:
            if p < p_end and cut and not alive[p]:
                p += 1
                continue
            if q < q_end and not new_alive[q]:
                q += 1
                continue
            if q >= q_end or (p < p_end and indices[p] < new_indices[q]):
                out[w] = indices[p]
                p += 1
            elif p >= p_end or new_indices[q] < indices[p]:
                out[w] = new_indices[q]
                q += 1
            else:  # in both: one entry
                out[w] = indices[p]
                p += 1
                q += 1
            w += 1
        out_ptr[i + 1] = w
    return out_ptr, out[:w].copy()


@njit(cache=True, nogil=True)
def _components(indptr, indices):  # pragma: no cover - compiled
    """(number of connected components, size of the largest) of an undirected graph as CSR, by
    union-find with path halving: what scipy's connected_components counts, without its copy of
    the graph as a float64 matrix."""
    n = len(indptr) - 1
    parent = np.arange(n)
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            a, b = i, np.int64(indices[e])
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a != b:
                if a < b:
                    parent[b] = a
                else:
                    parent[a] = b
    size = np.zeros(n, np.int64)
    k = 0
    largest = 0
    for i in range(n):
        r = i
        while parent[r] != r:
            r = parent[r]
        if r == i:
            k += 1
        size[r] += 1
        if size[r] > largest:
            largest = size[r]
    return k, largest


def _edge_correlation(indptr: np.ndarray, indices: np.ndarray, score: np.ndarray) -> float | None:
    """Pearson correlation of the scores at the two ends of each tie (assortativity by score).

    The numbers of NumPy's expression over the arrays of every tie end, a = centred[row],
    b = centred[column], a -= a.mean(), b -= b.mean(), sum(a*b) / sqrt(sum(a*a) * sum(b*b)),
    with NumPy's pairwise summation reproduced over the ends in CSR order (tests/test_metrics_network.py),
    without those arrays: at 10M citizens they were five of 800 MB each, per graph."""
    m = len(indices)
    if not m:
        return None
    centred = np.asarray(score, np.float64)
    centred = centred - centred.mean()  # once per citizen, not per tie end: the same numbers
    scratch = np.empty((3, 8), np.float64)
    row = np.zeros(1, np.int64)  # the row of the next tie end: the leaves are summed in order
    sa, sb, _ = _pairwise_edge_sums(indptr, indices, centred, 0, m, 0.0, 0.0, False, scratch, row)
    ma, mb = np.float64(sa) / m, np.float64(sb) / m  # a.mean(), b.mean()
    row[0] = 0
    saa, sbb, sab = (np.float64(x) for x in
                     _pairwise_edge_sums(indptr, indices, centred, 0, m, ma, mb, True, scratch, row))
    denom = np.sqrt(saa * sbb)
    return float(sab / denom) if denom > 0 else None


@njit(cache=True, nogil=True)
def _pairwise_edge_sums(indptr, indices, centred, lo, count, ma, mb, second, scratch, row):  # pragma: no cover
    """Three sums over the tie ends lo .. lo+count-1 in NumPy's pairwise order (blocks of 8
    accumulators up to 128 terms, halves cut at multiples of 8): of a and b, or, if `second`, of
    (a-ma)^2, (b-mb)^2 and (a-ma)(b-mb), where a is the row's centred score and b the column's.
    `row[0]` follows the tie ends' row: the leaves are visited left to right."""
    if count > 128:
        half = count // 2
        half -= half % 8
        x1, y1, z1 = _pairwise_edge_sums(indptr, indices, centred, lo, half, ma, mb, second, scratch, row)
        x2, y2, z2 = _pairwise_edge_sums(indptr, indices, centred, lo + half, count - half, ma, mb, second, scratch,
                                         row)
        return x1 + x2, y1 + y2, z1 + z2
    r = row[0]
    if count < 8:
        x, y, z, row[0] = _one_by_one(indptr, indices, centred, lo, lo + count, r, -0.0, -0.0, -0.0, ma, mb, second)
        return x, y, z
    full = lo + count - count % 8
    for block in range(lo, full, 8):
        for j in range(8):
            k = block + j
            while indptr[r + 1] <= k:
                r += 1
            t1, t2, t3 = _terms(centred[r], centred[indices[k]], ma, mb, second)
            if block == lo:
                scratch[0, j], scratch[1, j], scratch[2, j] = t1, t2, t3
            else:
                scratch[0, j] += t1
                scratch[1, j] += t2
                scratch[2, j] += t3
    x, y, z, row[0] = _one_by_one(indptr, indices, centred, full, lo + count, r, _eight(scratch[0]),
                                  _eight(scratch[1]), _eight(scratch[2]), ma, mb, second)  # the rest
    return x, y, z


@njit(cache=True, nogil=True, inline="always")
def _one_by_one(indptr, indices, centred, start, stop, r, x, y, z, ma, mb, second):  # pragma: no cover - compiled
    """The terms of tie ends start .. stop-1 added one by one to (x, y, z); r follows their row."""
    for k in range(start, stop):
        while indptr[r + 1] <= k:
            r += 1
        t1, t2, t3 = _terms(centred[r], centred[indices[k]], ma, mb, second)
        x += t1
        y += t2
        z += t3
    return x, y, z, r


@njit(cache=True, nogil=True, inline="always")
def _eight(acc):  # pragma: no cover - compiled
    """NumPy's sum of its eight accumulators."""
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(cache=True, nogil=True, inline="always")
def _terms(a, b, ma, mb, second):  # pragma: no cover - compiled
    if not second:
        return a, b, 0.0
    x, y = a - ma, b - mb
    return x * x, y * y, x * y
