"""regime.kernels.apply_points: bounds, the ledger invariant and caps, as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.regime.kernels import apply_points, or_bits

N_SLOTS = 2


@st.composite
def scenario(draw, wide=False):
    n = draw(st.integers(1, 5))
    if wide:
        lo, hi = -1e9, 1e9
    else:
        lo = draw(st.floats(-100, 0, allow_nan=False))
        hi = draw(st.floats(0.5, 100, allow_nan=False))
    initial = draw(st.floats(lo, hi, allow_nan=False)) if not wide else 0.0
    cap_limit = [draw(st.floats(0.5, 30, allow_nan=False)) for _ in range(N_SLOTS)]
    cap_period = [draw(st.integers(1, 4)) for _ in range(N_SLOTS)]
    days = []
    for _day in range(draw(st.integers(1, 6))):
        k = draw(st.integers(0, 25))
        rec = draw(st.lists(st.tuples(st.integers(0, n - 1), st.floats(-40, 40, allow_nan=False),
                                      st.integers(-1, N_SLOTS - 1), st.booleans()),
                            min_size=k, max_size=k))
        days.append(rec)
    return n, lo, hi, initial, cap_limit, cap_period, days


def _run(n, lo, hi, initial, cap_limit, cap_period, days):
    """Apply each day's records as the runtime does; yield (day, records, returned deltas, scores)."""
    score = np.full(n, initial, np.float64)
    cap_used = np.zeros((N_SLOTS, n), np.float64)
    seen = np.full((N_SLOTS, n), -1, np.int64)
    for day, rec in enumerate(days):
        cit = np.array([r[0] for r in rec], np.int64)
        delta = np.array([r[1] for r in rec], np.float64)
        slot = np.array([r[2] for r in rec], np.int64)
        false = np.array([r[3] for r in rec], np.bool_)
        limit = np.array([cap_limit[s] if s >= 0 else np.inf for s in slot], np.float64)
        period = np.array([cap_period[s] if s >= 0 else 1 for s in slot], np.int64)
        before = score.copy()
        out = apply_points(score, lo, hi, cit, delta, slot, limit, period, day, cap_used, seen)
        yield day, cit, delta, slot, false, out, before, score.copy()


@settings(max_examples=100)
@given(scenario())
def test_scores_stay_within_bounds_and_deltas_sum_to_change(sc):
    n, lo, hi = sc[0], sc[1], sc[2]
    for _day, cit, _delta, _slot, _false, out, before, after in _run(*sc):
        assert np.all(after >= lo) and np.all(after <= hi)
        # ledger invariant: the returned deltas of each citizen sum to its score change
        summed = np.bincount(cit, weights=out, minlength=n) if len(cit) else np.zeros(n)
        np.testing.assert_allclose(summed, after - before, atol=1e-9)


@settings(max_examples=100)
@given(scenario())
def test_applied_delta_never_exceeds_or_reverses_request(sc):
    for *_head, delta, _slot, _false, out, _b, _a in _run(*sc):
        assert np.all(np.abs(out) <= np.abs(delta) + 1e-12)
        assert np.all(out * delta >= 0)  # same sign or zero


@settings(max_examples=100)
@given(scenario())
def test_capped_rule_never_moves_a_score_more_than_cap_per_period(sc):
    cap_limit, cap_period = sc[4], sc[5]
    used: dict[tuple[int, int, int], float] = {}
    for day, cit, _delta, slot, _false, out, *_ in _run(*sc):
        for c, s, d in zip(cit, slot, out, strict=True):
            if s >= 0:
                key = (int(s), int(c), day // cap_period[s])
                used[key] = used.get(key, 0.0) + abs(d)
    for (s, _c, _p), total in used.items():
        assert total <= cap_limit[s] + 1e-9


@settings(max_examples=100)
@given(scenario(wide=True))
def test_without_bounds_caps_bind_exactly(sc):
    """Far from the bounds an uncapped delta applies in full, and a capped rule's total change in a
    period is the smaller of the cap and the total requested (so the cap is neither loose nor early)."""
    cap_limit, cap_period = sc[4], sc[5]
    requested: dict[tuple[int, int, int], float] = {}
    applied: dict[tuple[int, int, int], float] = {}
    for day, cit, delta, slot, _false, out, *_ in _run(*sc):
        free = slot < 0
        # d is recomputed as new - old, so equal up to rounding
        np.testing.assert_allclose(out[free], delta[free], rtol=0, atol=1e-9)
        for c, s, d, o in zip(cit, slot, delta, out, strict=True):
            if s >= 0:
                key = (int(s), int(c), day // cap_period[s])
                requested[key] = requested.get(key, 0.0) + abs(d)
                applied[key] = applied.get(key, 0.0) + abs(o)
    for key, total in applied.items():
        assert total == pytest.approx(min(cap_limit[key[0]], requested[key]), abs=1e-9)


def test_or_bits_sets_bits_sequentially_with_repeats():
    target = np.zeros(3, np.uint64)
    or_bits(target, np.array([0, 2, 0, 0], np.int64), np.array([1, 4, 2, 1], np.uint64))
    assert target.tolist() == [3, 0, 4]
