"""issue 12: the graph builder's compiled sorts give exactly what the NumPy and SciPy calls they replace
give (scorelab/society/sorting.py), so a society is the same bit for bit."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from scorelab.society.sorting import argsort_jittered, lexsort_small_key, sorted_unique_rows


@settings(max_examples=200, deadline=None)
@given(hs.integers(0, 300), hs.integers(0, 2**32 - 1), hs.sampled_from([1.0, 3.0, 50.0]), hs.booleans())
def test_argsort_jittered_is_numpys_stable_argsort(n, seed, window, ties):
    rng = np.random.default_rng(seed)
    position = rng.integers(0, max(n // 3, 1), n)
    jitter = rng.random(n) * window
    if ties:  # equal values must keep their order, as a stable sort keeps it
        jitter = np.round(jitter)
    assert np.array_equal(argsort_jittered(position, jitter), np.argsort(position + jitter, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(hs.integers(1, 400), hs.integers(1, 40), hs.integers(0, 2**32 - 1), hs.booleans())
def test_lexsort_small_key_is_numpys_lexsort(n, key_range, seed, ties):
    rng = np.random.default_rng(seed)
    key = rng.integers(0, key_range, n)
    tiebreak = np.round(rng.random(n), 1) if ties else rng.random(n)
    assert np.array_equal(lexsort_small_key(tiebreak, key, key_range), np.lexsort((tiebreak, key)))


@settings(max_examples=200, deadline=None)
@given(hs.integers(1, 60).flatmap(lambda n: hs.tuples(
    hs.just(n), arrays(np.int64, hs.integers(0, 200), elements=hs.integers(0, n - 1)),
    hs.integers(0, 2**32 - 1))))
def test_sorted_unique_rows_is_scipys_csr(case):
    n, src, seed = case
    dst = np.random.default_rng(seed).integers(0, n, len(src))
    indptr, indices = sorted_unique_rows(n, src, dst)
    m = sp.csr_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n))
    m.sum_duplicates()
    m.sort_indices()
    assert np.array_equal(indptr, m.indptr) and np.array_equal(indices, m.indices)


def _repair_by_definition(a, b, rng):
    """The repair as first written: every round marks bad ties over the whole array (np.isin)."""
    from scorelab.society.graph import REPAIR_ROUNDS, _pair_at_random

    def bad_of(a, b):
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        key = lo * (int(hi.max(initial=0)) + 1) + hi
        s = np.sort(key)
        return (lo == hi) | np.isin(key, np.unique(s[1:][s[1:] == s[:-1]]))

    for _ in range(REPAIR_ROUNDS):
        bad = bad_of(a, b)
        if not bad.any():
            break
        good = np.flatnonzero(~bad)
        redo = bad.copy()
        redo[good[rng.integers(0, len(good), min(len(good), max(16, int(bad.sum()))))]] = True
        ends = np.concatenate([a[redo], b[redo]])
        a, b = a[~redo], b[~redo]
        ra, rb = _pair_at_random(ends, rng)
        a, b = np.concatenate([a, ra]), np.concatenate([b, rb])
    bad = bad_of(a, b)
    return a[~bad], b[~bad]


@settings(max_examples=300, deadline=None)
@given(hs.integers(2, 60), hs.integers(0, 300), hs.integers(0, 2**32 - 1))
def test_incremental_repair_is_the_repair_by_definition(n, m, seed):
    """issue 12: the repair finds bad ties round by round among the new ones only; the ties it keeps are
    those of the repair that marks bad ties over the whole array every round."""
    from scorelab.society.graph import _repair

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    ours = _repair(a.copy(), b.copy(), np.random.default_rng(seed + 1))
    want = _repair_by_definition(a.copy(), b.copy(), np.random.default_rng(seed + 1))
    assert np.array_equal(ours[0], want[0]) and np.array_equal(ours[1], want[1])
