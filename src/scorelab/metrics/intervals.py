"""A replication set's summary: every numeric measure of its runs' summaries with a 95% interval.

The set summary keeps the run summary's nesting; each number becomes
`{"mean", "sd", "ci95": [low, high], "n", "interval"}` over the runs where it is defined:

- `interval: "t"`: mean of the runs' values, sample standard deviation, and a Student t interval
  (mean +- t(0.975, n-1) x sd / sqrt(n));
- `interval: "bootstrap"`, for measures that are ratios of rare counts (RATIOS, and the
  disparate-impact ratios): the mean is the pooled ratio (numerators summed over the runs, over
  denominators summed), sd the spread of the runs' own ratios, and the interval a bootstrap over
  runs (scipy.stats.bootstrap, BCa, 2,000 resamples, fixed seed; percentile if BCa fails).

Booleans count as 0/1 (the mean is the share of runs where it is true). Strings are kept when
every run agrees, else listed. Keys of per-measure tables that a run leaves out because nothing
happened (ZERO_IF_ABSENT) count as 0 in that run; other absent or null values are not counted.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
from scipy import stats

from scorelab.metrics.groups import pooled_ratio

IDENTITY = ("run_id", "regime", "citizens", "days", "seed", "baseline")
ZERO_IF_ABSENT = ("sanctions_per_1000", "rewards_per_1000", "responses_per_1000", "tier_share", "money_by_kind")
RATIOS = {  # measure: (numerator, denominator), all top-level counts of the run summary
    "wrongful_sanction_share": ("wrongful_sanctions", "sanctions_total"),
    "wrongful_reward_share": ("wrongful_rewards", "rewards_total"),
    "correction_rate": ("false_records_corrected", "false_penalising_rows"),
    "wrongful_sanctions_uncorrected_share": ("wrongful_sanctions_uncorrected", "wrongful_sanctions"),
}
RESAMPLES = 2000
CONFIDENCE = 0.95
# scipy >= 1.15 names the generator `rng`; older releases `random_state`
_SEED = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def summarize_set(summaries: list[dict]) -> dict:
    """The set summary of the runs' summaries (the runs must share regime, size and days)."""
    measures = {k: v for k, v in _merge(summaries, ()).items() if k not in IDENTITY}
    for key, (num, den) in RATIOS.items():
        if key in measures:
            measures[key] = _pooled(summaries, lambda ss, num=num, den=den: _sum_ratio(ss, num, den),
                                    [s.get(key) for s in summaries])
    _pool_impact(summaries, measures)
    return measures


def stat(values: list) -> dict | None:
    """Mean, sd, t interval and n of the defined values (None if none is defined)."""
    v = np.array([float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))])
    if not len(v):
        return None
    mean = float(v.mean())
    if len(v) < 2:
        return {"mean": mean, "sd": None, "ci95": None, "n": int(len(v)), "interval": "t"}
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(v) - 1)) * sd / math.sqrt(len(v))
    return {"mean": mean, "sd": sd, "ci95": [mean - half, mean + half], "n": int(len(v)), "interval": "t"}


def _merge(values: list, path: tuple):
    """Replace every numeric leaf of the runs' (equally shaped) values by its statistics."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, dict) for v in present):
        keys = list(dict.fromkeys(k for v in present for k in v))
        zero = bool(path) and path[-1] in ZERO_IF_ABSENT
        return {k: _merge([(v or {}).get(k, 0 if zero else None) if v is not None else None for v in values],
                          (*path, k)) for k in keys}
    if all(isinstance(v, list) for v in present):
        if len({len(v) for v in present}) == 1 and present[0] and not all(isinstance(x, str) for x in present[0]):
            return [_merge([v[i] if v is not None else None for v in values], (*path, i))
                    for i in range(len(present[0]))]
        return present[0] if all(v == present[0] for v in present) else present
    if all(isinstance(v, (bool, int, float)) for v in present):
        return stat([float(v) for v in present])
    return present[0] if all(v == present[0] for v in present) else present


def _sum_ratio(summaries: list[dict], num: str, den: str) -> float | None:
    d = sum(s.get(den) or 0 for s in summaries)
    return sum(s.get(num) or 0 for s in summaries) / d if d else None


def _pooled(summaries: list[dict], pooled, runs_values: list) -> dict | None:
    """A ratio of rare counts: the pooled value with a bootstrap interval over runs."""
    mean = pooled(summaries)
    if mean is None:
        return None
    own = [float(v) for v in runs_values if v is not None]
    out = {"mean": float(mean), "sd": float(np.std(own, ddof=1)) if len(own) > 1 else None, "ci95": None,
           "n": len(own), "interval": "bootstrap"}
    if len(summaries) < 2:
        return out

    def statistic(idx):
        value = pooled([summaries[int(i)] for i in idx])
        return np.nan if value is None else value

    idx = np.arange(len(summaries))
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = stats.bootstrap((idx,), statistic, vectorized=False, n_resamples=RESAMPLES,
                                      confidence_level=CONFIDENCE, method=method, **{_SEED: np.random.default_rng(0)})
            except (ValueError, TypeError):
                continue
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            out["ci95"] = [low, high]
            break
    return out


def _pool_impact(summaries: list[dict], measures: dict) -> None:
    """Disparate-impact ratios: pooled over the runs' group counts, bootstrap intervals."""
    impact = (measures.get("by_group") or {}).get("disparate_impact") or {}
    for dim, whats in impact.items():
        for what, entry in list((whats or {}).items()):
            if not isinstance(entry, dict):
                continue
            if what == "refusals":
                for etype, sub in entry.items():
                    if isinstance(sub, dict) and "ratio" in sub:
                        sub["ratio"] = _impact_ratio(summaries, (dim, what, etype))
            elif "ratio" in entry:
                entry["ratio"] = _impact_ratio(summaries, (dim, what))


def _impact_ratio(summaries: list[dict], path: tuple) -> dict | None:
    def entries(ss):
        out = []
        for s in ss:
            e = ((s.get("by_group") or {}).get("disparate_impact") or {})
            for k in path:
                e = (e or {}).get(k)
            out.append(e or {})
        return out

    return _pooled(summaries, lambda ss: pooled_ratio(entries(ss)),
                   [e.get("ratio") for e in entries(summaries)])
