"""Rates by group and disparate impact (the four-fifths rule) for listing and sanctions."""

from __future__ import annotations

import numpy as np

AGE_EDGES = np.array([18, 35, 60])  # bands 0-17, 18-34, 35-59, 60+
AGE_NAMES = ["0-17", "18-34", "35-59", "60+"]
FOUR_FIFTHS = 0.8


def group_codes(cit) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per dimension: an integer group code per citizen and the groups' names."""
    sex = np.asarray(cit["sex"])
    return {
        "income_decile": (np.asarray(cit["income_decile"], np.int64), [f"D{d + 1}" for d in range(10)]),
        "age_band": (np.searchsorted(AGE_EDGES, np.asarray(cit["age"]), side="right"), AGE_NAMES),
        "urban": (np.asarray(cit["urban"]).astype(np.int64), ["rural", "urban"]),
        "sex": ((sex == "male").astype(np.int64), ["female", "male"]),
    }


def by_group(cit, listed: np.ndarray, sanctions: np.ndarray, wrongful: np.ndarray, citizen_years_per_head: float
             ) -> dict:
    """Per dimension and group: size, listed share, sanctions per 1,000 citizen-years, wrongful share,
    mean score and savings; then disparate-impact ratios of listing and sanction rates."""
    score = np.asarray(cit["score"], np.float64)
    has_score = np.isfinite(score)
    out: dict = {}
    impact: dict = {}
    for dim, (code, names) in group_codes(cit).items():
        k = len(names)

        def total(values, code=code, k=k):
            return np.bincount(code, weights=values, minlength=k)

        size = np.bincount(code, minlength=k)
        n_listed, n_sanctions, n_wrong = total(listed.astype(float)), total(sanctions), total(wrongful)
        score_sum, score_n = total(np.where(has_score, score, 0.0)), total(has_score.astype(float))
        savings = total(np.asarray(cit["savings"], np.float64))
        rows = {}
        for g, name in enumerate(names):
            if not size[g]:
                continue
            rows[name] = {
                "citizens": int(size[g]),
                "listed_share": float(n_listed[g] / size[g]),
                "sanctions_per_1000": float(1000.0 * n_sanctions[g] / (size[g] * citizen_years_per_head)),
                "wrongful_sanction_share": float(n_wrong[g] / n_sanctions[g]) if n_sanctions[g] else None,
                "mean_score": float(score_sum[g] / score_n[g]) if score_n[g] else None,
                "mean_savings": float(savings[g] / size[g]),
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
