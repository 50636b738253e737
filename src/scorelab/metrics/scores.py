"""Scores on a common footing (issue 10): a 1,000-point score, a 300-850 score and a 350-950 score
cannot share an axis, so each score is read against its own range and its own tiers.

- the position in the regime's own range: (score - min) / (max - min), 0 at the bottom, 1 at the top;
- tiers mapped to the share of citizens below them (in worse tiers), and the share in the bottom
  tier or in a tier worse than the one everyone started in;
- the share of citizens in a worse tier than they would be in without false records.

Regime facts (range, initial score, tiers, redemption) come from the run's own `regime.yaml`.
"""

from __future__ import annotations

import numpy as np
import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same data, 5x faster


def regime_scorers(folder) -> list[dict]:
    """The scorers of the run's regime.yaml as plain dicts (anchors and merges resolved)."""
    path = folder / "regime.yaml"
    if not path.exists():
        return []
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
    return list(doc.get("scorers") or [])


def _tiers(s: dict) -> tuple[list[str], np.ndarray]:
    """Tier names best first and their minimum scores (descending)."""
    tiers = ((s.get("tiers") or {}).get("tiers")) or []
    return [str(t["name"]) for t in tiers], np.array([float(t["min"]) for t in tiers])


def tier_index(score: np.ndarray, mins: np.ndarray) -> np.ndarray:
    """Index of each score's tier (0 = best), as the runtime assigns it: the first tier whose
    minimum the score reaches; below every minimum, the bottom tier."""
    asc = mins[::-1]
    k = np.searchsorted(asc, score, side="right") - 1
    return np.clip(len(mins) - 1 - k, 0, len(mins) - 1)


def score_footing(scorers: list[dict], cit, false_part: dict[str, np.ndarray]) -> dict:
    """Per scorer with a range (max > min): position in range, tiers with the share below, and the
    share in a worse tier because of false records. `false_part[scorer]` is each citizen's net
    score change from false records (metrics/scores.false_part)."""
    out = {}
    multi = len(scorers) > 1
    for s in scorers:
        sc = s.get("score") or {}
        lo, hi, init = float(sc.get("min", 0)), float(sc.get("max", 0)), float(sc.get("initial", 0))
        name = str(s.get("name"))
        col = f"score:{name}" if multi else "score"
        if hi <= lo or col not in cit:
            continue
        score = np.asarray(cit[col], np.float64)
        position = (score - lo) / (hi - lo)
        entry: dict = {
            "range": [lo, hi], "initial": init, "mean": float(score.mean()),
            "mean_position": float(position.mean()), "initial_position": (init - lo) / (hi - lo),
            "position_change": float(position.mean() - (init - lo) / (hi - lo)),
            "position_quartiles": [float(q) for q in np.quantile(position, [0.25, 0.5, 0.75])],
            "below_initial_share": float((score < init - 1e-9).mean()),
        }
        names, mins = _tiers(s)
        fp = false_part.get(name)
        truthful = np.clip(score - fp, lo, hi) if fp is not None else score
        if names:
            tier = tier_index(score, mins)
            counts = np.bincount(tier, minlength=len(names)) / len(score)
            below = np.concatenate([np.cumsum(counts[::-1])[::-1][1:], [0.0]])
            entry["tiers"] = {t: {"share": float(c), "share_below": float(b)}
                              for t, c, b in zip(names, counts, below, strict=True)}
            entry["bottom_tier_share"] = float(counts[-1])
            entry["below_initial_tier_share"] = float((tier > tier_index(np.array([init]), mins)[0]).mean())
            worse = tier > tier_index(truthful, mins)
            entry["worse_tier_from_false_share"] = float(worse.mean())
            entry["_worse"] = worse
        entry["lower_from_false_share"] = float((score < truthful - 1e-9).mean())
        out[name] = entry
    return out


def _codes(labels, names: list[str]) -> np.ndarray:
    """Each label's index in `names`, -1 where it is not there (a fetched string column)."""
    labels = np.asarray(labels, dtype=object).astype(str)
    out = np.full(len(labels), -1, np.int64)
    for i, name in enumerate(names):
        out[labels == name] = i
    return out


def false_part(con, ledger: str, scorers: list[dict], n: int) -> dict[str, np.ndarray]:
    """Each citizen's net score change from false records, per scorer: the deltas of ledger rows
    whose record is false (the rule, association from it, its correction or expiry), each shrunk by
    the redemption that followed it (a redemption row gives back a share `keep` of the whole gap,
    false part included). Order effects of caps and bounds are ignored."""
    rows = con.execute(f"SELECT scorer, citizen, day, delta FROM {ledger} WHERE NOT record_true").fetchnumpy()
    if not len(rows["citizen"]):
        return {}
    names = [str(s.get("name")) for s in scorers]
    keep = {}
    for s in scorers:
        red = (s.get("score") or {}).get("redemption")
        if red:
            per_day, period = float(red["per_day"]), int(red.get("period_days", 30))
            keep[str(s["name"])] = 1.0 - (1.0 - per_day) ** period
    scorer = _codes(rows["scorer"], names)
    citizen = np.asarray(rows["citizen"], np.int64)
    day = np.asarray(rows["day"], np.int64)
    delta = np.asarray(rows["delta"], np.float64)
    factor = np.ones(len(citizen))
    if keep:
        red = con.execute(f"SELECT scorer, citizen, day FROM {ledger} WHERE rule = 'redemption' AND citizen IN "
                          f"(SELECT DISTINCT citizen FROM {ledger} WHERE NOT record_true)").fetchnumpy()
        if len(red["citizen"]):
            r_key = np.sort((_codes(red["scorer"], names) * (n + 1) + np.asarray(red["citizen"], np.int64)) * 100_000
                            + np.asarray(red["day"], np.int64))
            key = (scorer * (n + 1) + citizen) * 100_000
            later = np.searchsorted(r_key, key + 100_000) - np.searchsorted(r_key, key + day)
            k = np.array([keep.get(name, 0.0) for name in names] + [0.0])[scorer]  # -1 (unknown): the last, 0
            factor = (1.0 - k) ** later
    out = {}
    for i, name in enumerate(names):
        mine = scorer == i
        if mine.any():
            out[name] = np.bincount(citizen[mine], weights=delta[mine] * factor[mine], minlength=n)
    return out
