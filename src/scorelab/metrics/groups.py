"""Rates by group and disparate impact (the four-fifths rule) for listing and sanctions."""

from __future__ import annotations

import numpy as np

AGE_BANDS = ((0, 17, "0-17"), (18, 34, "18-34"), (35, 59, "35-59"), (60, 200, "60+"))
FOUR_FIFTHS = 0.8


def group_labels(cit) -> dict[str, np.ndarray]:
    """Group dimensions from citizens.parquet columns."""
    age = cit["age"]
    band = np.empty(len(age), dtype=object)
    for lo, hi, name in AGE_BANDS:
        band[(age >= lo) & (age <= hi)] = name
    return {
        "income_decile": np.array([f"D{int(d) + 1}" for d in range(10)], dtype=object)[cit["income_decile"]],
        "age_band": band,
        "urban": np.where(cit["urban"], "urban", "rural").astype(object),
        "sex": np.asarray(cit["sex"], dtype=object),
    }


def by_group(cit, listed: np.ndarray, sanctions: np.ndarray, wrongful: np.ndarray, citizen_years_per_head: float
             ) -> dict:
    """Per dimension and group: size, listed share, sanctions per 1,000 citizen-years, wrongful share,
    mean score and savings; then disparate-impact ratios of listing and sanction rates."""
    out: dict = {}
    impact: dict = {}
    for dim, labels in group_labels(cit).items():
        rows = {}
        for g in sorted(set(labels)):
            sel = labels == g
            k = int(sel.sum())
            s = float(sanctions[sel].sum())
            rows[g] = {
                "citizens": k,
                "listed_share": float(listed[sel].mean()),
                "sanctions_per_1000": 1000.0 * s / (k * citizen_years_per_head) if k else None,
                "wrongful_sanction_share": float(wrongful[sel].sum() / s) if s else None,
                "mean_score": float(np.nanmean(cit["score"][sel])) if np.isfinite(cit["score"][sel]).any() else None,
                "mean_savings": float(np.mean(cit["savings"][sel])),
            }
        out[dim] = rows
        impact[dim] = {"listing": _ratio([r["listed_share"] for r in rows.values()]),
                       "sanctions": _ratio([r["sanctions_per_1000"] for r in rows.values()])}
    return {"groups": out, "disparate_impact": impact}


def _ratio(rates) -> dict:
    """Lowest over highest rate of an adverse outcome; below 0.8 fails the four-fifths rule."""
    r = [x for x in rates if x is not None]
    if not r or max(r) == 0:
        return {"ratio": None, "fails_four_fifths": False}
    ratio = min(r) / max(r)
    return {"ratio": ratio, "fails_four_fifths": ratio < FOUR_FIFTHS}
