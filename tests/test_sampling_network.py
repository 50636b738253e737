"""Sampling and graph primitives: alias-table draws (behaviour) and tie cutting (S1-M7 avoidance)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.behaviour.alias import build_alias, draw_alias
from scorelab.consequences.network import Network
from scorelab.society.model import SocietySpec, build_society

weights_st = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40).filter(lambda w: sum(w) > 1e-3)


@settings(max_examples=100)
@given(weights_st)
def test_alias_table_encodes_the_weights_exactly(weights):
    w = np.array(weights, np.float64)
    prob, alias = build_alias(w)
    n = len(w)
    assert np.all((prob >= 0) & (prob <= 1 + 1e-6)) and np.all((alias >= 0) & (alias < n))
    implied = prob.astype(np.float64).copy()
    np.add.at(implied, alias, 1.0 - prob.astype(np.float64))
    # prob is float32: exact up to ~1e-6 per column
    np.testing.assert_allclose(implied / n, w / w.sum(), atol=1e-5)


def test_alias_draws_follow_the_weights():
    w = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 10.0])
    prob, alias = build_alias(w)
    rng = np.random.default_rng(0)
    k = 200_000
    draws = draw_alias(prob, alias, rng.random(k), rng.random(k))
    freq = np.bincount(draws, minlength=len(w)) / k
    assert freq[0] == 0 and freq[5] == 0  # zero weight: never drawn
    # binomial SD of a share at k = 200,000 is at most 0.0011; tolerance 0.005 is over 4 SD
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.005)


@pytest.fixture(scope="module")
def graph():
    soc = build_society(SocietySpec(citizens=2000, seed=9))
    return soc.graph_indptr, soc.graph_indices


def _live_matrix(net: Network) -> sp.csr_matrix:
    """The live ties as a new matrix (built from copies: the network's arrays stay untouched)."""
    alive = np.ones(len(net.indices), bool) if net.alive is None else net.alive
    rows = np.repeat(np.arange(net.n), np.diff(net.indptr))[alive]
    cols = net.indices[alive].astype(np.int64)
    return sp.csr_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(net.n, net.n))


@settings(max_examples=15, deadline=None)
@given(targets=st.lists(st.integers(0, 1999), min_size=1, max_size=50, unique=True),
       probability=st.floats(0.05, 1.0), rounds=st.integers(1, 3))
def test_cutting_ties_keeps_the_graph_symmetric(graph, targets, probability, rounds):
    indptr, indices = graph
    net = Network(indptr, indices)
    before = net.degree().copy()
    cut_pairs = []
    for day in range(rounds):
        t, c = net.avoid(np.array(targets), probability, seed=1, key=0, day=day)
        cut_pairs += list(zip(t.tolist(), c.tolist(), strict=True))
    m = _live_matrix(net)
    assert (m != m.T).nnz == 0
    assert np.array_equal(net.degree(), np.diff(m.indptr))
    ties = {frozenset(p) for p in cut_pairs}
    assert before.sum() - net.degree().sum() == 2 * len(ties)
    for a, b in cut_pairs:
        assert m[a, b] == 0 and m[b, a] == 0
        assert a in targets
    # neighbours() only returns live ties
    rows = np.array(targets, np.int64)
    origin, nb = net.neighbours(rows)
    assert all(m[rows[o], x] == 1 for o, x in zip(origin.tolist(), nb.tolist(), strict=True))
    assert len(nb) == net.degree()[rows].sum()


def test_avoid_with_probability_one_isolates_the_targets(graph):
    indptr, indices = graph
    net = Network(indptr, indices)
    targets = np.array([3, 17, 500])
    net.avoid(targets, 1.0, seed=1, key=0, day=0)
    assert np.all(net.degree()[targets] == 0)
    origin, nb = net.neighbours(targets.astype(np.int64))
    assert len(nb) == 0


def test_a_tie_between_two_targets_is_reported_once():
    """Two contacts listed the same day both shun each other: one tie, cut and reported once."""
    mat = sp.csr_matrix((np.ones(2, np.int8), ([0, 1], [1, 0])), shape=(3, 3))
    mat.sort_indices()
    net = Network(mat.indptr.astype(np.int64), mat.indices.astype(np.int32))
    target, contact = net.avoid(np.array([0, 1]), 1.0, seed=0, key=0, day=0)
    assert len(target) == 1
    assert {int(target[0]), int(contact[0])} == {0, 1}
    assert np.all(net.degree() == 0)
