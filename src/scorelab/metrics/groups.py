"""Rates by group and disparate impact (the four-fifths rule) among those who can be treated.

A ratio of rates means something only among citizens the measure can reach: children cannot be
listed, and a refusal can only answer an application. So listing and sanctions are compared
among adults, and refusals among the attempts they answer; groups smaller than MIN_GROUP are left
out of the ratio, and every ratio comes with the counts behind it.
"""

from __future__ import annotations

import numpy as np

AGE_EDGES = np.array([18, 35, 60])  # bands 0-17, 18-34, 35-59, 60+
AGE_NAMES = ["0-17", "18-34", "35-59", "60+"]
FOUR_FIFTHS = 0.8
ADULT_AGE = 18
MIN_GROUP = 100  # eligible citizens (or attempts) a group needs to enter a disparate-impact ratio


def group_codes(cit) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per dimension: an integer group code per citizen and the groups' names."""
    sex = np.asarray(cit["sex"])
    return {
        "income_decile": (np.asarray(cit["income_decile"], np.int64), [f"D{d + 1}" for d in range(10)]),
        "age_band": (np.searchsorted(AGE_EDGES, np.asarray(cit["age"]), side="right"), AGE_NAMES),
        "urban": (np.asarray(cit["urban"]).astype(np.int64), ["rural", "urban"]),
        "sex": ((sex == "male").astype(np.int64), ["female", "male"]),
    }


def by_group(cit, listed: np.ndarray, sanctions: np.ndarray, wrongful: np.ndarray, citizen_years_per_head: float,
             refusals: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """Per dimension and group: size, listed share, sanctions per 1,000 citizen-years, wrongful share,
    mean score and savings (all citizens); then disparate-impact ratios among the eligible.

    `refusals` maps a gate's event type to (attempts per citizen, refused attempts per citizen);
    None when the run folder does not hold the attempts.
    """
    score = np.asarray(cit["score"], np.float64)
    has_score = np.isfinite(score)
    adult = np.asarray(cit["age"]) >= ADULT_AGE
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
        adults = np.bincount(code[adult], minlength=k)
        impact[dim] = {
            "listing": disparate_impact(names, adults, np.bincount(code[adult & listed], minlength=k),
                                        "adults", "citizens ever on a punitive list"),
            "sanctions": disparate_impact(names, adults, total(np.where(adult, sanctions, 0.0)), "adults",
                                          "sanction rows per 1,000 citizen-years", per=1000.0 / citizen_years_per_head),
            "refusals": None if refusals is None else {
                etype: disparate_impact(names, total(attempts), total(refused), "attempts", "refused attempts")
                for etype, (attempts, refused) in sorted(refusals.items())},
        }
    return {"groups": out, "disparate_impact": impact}


def disparate_impact(names: list[str], eligible: np.ndarray, treated: np.ndarray, among: str, counted: str,
                     per: float = 1.0) -> dict:
    """Lowest over highest rate of an adverse outcome among groups of at least MIN_GROUP eligible;
    below 0.8 fails the four-fifths rule. The counts behind every rate are kept."""
    groups, rates, excluded = {}, {}, []
    for g, name in enumerate(names):
        n, k = int(eligible[g]), float(treated[g])
        if n == 0:
            continue
        rate = per * k / n
        groups[name] = {"eligible": n, "treated": int(round(k)), "rate": rate}
        if n >= MIN_GROUP:
            rates[name] = rate
        else:
            excluded.append(name)
    out = {"ratio": None, "fails_four_fifths": False, "lowest": None, "highest": None, "p_value": None,
           "among": among, "counted": counted, "min_group_size": MIN_GROUP, "groups": groups, "excluded": excluded}
    if rates and max(rates.values()) > 0:
        lowest, highest = min(rates, key=rates.get), max(rates, key=rates.get)
        ratio = rates[lowest] / rates[highest]
        out.update(ratio=ratio, fails_four_fifths=ratio < FOUR_FIFTHS, lowest=lowest, highest=highest,
                   p_value=_equal_rates_p(groups[lowest], groups[highest]))
    return out


def _equal_rates_p(low: dict, high: dict) -> float:
    """Two-sided p-value of equal rates in the lowest and highest group: given their total count,
    the low group's count is binomial with its share of the eligible (the conditional test for two
    Poisson rates). A small ratio with a large p-value is noise of rare counts, not a finding."""
    from scipy.stats import binomtest

    k = low["treated"] + high["treated"]
    if k == 0:
        return 1.0
    return float(binomtest(low["treated"], k, low["eligible"] / (low["eligible"] + high["eligible"])).pvalue)


def pooled_ratio(entries: list[dict]) -> float | None:
    """The disparate-impact ratio of several runs' entries taken together (counts summed per group;
    a group enters if it has MIN_GROUP eligible per run on average): what a replication set quotes,
    since a ratio of rare counts is not the mean of its runs' ratios. Scales such as "per 1,000
    citizen-years" cancel in the ratio."""
    eligible: dict[str, int] = {}
    treated: dict[str, float] = {}
    for e in entries:
        for name, g in ((e or {}).get("groups") or {}).items():
            eligible[name] = eligible.get(name, 0) + g["eligible"]
            treated[name] = treated.get(name, 0) + g["treated"]
    rates = [treated[g] / eligible[g] for g in eligible if eligible[g] >= MIN_GROUP * len(entries)]
    return min(rates) / max(rates) if rates and max(rates) > 0 else None
