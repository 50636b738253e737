"""Sequential score updates in Numba: clipping and caps depend on the order of records."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def apply_points(score, lo, hi, citizen, delta, cap_slot, cap_limit, cap_period, day,
                 cap_used, cap_period_seen):  # pragma: no cover - compiled
    """Apply deltas one by one; return what each really changed after caps and bounds.

    A capped rule may move a citizen's score by at most `cap_limit` points (in absolute value)
    within one period of `cap_period` days. The returned deltas sum exactly to the change of
    each score, which is the ledger's invariant.
    """
    out = np.empty(len(citizen), np.float64)
    for k in range(len(citizen)):
        c = citizen[k]
        d = delta[k]
        slot = cap_slot[k]
        if slot >= 0:
            period = day // cap_period[k]
            if cap_period_seen[slot, c] != period:
                cap_period_seen[slot, c] = period
                cap_used[slot, c] = 0.0
            room = cap_limit[k] - cap_used[slot, c]
            if room < 0.0:
                room = 0.0
            if abs(d) > room:
                d = room if d > 0 else -room
        old = score[c]
        new = old + d
        if new < lo:
            new = lo
        if new > hi:
            new = hi
        score[c] = new
        d = new - old
        if slot >= 0:
            cap_used[slot, c] += abs(d)
        out[k] = d
    return out


@njit(cache=True)
def or_bits(target, index, bits):  # pragma: no cover - compiled
    """target[index[k]] |= bits[k], sequentially (ufunc.at is slow for uint64)."""
    for k in range(len(index)):
        target[index[k]] |= bits[k]
