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
