"""Whether a measure's condition holds for some citizens, from a view of their standing.

One evaluation serves the scorer (which sees the record as it is) and the audit (which asks
the same question of the record without its false entries), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scorelab.regime.compiled import CompiledCondition, CompiledScorer


@dataclass
class Standing:
    """What a condition reads about citizens `cit`: lists, score, tier, record memory, sector."""

    on_list: Callable[[int], np.ndarray]  # list index -> bool[len(cit)]: on that list
    score: np.ndarray            # float64[len(cit)]
    tier: np.ndarray             # int8[len(cit)]
    seen: np.ndarray             # uint64[len(cit)]: bitmask of record types remembered
    sector: np.ndarray           # int8[len(cit)]


def holds(cs: CompiledScorer, w: CompiledCondition, st: Standing) -> np.ndarray:
    """Any of the condition's parts holds (OR)."""
    out = np.zeros(len(st.score), bool)
    for li in w.lists:
        out |= st.on_list(int(li))
    if w.tiers.any() and len(cs.tier_names):
        out |= w.tiers[st.tier]
    if w.records:
        out |= (st.seen & w.records) != 0
    if w.score_below is not None:
        out |= st.score < w.score_below
    if w.score_at_least is not None:
        out |= st.score >= w.score_at_least
    if w.sectors is not None:
        out |= w.sectors[st.sector]
    return out
