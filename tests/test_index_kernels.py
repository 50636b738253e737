"""Compiled indexing kernels of issue 12 against the NumPy expressions they replaced.

Each kernel must give the very same arrays (values, order and dtype) as the array code it stands
in for, since the run's tables depend on them: the gates' selection of the day's made events,
and live degrees in a graph with cut ties (households after members leave: tests/test_effects.py).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.consequences.network import _count_alive
from scorelab.engine.simulation import _MadeByType
from scorelab.tables import EventBatch
from scorelab.vocabulary import MADE, N_EVENT_TYPES, OUTCOMES


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 400), n_types=st.integers(1, 5))
def test_made_events_by_type_are_the_scan_of_every_event(seed, k, n_types):
    rng = np.random.default_rng(seed)
    kinds = rng.choice(N_EVENT_TYPES, n_types, replace=False)
    etype = rng.choice(kinds, k).astype(np.int16)
    outcome = rng.choice(len(OUTCOMES), k, p=[0.7] + [0.3 / (len(OUTCOMES) - 1)] * (len(OUTCOMES) - 1))
    events = EventBatch.of(etype, np.zeros(k, np.int32), np.zeros(k, np.int8), 0)
    events.outcome[:] = outcome
    made = _MadeByType(events)
    for _ in range(4):
        gate_types = np.zeros(N_EVENT_TYPES, bool)
        gate_types[rng.choice(N_EVENT_TYPES, rng.integers(1, 4), replace=False)] = True
        gate_types[rng.choice(kinds)] = rng.random() < 0.8
        want = np.flatnonzero(gate_types[events.etype] & (events.outcome == MADE))
        got = made.of(gate_types) if gate_types.any() else want
        np.testing.assert_array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), cut=st.floats(0.0, 1.0))
def test_live_degree_counts_the_live_edges_of_each_row(seed, n, cut):
    rng = np.random.default_rng(seed)
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 6, n))]).astype(np.int64)
    alive = rng.random(int(indptr[-1])) >= cut
    cum = np.concatenate([[0], np.cumsum(alive, dtype=np.int64)])
    want = (cum[indptr[1:]] - cum[indptr[:-1]]).astype(np.int32)
    got = _count_alive(indptr, alive)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)

