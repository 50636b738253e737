"""The facts behind the report's answers: whom a regime punishes, how often wrongly, what it does to
behaviour, to friendships and family, to money and livelihoods, and to children.

Everything here is an aggregate: the summary's keys (docs/METRICS.md), read defensively because
keys arrive over time (issue 9 adds trips_prevented, income_lost, bankrupt_share, ...), plus a few
GROUP BY queries on the run's tables. The sentences are written by report/templates/answers.html.j2
from these facts, never here. A value may be a plain number or a replication-set entry
{"mean", "sd", "ci95", "n"}; derived numbers use the mean, and a set's table-based facts come from
its first run (said so in the report).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.metrics.groups import FOUR_FIFTHS
from scorelab.metrics.summary import ANTISOCIAL, EXPRESSION
from scorelab.report.render import dig, interval_of, is_replicated, mean_of

if TYPE_CHECKING:
    from scorelab.report.figures import RunData

DESCRIPTION = {e.name: e.description for e in CATALOGUE}
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("whom", "Whom does it punish?"),
    ("wrongly", "How often wrongly?"),
    ("behaviour", "What does it do to behaviour?"),
    ("friendships", "What does it do to friendships and family?"),
    ("money", "What does it do to money and livelihoods?"),
    ("children", "What does it do to children?"),
)
NOTABLE_CHANGE = 0.05   # a relative change in an act worth a sentence ...
NOTABLE_EVENTS = 50     # ... when the baseline had at least this many of it (one run), or its interval excludes 0
SAME_SIZE = 2.0         # benefit and chilling are "of the same size" when neither is twice the other
# Issue 9's consequence measures, each {"total", "rightful", "wrongful"} in the summary when present.
CONSEQUENCES = (
    ("trips_prevented", "trips prevented", "count", "behaviour"),
    ("visits_prevented", "visits prevented", "count", "behaviour"),
    ("police_contacts", "police contacts", "count", "wrongly"),
    ("income_lost", "income lost", "yuan", "money"),
    ("accounts_closed", "bank accounts closed", "count", "money"),
    ("education_lost", "years of education lost", "num", "children"),
)


def _rows(rd: RunData, sql: str) -> list[tuple]:
    try:
        return rd.sql(sql)
    except Exception:  # a table of an older run format: the fact is left out, the answer still written
        return []


def _times(v: Any, k: float) -> float | None:
    m = mean_of(v)
    return None if m is None else m * k


def _citizens(share: Any, n: float) -> int | None:
    """How many citizens a share of n is (shares of whole counts: round away float noise)."""
    x = _times(share, n)
    return None if x is None else int(round(x))


def _split(v: Any) -> dict | None:
    """An issue-9 consequence {"total", "rightful", "wrongful"} (each a number or a set entry), or None."""
    if not isinstance(v, dict) or is_replicated(v) or mean_of(v.get("total")) is None:
        return None
    return {k: v.get(k) for k in ("total", "rightful", "wrongful")}


# ============================================================================ per question
def _whom(rd: RunData, s: dict) -> dict:
    n = rd.n
    punitive = [p.split(":", 1)[1] if not rd.multi else p for p in rd.manifest.get("punitive_lists", [])]
    shares = s.get("listed_share") or {}
    lists = [{"name": k, "share": v, "count": _citizens(v, n)} for k, v in shares.items()
             if k in punitive and (mean_of(v) or 0) > 0]
    lists.sort(key=lambda x: -(mean_of(x["share"]) or 0))
    decile = dig(s, "by_group", "groups", "income_decile") or {}
    listed_any = None
    if decile:
        total = sum(mean_of(g.get("citizens")) or 0 for g in decile.values())
        listed = sum((mean_of(g.get("listed_share")) or 0) * (mean_of(g.get("citizens")) or 0) for g in decile.values())
        listed_any = listed / total if total else None
    rates = {k.split(":", 1)[1] if ":" in k and not rd.multi else k: v
             for k, v in (s.get("sanctions_per_1000") or {}).items()}
    top = sorted(rates.items(), key=lambda kv: -(mean_of(kv[1]) or 0))[:3]
    groups = []
    for dim, label in (("age_band", "age band"), ("income_decile", "income decile")):
        rows = dig(s, "by_group", "groups", dim) or {}
        # where children (0-17) cannot be listed, the comparison is among those who can be
        adults = dim == "age_band" and mean_of((rows.get("0-17") or {}).get("listed_share")) == 0
        ranked = [(g, r) for g, r in rows.items()
                  if mean_of(r.get("listed_share")) is not None and not (adults and g == "0-17")]
        if len(ranked) < 2:
            continue
        ranked.sort(key=lambda gr: mean_of(gr[1]["listed_share"]))
        lo, hi = ranked[0], ranked[-1]
        di = dig(s, "by_group", "disparate_impact", dim, "listing") or {}
        groups.append({
            "dimension": label, "adults": adults, "high": hi[0], "high_share": hi[1]["listed_share"],
            "high_count": _citizens(hi[1]["listed_share"], mean_of(hi[1].get("citizens")) or 0),
            "high_citizens": hi[1].get("citizens"), "low": lo[0], "low_share": lo[1]["listed_share"],
            "ratio": di.get("ratio"), "fails": mean_of(di.get("ratio")) is not None
            and mean_of(di.get("ratio")) < FOUR_FIFTHS,
        })
    return {"lists": lists, "listed_any": listed_any,
            "listed_any_count": None if listed_any is None else int(round(listed_any * n)),
            "sanctions": s.get("sanctions_total"), "sanctions_rate": _total(s.get("sanctions_per_1000")),
            "top": [{"name": k, "rate": v} for k, v in top if (mean_of(v) or 0) > 0], "groups": groups}


def _total(per: dict | None) -> float | None:
    if not per:
        return None if per is None else 0.0
    return sum(mean_of(v) or 0 for v in per.values())


def _wrongly(rd: RunData, s: dict) -> dict:
    share, total = s.get("wrongful_sanction_share"), s.get("sanctions_total")
    wl = s.get("wrongly_listed_share")
    return {"share": share, "count": None if is_replicated(share) else _citizens(share, mean_of(total) or 0),
            "sanctions": total, "false_records": s.get("false_records"), "listed_share": wl,
            "listed_count": None if is_replicated(wl) else _citizens(wl, rd.n),
            "appeal_rate": s.get("appeal_rate"), "correction_rate": s.get("correction_rate"),
            "uncorrected": s.get("wrongful_sanctions_uncorrected_share"),
            "police": _split(s.get("police_contacts"))}


def _behaviour(rd: RunData, s: dict) -> dict:
    benefit, chilling = s.get("antisocial_change"), s.get("expression_change")
    b, c = mean_of(benefit), mean_of(chilling)
    balance = None
    if b is not None and c is not None and (b < 0 or c < 0):
        big, small = max(abs(min(b, 0)), abs(min(c, 0))), min(abs(min(b, 0)), abs(min(c, 0)))
        if small == 0 or big / small > SAME_SIZE:
            balance = "benefit" if abs(min(b, 0)) > abs(min(c, 0)) else "chilling"
        else:
            balance = "same"
    counts = _baseline_counts(rd)
    notable = []
    for event, v in (s.get("behaviour_change") or {}).items():
        m = mean_of(v)
        if m is None or abs(m) < NOTABLE_CHANGE or (event not in ANTISOCIAL and event not in EXPRESSION):
            continue
        ci = interval_of(v)
        if ci is not None:
            if ci[0] <= 0 <= ci[1]:
                continue
        elif counts.get(event, 0) < NOTABLE_EVENTS:
            continue
        kind = "antisocial" if event in ANTISOCIAL else "expression"
        adverse = (kind == "antisocial" and m > 0) or (kind == "expression" and m < 0)
        notable.append({"event": event, "description": DESCRIPTION.get(event, event), "change": v, "kind": kind,
                        "adverse": adverse, "baseline_events": counts.get(event)})
    notable.sort(key=lambda x: (not x["adverse"], -abs(mean_of(x["change"]))))
    learned = s.get("citizens_who_learned")
    if learned is None:
        learned = dig(rd.manifest, "economy", "citizens_who_learned")
    return {"benefit": benefit, "chilling": chilling, "balance": balance, "notable": notable[:6],
            "learned": learned, "has_baseline": b is not None or c is not None,
            "trips": _split(s.get("trips_prevented")), "visits": _split(s.get("visits_prevented"))}


def _baseline_counts(rd: RunData) -> dict[str, int]:
    b = rd.baseline
    if b is None:
        return {}
    return {e: int(k) for e, k in _rows(b, f"SELECT event_type, sum(count) FROM {b.table('event_counts')} GROUP BY 1")}


def _friendships(rd: RunData, s: dict) -> dict:
    net = s.get("network") or {}
    collateral = net.get("collateral_share")
    listed, others = net.get("mean_degree_lost_listed"), net.get("mean_degree_lost_others")
    lm, om = mean_of(listed), mean_of(others)
    return {"collateral": collateral,
            "collateral_count": None if is_replicated(collateral) else _citizens(collateral, rd.n),
            "lost_listed": listed, "lost_others": others,
            "ratio": lm / om if lm is not None and om else None, "ties_cut": net.get("ties_cut"),
            "isolated": net.get("listed_isolated_share"), "household": _household_measures(rd)}


def _household_measures(rd: RunData) -> int:
    """Sanctions that fell on a household member because of someone else (S1-M6)."""
    rows = _rows(rd, f"SELECT count(*) FROM {rd.table('measures')} WHERE kind = 'sanction' "
                     "AND cause_citizen >= 0 AND cause_citizen <> citizen")
    return int(rows[0][0]) if rows else 0


def _money(rd: RunData, s: dict) -> dict:
    by_kind = s.get("money_by_kind") or {}
    gini = s.get("gini") or {}
    dw = [mean_of(gini.get("wealth")), mean_of(gini.get("wealth_baseline"))]
    out = {"taken": by_kind.get("sanction"), "given": by_kind.get("reward"), "wealth": wealth_change(rd),
           "dismissed": _count(rd, "effect = 'dismiss'"), "suspended": _count(rd, "effect = 'suspend'"),
           "unemployed": _unemployed(rd),
           "gini_change": dw[0] - dw[1] if None not in dw else None, "gini": gini.get("wealth"),
           "gini_baseline": gini.get("wealth_baseline"),
           "income_lost": _split(s.get("income_lost")), "accounts_closed": _split(s.get("accounts_closed")),
           "bankrupt": s.get("bankrupt_share") if isinstance(s.get("bankrupt_share"), dict) else None}
    return out


def _count(rd: RunData, where: str) -> int:
    rows = _rows(rd, f"SELECT count(*) FROM {rd.table('measures')} WHERE kind = 'sanction' AND {where}")
    return int(rows[0][0]) if rows else 0


def _unemployed(rd: RunData) -> dict | None:
    b = rd.baseline
    if b is None or "unemployed" not in rd.daily or "unemployed" not in b.daily or not len(rd.daily["unemployed"]):
        return None
    return {"run": int(rd.daily["unemployed"][-1]), "baseline": int(b.daily["unemployed"][-1])}


WEALTH_GROUPS = (("sanctioned", "sanctioned at least once"), ("listed", "ever on a punitive list"),
                 ("dismissed", "lost a job to a sanction"), ("others", "never sanctioned or listed"))


@functools.lru_cache(maxsize=16)
def _wealth_change(folder: str, baseline: str, listed_sql: str) -> tuple:
    from scorelab.report.figures import run_data

    rd, b = run_data(folder), run_data(baseline)
    rows = _rows(rd, f"""
        WITH s AS (SELECT DISTINCT citizen FROM {rd.table('measures')} WHERE kind = 'sanction'),
             d AS (SELECT DISTINCT citizen FROM {rd.table('measures')} WHERE kind = 'sanction' AND effect = 'dismiss'),
             c AS (SELECT r.citizen, r.savings - b.savings AS dsav, r.income_final - b.income_final AS dinc,
                          s.citizen IS NOT NULL AS sanctioned, d.citizen IS NOT NULL AS dismissed,
                          ({listed_sql}) AS listed
                   FROM {rd.table('citizens')} r JOIN {b.table('citizens')} b USING (citizen)
                   LEFT JOIN s USING (citizen) LEFT JOIN d USING (citizen))
        SELECT count(*) FILTER (WHERE sanctioned), avg(dsav) FILTER (WHERE sanctioned),
               avg(dinc) FILTER (WHERE sanctioned),
               count(*) FILTER (WHERE listed), avg(dsav) FILTER (WHERE listed), avg(dinc) FILTER (WHERE listed),
               count(*) FILTER (WHERE dismissed), avg(dsav) FILTER (WHERE dismissed),
               avg(dinc) FILTER (WHERE dismissed),
               count(*) FILTER (WHERE NOT (sanctioned OR listed)), avg(dsav) FILTER (WHERE NOT (sanctioned OR listed)),
               avg(dinc) FILTER (WHERE NOT (sanctioned OR listed))
        FROM c""")
    return tuple(rows[0]) if rows else ()


def wealth_change(rd: RunData) -> list[dict] | None:
    """Mean change in savings and income of the sanctioned, the listed, the dismissed and everyone else,
    each against their own selves in the paired baseline (same citizens, same random numbers)."""
    b = rd.baseline
    if b is None:
        return None
    cols = rd.punitive_columns()
    listed = " OR ".join('r."' + c.replace('"', '""') + '"' for c in cols) if cols else "false"
    row = _wealth_change(str(rd.folder), str(b.folder), listed)
    if not row:
        return None
    out = []
    for i, (key, label) in enumerate(WEALTH_GROUPS):
        n, dsav, dinc = row[3 * i: 3 * i + 3]
        out.append({"group": key, "label": label, "citizens": int(n or 0), "savings": dsav, "income": dinc})
    return out


def _children(rd: RunData, s: dict) -> dict:
    rows = _rows(rd, f"""SELECT measure, wrongful, count(*) FROM {rd.table('measures')}
                         WHERE kind = 'sanction' AND domain = 'education' AND cause_citizen >= 0
                           AND cause_citizen <> citizen GROUP BY ALL ORDER BY ALL""")
    by: dict[str, dict[str, int]] = {}
    for measure, wrong, k in rows:
        name = measure.split(":", 1)[1] if ":" in measure and not rd.multi else measure
        cell = by.setdefault(name, {"rightful": 0, "wrongful": 0})
        cell["wrongful" if wrong else "rightful"] += int(k)
    young = dig(s, "by_group", "groups", "age_band", "0-17") or {}
    return {"barred_rate": s.get("children_barred"), "barred": by,
            "barred_total": sum(v["rightful"] + v["wrongful"] for v in by.values()),
            "barred_wrongful": sum(v["wrongful"] for v in by.values()),
            "young_sanctions_rate": young.get("sanctions_per_1000"), "young_citizens": young.get("citizens"),
            "education_lost": _split(s.get("education_lost"))}


# ============================================================================ the facts
def run_facts(rd: RunData) -> dict:
    """Every fact the answers of one run (or replication set) need, by question."""
    s = rd.summary
    return {
        "run_id": rd.run_id, "regime": s.get("regime") or rd.manifest.get("regime", {}).get("name"),
        "citizens": rd.n, "days": rd.days, "is_set": rd.is_set, "set_runs": rd.set_runs,
        "baseline": s.get("baseline"),
        "whom": _whom(rd, s), "wrongly": _wrongly(rd, s), "behaviour": _behaviour(rd, s),
        "friendships": _friendships(rd, s), "money": _money(rd, s), "children": _children(rd, s),
        "consequences": [{"key": k, "label": label, "style": style, "question": q, "value": _split(s.get(k))}
                         for k, label, style, q in CONSEQUENCES if _split(s.get(k)) is not None],
    }
