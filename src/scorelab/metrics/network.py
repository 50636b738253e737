"""Network measures (S1-M7, Wei et al. 2016): isolation of the listed, fragmentation, homophily.

Computed when a run ends, while its contact network is in memory (the society's graph is not
copied into the run folder), and stored in the manifest for the summary.
"""

from __future__ import annotations

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
    indptr, indices = _final_graph(network)
    k, largest = _components(indptr, indices)
    out["largest_component_share"] = float(largest / n) if n else 0.0
    out["components"] = int(k)
    if score is not None and np.ptp(score) > 0:
        out["score_homophily_initial_graph"] = _edge_correlation(initial_indptr, initial_indices, score)
        out["score_homophily_final_graph"] = _edge_correlation(indptr, indices, score)
    else:
        out["score_homophily_initial_graph"] = out["score_homophily_final_graph"] = None
    return out


def _final_graph(network) -> tuple[np.ndarray, np.ndarray]:
    """The live ties at the end of the run as CSR, in arrays of its own (the society's graph is
    shared by every later run on the same Society object): each row's live original ties merged
    with the ties formed during the run, sorted, as scipy's sum of the two matrices gives them
    (the merge of canonical rows, explicit zeros dropped). The formed ties count whether or not
    they were cut again: `new_alive` is not read here, as before (noted in issue 12)."""
    alive = network.alive if network.alive is not None else np.ones(0, bool)
    if network.new_indptr is None:
        new_indptr, new_indices = np.zeros(network.n + 1, np.int64), np.empty(0, network.indices.dtype)
    else:
        new_indptr, new_indices = network.new_indptr, network.new_indices.astype(network.indices.dtype)
    return _merge_live(network.indptr, network.indices, alive, network.alive is not None, new_indptr, new_indices)


@njit(cache=True)
def _merge_live(indptr, indices, alive, cut, new_indptr, new_indices):  # pragma: no cover - compiled
    """Per row, the sorted union of the live columns of (indptr, indices) (all of them if not
    `cut`) and the columns of (new_indptr, new_indices); both sorted within rows."""
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


@njit(cache=True)
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
    sa, sb, _ = _pairwise_edge_sums(indptr, indices, centred, 0, m, 0.0, 0.0, False, scratch)
    ma, mb = np.float64(sa) / m, np.float64(sb) / m  # a.mean(), b.mean()
    saa, sbb, sab = (np.float64(x) for x in _pairwise_edge_sums(indptr, indices, centred, 0, m, ma, mb, True, scratch))
    denom = np.sqrt(saa * sbb)
    return float(sab / denom) if denom > 0 else None


@njit(cache=True)
def _pairwise_edge_sums(indptr, indices, centred, lo, count, ma, mb, second, scratch):  # pragma: no cover - compiled
    """Three sums over the tie ends lo .. lo+count-1 in NumPy's pairwise order (blocks of 8
    accumulators up to 128 terms, halves cut at multiples of 8): of a and b, or, if `second`, of
    (a-ma)^2, (b-mb)^2 and (a-ma)(b-mb), where a is the row's centred score and b the column's."""
    if count > 128:
        half = count // 2
        half -= half % 8
        x1, y1, z1 = _pairwise_edge_sums(indptr, indices, centred, lo, half, ma, mb, second, scratch)
        x2, y2, z2 = _pairwise_edge_sums(indptr, indices, centred, lo + half, count - half, ma, mb, second, scratch)
        return x1 + x2, y1 + y2, z1 + z2
    row = np.searchsorted(indptr, lo, side="right") - 1
    if count < 8:
        x = y = z = -0.0
        for k in range(lo, lo + count):
            while indptr[row + 1] <= k:
                row += 1
            t1, t2, t3 = _terms(centred[row], centred[indices[k]], ma, mb, second)
            x += t1
            y += t2
            z += t3
        return x, y, z
    for k in range(lo, lo + count):
        while indptr[row + 1] <= k:
            row += 1
        t1, t2, t3 = _terms(centred[row], centred[indices[k]], ma, mb, second)
        j = (k - lo) % 8
        if k - lo < 8:
            scratch[0, j], scratch[1, j], scratch[2, j] = t1, t2, t3
        elif k - lo < count - count % 8:
            scratch[0, j] += t1
            scratch[1, j] += t2
            scratch[2, j] += t3
        else:
            break
    out = np.empty(3)
    for s in range(3):
        r = scratch[s]
        out[s] = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for k in range(lo + count - count % 8, lo + count):  # the rest, one by one
        while indptr[row + 1] <= k:
            row += 1
        t1, t2, t3 = _terms(centred[row], centred[indices[k]], ma, mb, second)
        out[0] += t1
        out[1] += t2
        out[2] += t3
    return out[0], out[1], out[2]


@njit(cache=True, inline="always")
def _terms(a, b, ma, mb, second):  # pragma: no cover - compiled
    if not second:
        return a, b, 0.0
    x, y = a - ma, b - mb
    return x * x, y * y, x * y
