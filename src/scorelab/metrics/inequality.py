"""Inequality and mobility: Gini of score, income and wealth; tier transitions."""

from __future__ import annotations

import numpy as np


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 equal, 1 one has all). The society calibrates its
    incomes with it; here, not there, so that reading a run's measures imports no society code."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = len(v)
    if n == 0 or v.sum() == 0:
        return 0.0
    cum = np.cumsum(v)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)


def gini_of(values: np.ndarray) -> float | None:
    """Gini of non-negative values (negative savings count as none); None if all are equal."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0, None)
    v = v[np.isfinite(v)]
    if not len(v) or np.all(v == v[0]):
        return None if not len(v) or v[0] == 0 else 0.0
    return gini(v)


def mobility(tiers: dict) -> dict:
    """Per scorer: tier-change counts (row: from, column: to) and the share of moves downward."""
    out = {}
    for scorer, t in tiers.items():
        m = np.array(t["transitions"], dtype=np.int64)
        total = int(m.sum())
        down = int(np.triu(m, 1).sum())  # tiers are ordered best first: a higher index is worse
        out[scorer] = {"tiers": t["names"], "transitions": m.tolist(), "moves": total,
                       "downward_share": down / total if total else None}
    return out
