"""issue 12: the graph builder's compiled sorts give exactly what the NumPy and SciPy calls they replace
give (scorelab/society/sorting.py), so a society is the same bit for bit."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from scorelab.society.sorting import (
    argsort_stable_float32,
    homophilous_ends,
    keep_and_append,
    lexsort_small_key,
    member_mask,
    sorted_unique_rows,
    symmetric_unique_rows,
)


@settings(max_examples=300, deadline=None)
@given(hs.integers(0, 300), hs.integers(0, 2**32 - 1), hs.sampled_from([1.0, 3.0, 50.0]), hs.floats(0, 1),
       hs.booleans())
def test_homophilous_ends_are_numpys_split_and_stable_argsort(n, seed, window, homophily, ties):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    position = np.empty(n, np.int64)
    position[order] = np.arange(n)
    degree = rng.integers(0, 6, n)
    owner = np.repeat(np.arange(n), degree)
    draw = rng.random(len(owner))
    near = owner[draw < homophily]
    jitter = rng.random(len(near))
    if ties:  # equal values (across citizens too) must keep their order, as a stable sort keeps it
        jitter = np.round(jitter * 4) / 4 * (1 - 2**-40)
    sorted_near, far = homophilous_ends(degree, draw, homophily, position, jitter, window)
    assert np.array_equal(sorted_near, near[np.argsort(position[near] + jitter * window, kind="stable")])
    assert np.array_equal(far, owner[draw >= homophily])


@settings(max_examples=300, deadline=None)
@given(arrays(np.int64, hs.integers(0, 300), elements=hs.integers(0, 2**62)),
       arrays(np.int64, hs.integers(0, 100), elements=hs.integers(0, 2**62)), hs.integers(0, 2**32 - 1))
def test_member_mask_is_isin(x, values, seed):
    rng = np.random.default_rng(seed)
    if len(values) and len(x):  # plant some members, repeated and in any order
        x[rng.integers(0, len(x), len(x) // 2)] = values[rng.integers(0, len(values), len(x) // 2)]
    assert np.array_equal(member_mask(x, values), np.isin(x, values))


@settings(max_examples=100, deadline=None)
@given(hs.integers(0, 100), hs.integers(0, 30), hs.integers(0, 2**32 - 1))
def test_keep_and_append_is_mask_and_concatenate(m, k, seed):
    rng = np.random.default_rng(seed)
    a, b, key, drop = rng.integers(0, 9, m), rng.integers(0, 9, m), rng.integers(0, 99, m), rng.random(m) < 0.3
    na, nb, nk = rng.integers(0, 9, k), rng.integers(0, 9, k), rng.integers(0, 99, k)
    got = keep_and_append(a, b, key, drop, na, nb, nk)
    for mine, old, new in zip(got, (a, b, key), (na, nb, nk), strict=True):
        assert np.array_equal(mine, np.concatenate([old[~drop], new]))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float32, hs.integers(0, 400), elements=hs.floats(width=32, allow_nan=True, allow_infinity=True)))
def test_argsort_stable_float32_is_numpys_stable_argsort(x):
    """Any float32 values: ties, both zeros, infinities and NaN (NumPy puts them last)."""
    assert np.array_equal(argsort_stable_float32(x), np.argsort(x, kind="stable"))


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
    mirrored = symmetric_unique_rows(n, src, dst)  # the pairs both ways, without concatenating them
    want = sorted_unique_rows(n, np.concatenate([src, dst]), np.concatenate([dst, src]))
    assert np.array_equal(mirrored[0], want[0]) and np.array_equal(mirrored[1], want[1])


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
