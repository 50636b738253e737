"""Network measures (S1-M7, Wei et al. 2016): isolation of the listed, fragmentation, homophily.

Computed when a run ends, while its contact network is in memory (the society's graph is not
copied into the run folder), and stored in the manifest for the summary.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


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
    final = _final_matrix(network)
    k, labels = connected_components(final, directed=False)
    out["largest_component_share"] = float(np.bincount(labels).max() / n) if n else 0.0
    out["components"] = int(k)
    if score is not None and np.ptp(score) > 0:
        initial = sp.csr_matrix((np.ones(len(initial_indices), np.int8), initial_indices, initial_indptr),
                                shape=(n, n))
        out["score_homophily_initial_graph"] = _edge_correlation(initial, score)
        out["score_homophily_final_graph"] = _edge_correlation(final, score)
    else:
        out["score_homophily_initial_graph"] = out["score_homophily_final_graph"] = None
    return out


def _final_matrix(network) -> sp.csr_matrix:
    """The live ties at the end of the run, in arrays of its own: scipy's CSR constructor keeps
    the arrays it is given, and eliminate_zeros() compacts them in place, which would scramble
    the society's graph (shared by every later run on the same Society object)."""
    n = network.n
    data = np.ones(len(network.indices), np.int8) if network.alive is None else network.alive.astype(np.int8)
    m = sp.csr_matrix((data, network.indices.copy(), network.indptr.copy()), shape=(n, n))
    if network.new_indptr is not None:
        m = m + sp.csr_matrix((np.ones(len(network.new_indices), np.int8), network.new_indices.copy(),
                               network.new_indptr.copy()), shape=(n, n))
    m.eliminate_zeros()
    return m


def _edge_correlation(m: sp.csr_matrix, score: np.ndarray) -> float | None:
    """Pearson correlation of the scores at the two ends of each tie (assortativity by score)."""
    if not m.nnz:
        return None
    centred = score - score.mean()  # once per citizen, not per tie end: the same numbers
    a = centred[np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))]
    b = centred[m.indices]
    # both ends range over the same edges (the matrix is symmetric), so means and spreads agree;
    # centred in place (a - a.mean(), without a second array of every tie end)
    a -= a.mean()
    b -= b.mean()
    # sums in numpy's fixed (pairwise) order, not BLAS dot products, whose threads change the last bits
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else None
