"""Whether a measure's condition holds for some citizens, from a view of their standing.

One evaluation serves the scorer (which sees the record as it is) and the audit (which asks
the same question of the record without its false entries), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scorelab.regime.compiled import CompiledCondition, CompiledScorer


class Standing:
    """What a condition reads about citizens `cit`: lists, score, tier, record memory, sector.

    Each part is gathered from the scorer's columns only when a condition reads it, and once:
    a gate over a day's commerce asks about many citizens and usually reads one part (issue 12).
    """

    def __init__(self, n: int, on_list: Callable[[int], np.ndarray], score: Callable[[], np.ndarray],
                 tier: Callable[[np.ndarray], np.ndarray], seen: Callable[[], np.ndarray],
                 sector: Callable[[], np.ndarray]) -> None:
        self.n = n
        self.on_list = on_list  # list index -> bool[n]: on that list
        self._parts = {"score": score, "seen": seen, "sector": sector}
        self._tier_of_score = tier
        self._got: dict[str, np.ndarray] = {}

    def _get(self, part: str) -> np.ndarray:
        if part not in self._got:
            self._got[part] = self._parts[part]()
        return self._got[part]

    @property
    def score(self) -> np.ndarray:  # float64[n]
        return self._get("score")

    @property
    def tier(self) -> np.ndarray:  # int8[n]
        if "tier" not in self._got:
            self._got["tier"] = self._tier_of_score(self.score)
        return self._got["tier"]

    @property
    def seen(self) -> np.ndarray:  # uint64[n]: bitmask of record types remembered
        return self._get("seen")

    @property
    def sector(self) -> np.ndarray:  # int8[n]
        return self._get("sector")


def holds(cs: CompiledScorer, w: CompiledCondition, st: Standing) -> np.ndarray:
    """Any of the condition's parts holds (OR)."""
    out = np.zeros(st.n, bool)
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
