"""issue 12: the network measures computed by compiled passes over the CSR arrays equal the SciPy and
NumPy expressions they replace (the live graph as a sum of sparse matrices, scipy's connected
components, the score correlation over arrays of every tie end), bit for bit; and a tie formed
during the run and cut again is not part of the final graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy.sparse.csgraph import connected_components

from scorelab.consequences.network import Network
from scorelab.metrics.network import network_measures
from scorelab.society.graph import contact_graph


def _by_scipy(network: Network, indptr0, indices0, score):
    """The measures as first written: scipy matrices and NumPy arrays of every tie end."""
    n = network.n
    data = np.ones(len(network.indices), np.int8) if network.alive is None else network.alive.astype(np.int8)
    final = sp.csr_matrix((data, network.indices.copy(), network.indptr.copy()), shape=(n, n))
    if network.new_indptr is not None:
        final = final + sp.csr_matrix((network.new_alive.astype(np.int8), network.new_indices.copy(),
                                       network.new_indptr.copy()), shape=(n, n))
    final.eliminate_zeros()
    k, labels = connected_components(final, directed=False)

    def corr(m):
        if not m.nnz:
            return None
        centred = score - score.mean()
        a = centred[np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))]
        b = centred[m.indices]
        a -= a.mean()
        b -= b.mean()
        denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
        return float(np.sum(a * b) / denom) if denom > 0 else None

    initial = sp.csr_matrix((np.ones(len(indices0), np.int8), indices0, indptr0), shape=(n, n))
    return {"components": int(k), "largest_component_share": float(np.bincount(labels).max() / n),
            "score_homophily_initial_graph": corr(initial), "score_homophily_final_graph": corr(final)}


@settings(max_examples=60, deadline=None)
@given(hs.integers(2, 3000), hs.floats(0.0, 12.0), hs.integers(0, 2**31 - 1), hs.floats(0.0, 1.0),
       hs.integers(0, 400), hs.booleans())
def test_network_measures_are_the_scipy_expressions(n, degree, seed, cut_probability, formed, score_ties):
    rng = np.random.default_rng(seed)
    indptr, indices = contact_graph(rng.integers(0, 5, n).astype(np.int16), rng.integers(0, 90, n).astype(np.int16),
                                    degree, 0.8, 20, seed)
    network = Network(indptr, indices)
    targets = np.unique(rng.integers(0, n, max(1, n // 10)))
    network.avoid(targets, cut_probability, seed, 1, 0)  # ties of some citizens cut
    if formed:  # ties formed during the run, some repeating live or cut ones, some then cut again
        network.add_ties(rng.integers(0, n, formed), rng.integers(0, n, formed))
        network.avoid(targets[:3], 0.5, seed, 2, 1)
    score = rng.integers(300, 1000, n).astype(np.float64) if score_ties else rng.normal(700, 80, n)
    listed = np.zeros(n, bool)
    listed[targets] = True
    got = network_measures(network, indptr, indices, listed, score)
    want = _by_scipy(network, indptr, indices, score)
    for key, value in want.items():
        assert got[key] == value, key


def test_a_large_graph_has_the_same_correlation_bits():
    """A million tie ends: NumPy's pairwise summation has many levels here, all reproduced."""
    n = 100_000
    rng = np.random.default_rng(5)
    indptr, indices = contact_graph(rng.integers(0, 30, n).astype(np.int16), rng.integers(0, 90, n).astype(np.int16),
                                    10.0, 0.8, 400, 5)
    network = Network(indptr, indices)
    network.avoid(np.arange(0, n, 7), 0.3, 5, 1, 0)
    network.add_ties(rng.integers(0, n, 5000), rng.integers(0, n, 5000))
    score = rng.normal(700, 80, n) + 0.3 * np.repeat(np.arange(n) % 17, 1)
    got = network_measures(network, indptr, indices, np.zeros(n, bool), score)
    want = _by_scipy(network, indptr, indices, score)
    assert got["components"] == want["components"]
    assert got["score_homophily_initial_graph"] == want["score_homophily_initial_graph"]
    assert got["score_homophily_final_graph"] == want["score_homophily_final_graph"]
    assert len(indices) > 900_000


def test_a_tie_formed_and_cut_again_is_not_in_the_final_graph():
    """Three citizens, no ties at first: 0 and 1 form a tie, then 0's contacts cut theirs."""
    indptr, indices = np.zeros(4, np.int64), np.empty(0, np.int32)
    network = Network(indptr, indices)
    network.add_ties(np.array([0]), np.array([1]))
    formed = network_measures(network, indptr, indices, np.zeros(3, bool), None)
    assert formed["components"] == 2 and formed["mean_degree_final"] == 2 / 3
    network.avoid(np.array([0]), 1.0, 1, 1, 0)
    cut = network_measures(network, indptr, indices, np.zeros(3, bool), None)
    assert cut["mean_degree_final"] == 0.0 and cut["components"] == 3
