"""A run's headline measures, computed from its folder alone (keys in docs/METRICS.md).

Everything here reads the run's tables with DuckDB and pyarrow, so a summary can be remade
for any run on disk, and compared with its paired baseline run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.metrics.consequences import consequence_measures
from scorelab.metrics.groups import ADULT_AGE, by_group
from scorelab.metrics.inequality import gini_of, mobility
from scorelab.metrics.poverty import poverty_trap
from scorelab.metrics.scores import false_part, regime_scorers, score_footing
from scorelab.store.runfolder import read_manifest

PUNITIVE = ("black", "gray", "watch", "no_fly")
LONG_LISTED_DAYS = 365
DEFAULT_POVERTY_LINE = 500.0  # yuan: the default marginals' min_balance, if the manifest's society names none

ANTISOCIAL = [e.name for e in CATALOGUE if e.antisocial]
EXPRESSION = [e.name for e in CATALOGUE if e.expression]
OFFENCES = [e.name for e in CATALOGUE if e.polarity < 0 and e.category != "attempt"]


def _q(folder: Path, name: str) -> str:
    return "'" + str(folder / name).replace("'", "''") + "'"


def summarize(folder: Path, baseline_folder: Path | None = None, citizens: pa.Table | None = None) -> dict:
    """`baseline_folder`: where the paired baseline is, if not beside the run (a run being written);
    `citizens`: the table just written to citizens.parquet, still in memory (not read back)."""
    m = read_manifest(folder)
    n = int(m["society"]["citizens"])
    days = int(m["days"])
    citizen_years = n * days / 365.0
    con = duckdb.connect()
    out: dict = {
        "run_id": m["run_id"], "regime": m["regime"]["name"], "citizens": n, "days": days, "seed": m["seed"],
        "baseline": m.get("baseline"), "wall_seconds": m.get("wall_seconds"),
        "agent_days_per_second": m.get("agent_days_per_second"),
    }
    counts = {r[0]: r[1] for r in con.execute(
        f"SELECT event_type, sum(count) FROM {_q(folder, 'event_counts.parquet')} GROUP BY 1").fetchall()}
    out["events"] = int(sum(counts.values()))
    rec = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT record_true) FROM "
                      f"{_q(folder, 'records.parquet')}").fetchone()
    out["records_kept"] = int(rec[0])
    out["false_records"] = int(rec[1])
    offences = sum(counts.get(e, 0) for e in OFFENCES)
    caught = con.execute(
        f"SELECT count(DISTINCT event_id) FROM {_q(folder, 'records.parquet')} WHERE record_true AND "
        f"event_type IN ({', '.join(repr(e) for e in OFFENCES)})").fetchone()[0]
    out["missed_offence_share"] = 1.0 - caught / offences if offences else None
    out["ledger_rows"] = int(m["rows"]["ledger"])

    measures = con.execute(
        f"SELECT kind, measure, count(*), count(*) FILTER (WHERE wrongful) FROM {_q(folder, 'measures.parquet')} "
        f"GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    per = {"sanction": {}, "reward": {}, "response": {}}
    totals = {"sanction": [0, 0], "reward": [0, 0], "response": [0, 0]}
    for kind, name, k, wrong in measures:
        per[kind][name] = round(1000.0 * k / citizen_years, 4)
        totals[kind][0] += k
        totals[kind][1] += wrong
    out["sanctions_per_1000"] = per["sanction"]
    out["rewards_per_1000"] = per["reward"]
    out["responses_per_1000"] = per["response"]
    out["sanctions_total"] = totals["sanction"][0]
    out["rewards_total"] = totals["reward"][0]
    out["wrongful_sanctions"] = totals["sanction"][1]
    out["wrongful_rewards"] = totals["reward"][1]
    out["wrongful_sanction_share"] = (totals["sanction"][1] / totals["sanction"][0]
                                      if totals["sanction"][0] else None)
    out["wrongful_reward_share"] = totals["reward"][1] / totals["reward"][0] if totals["reward"][0] else None
    [(falsely,)] = con.execute(f"SELECT count(DISTINCT citizen) FROM {_q(folder, 'records.parquet')} "
                               f"WHERE NOT record_true").fetchall()
    out["falsely_recorded_share"] = falsely / n

    cit = citizens if citizens is not None else pq.read_table(folder / "citizens.parquet")
    cols = cit.column_names
    out["listed_share"] = {c[5:]: float(np.mean(cit.column(c).to_numpy())) for c in cols if c.startswith("ever:")}
    wrong_cols = [c for c in cols if c.startswith("wrongly:")]
    if wrong_cols:
        any_wrong = np.zeros(n, bool)
        for c in wrong_cols:
            any_wrong |= cit.column(c).to_numpy()
        out["wrongly_listed_share"] = float(any_wrong.mean())
    else:
        out["wrongly_listed_share"] = 0.0
    if "score" in cols and m["scorers"]:
        out["tier_share"] = {t: k / n for t, k in _sums_by_label(cit.column("tier")).items()}
    cohort_n = _register_cohort(con, m, n)
    out["ledger_cohort_citizens"] = cohort_n
    scorers = regime_scorers(folder)
    score_cols = {c: cit.column(c).to_numpy() for c in cols if c == "score" or c.startswith("score:")}
    footing = score_footing(scorers, score_cols, false_part(con, _q(folder, "ledger.parquet"), scorers, n))
    worse = np.zeros(n, bool)
    for entry in footing.values():
        worse |= entry.pop("_worse", np.zeros(n, bool))
    out["scores"] = footing
    out["worse_tier_from_false_share"] = float(worse.mean()) if any("tiers" in e for e in footing.values()) \
        else None
    fb = cit.column("first_below_day").to_numpy() if "first_below_day" in cit.column_names else None
    rd = cit.column("redeemed_day").to_numpy() if "redeemed_day" in cit.column_names else None
    out.update(_ways_back(con, folder, days, fb, rd))
    base = (baseline_folder or folder.parent / m["baseline"]) if m.get("baseline") else None
    base_ok = base is not None and (base / "manifest.json").exists()
    out.update(_harm_and_inequality(con, folder, m, cit, citizen_years, base if base_ok else None))
    out.update(consequence_measures(con, folder, cit, citizen_years, base if base_ok else None))
    out["behaviour_change"] = None
    if base_ok:
        out.update(_behaviour_change(con, counts, base))
    out["citizens_who_learned"] = (m.get("economy") or {}).get("citizens_who_learned")
    con.close()
    return out


def _label_codes(labels: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """A label column as (an integer code per row, the names): a dictionary column through its own
    codes, not as a Python string per row (10 million of them at 10M citizens, issue 12)."""
    if pa.types.is_dictionary(labels.type) and labels.null_count == 0:
        column = pa.table({"x": labels}).unify_dictionaries().column("x").combine_chunks()
        return column.indices.to_numpy(zero_copy_only=False), [str(k) for k in column.dictionary.to_pylist()]
    names, code = np.unique(labels.to_numpy(zero_copy_only=False).astype(str), return_inverse=True)
    return code, [str(k) for k in names]


def _sums_by_label(labels: pa.ChunkedArray, values: np.ndarray | None = None) -> dict[str, float]:
    """{label: sum of its values (default: its count)}, labels in sorted order, each sum in file
    order; labels that no row has are left out."""
    codes, names = _label_codes(labels)
    k = len(names)
    counts = np.bincount(codes, minlength=k)
    sums = np.bincount(codes, values, k) if values is not None else counts.astype(float)
    used = counts > 0
    return {names[i]: float(sums[i]) for i in sorted(range(k), key=names.__getitem__) if used[i]}


def _as_strings(labels: pa.ChunkedArray) -> np.ndarray:
    """A label column as a NumPy string array (fixed width: no Python object per row)."""
    codes, names = _label_codes(labels)
    return np.array(names)[codes]


def _harm_and_inequality(con, folder: Path, m: dict, cit, citizen_years: float, base: Path | None) -> dict:
    """Issue 4: inequality, mobility, poverty traps, network, children, groups."""
    n, days = int(m["society"]["citizens"]), int(m["days"])
    c = {name: cit.column(name).to_numpy(zero_copy_only=False) for name in
         ("citizen", "score", "income", "income_final", "savings", "age", "income_decile", "urban",
          "days_bottom_tier") if name in cit.column_names}
    c["sex"] = _as_strings(cit.column("sex"))
    base_cit = pq.read_table(base / "citizens.parquet", columns=["score", "income_final", "savings"]) \
        if base is not None else None  # only what the Gini coefficients read, not the whole table

    def base_gini(col):
        return gini_of(base_cit.column(col).to_numpy()) if base_cit is not None else None

    first = next(iter(regime_scorers(folder)), None)
    base_score = None
    if base_cit is not None and _has_scorer(base):
        base_score = gini_of(_position(base_cit.column("score").to_numpy(), next(iter(regime_scorers(base)), None)))
    out: dict = {"gini": {
        "score": gini_of(_position(c["score"], first)) if m["scorers"] else None, "score_baseline": base_score,
        "income": gini_of(c["income_final"]), "income_baseline": base_gini("income_final"),
        "wealth": gini_of(c["savings"]), "wealth_baseline": base_gini("savings")}}
    out["mobility"] = mobility(m.get("tiers", {}))
    punitive = [name for name in m.get("punitive_lists", [])]
    listed_days = np.zeros(n, np.int64)
    listed = np.zeros(n, bool)
    if punitive:
        names = ", ".join("'" + p.replace("'", "''") + "'" for p in punitive)
        rows = con.execute(f"""
            WITH e AS (SELECT citizen, list, day, action FROM {_q(folder, 'list_events.parquet')}
                       WHERE list IN ({names})),
                 iv AS (SELECT citizen, list, action, day AS start,
                               lead(day) OVER (PARTITION BY citizen, list ORDER BY day, action) AS stop FROM e)
            SELECT citizen, max(total) FROM (SELECT citizen, list, sum(coalesce(stop, {days}) - start) AS total
                                             FROM iv WHERE action = 'enter' GROUP BY 1, 2) GROUP BY 1""").fetchall()
        if rows:
            idx = np.array([r[0] for r in rows])
            listed_days[idx] = [r[1] for r in rows]
            listed[idx] = True
    bottom = c.get("days_bottom_tier", np.zeros(n))
    out["long_listed_share"] = float((np.maximum(listed_days, bottom) >= LONG_LISTED_DAYS).mean())
    out["long_listed_days"] = LONG_LISTED_DAYS
    out["network"] = dict(m.get("network", {}))
    if "penalised_by_association" in cit.column_names:
        collateral = cit.column("penalised_by_association").to_numpy() & ~cit.column("penalised_own").to_numpy()
        out["network"]["collateral_share"] = float(collateral.mean())
    else:
        out["network"]["collateral_share"] = None
    children = con.execute(
        f"SELECT count(*) FROM {_q(folder, 'measures.parquet')} WHERE kind = 'sanction' AND domain = 'education' "
        f"AND cause_citizen <> citizen").fetchone()[0]
    out["children_barred"] = 1000.0 * children / citizen_years
    # float sums in a fixed order (file order), not DuckDB's parallel sum, whose order follows the threads
    mk = pq.read_table(folder / "measures.parquet", columns=["kind", "money"]).unify_dictionaries()
    money = np.nan_to_num(mk.column("money").to_numpy(zero_copy_only=False).astype(np.float64))
    out["money_by_kind"] = _sums_by_label(mk.column("kind"), money)
    per = con.execute(f"SELECT citizen, count(*), count(*) FILTER (WHERE wrongful) FROM "
                      f"{_q(folder, 'measures.parquet')} WHERE kind = 'sanction' GROUP BY 1").fetchall()
    sanctions = np.zeros(n)
    wrongful = np.zeros(n)
    if per:
        idx = np.array([r[0] for r in per])
        sanctions[idx] = [r[1] for r in per]
        wrongful[idx] = [r[2] for r in per]
    adult = c["age"] >= ADULT_AGE
    base_m = read_manifest(base) if base is not None else None
    trap = poverty_trap(con, folder, m, base, base_m, sanctions > 0, adult, _poverty_line(m, folder))
    out["poverty_trap"] = trap
    out["poverty_trap_share"] = trap["pushed_sanctioned_share"]
    group_cols = {k: c[k] for k in ("age", "income_decile", "urban", "sex", "score", "savings")}
    out["by_group"] = by_group(group_cols, listed, sanctions, wrongful, citizen_years / n,
                               refusals=_refusals(con, folder, n))
    return out


def _position(score: np.ndarray, scorer: dict | None) -> np.ndarray:
    """A score as its position in the regime's own range (0 bottom, 1 top), for a Gini on a common footing."""
    sc = (scorer or {}).get("score") or {}
    lo, hi = float(sc.get("min", 0)), float(sc.get("max", 0))
    return (score - lo) / (hi - lo) if hi > lo else np.zeros(len(score))


def _has_scorer(folder: Path) -> bool:
    return bool(read_manifest(folder).get("scorers"))


def _poverty_line(m: dict, folder: Path | None = None) -> float:
    from scorelab.society.marginals import load_marginals, value

    try:
        if folder is not None and (folder / "world.yaml").is_file():  # the run's own world (and its reform)
            return value(load_marginals(str(folder / "world.yaml"))["economy"]["min_balance"])
        return value(load_marginals(m["society"].get("marginals") or "census2020")["economy"]["min_balance"])
    except Exception:  # a hand-made society names no marginals file: the default's line
        return DEFAULT_POVERTY_LINE


def _refusals(con, folder: Path, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Per gate event type with a refusing sanction: attempts and refused attempts per citizen, from
    events.parquet (attempts are written with `--events all`); None when the attempts are not there.
    A refused attempt is counted once however many sanctions refused it (the largest count of rows of
    one refusing measure for that citizen, day and event type, at most the attempts)."""
    gates = sorted({str(m_["gate"]) for s in regime_scorers(folder) for m_ in (s.get("sanctions") or [])
                    if m_.get("gate") and m_.get("effect", "refuse") == "refuse"})
    if not gates or not (folder / "events.parquet").exists():
        return None
    names = ", ".join(repr(g) for g in gates)
    rows = con.execute(
        f"WITH a AS (SELECT event_type, citizen, day, count(*) AS k FROM {_q(folder, 'events.parquet')} "
        f"WHERE event_type IN ({names}) GROUP BY 1, 2, 3), "
        f"r AS (SELECT event_type, citizen, day, max(k) AS k FROM (SELECT event_type, citizen, day, measure, "
        f"count(*) AS k FROM {_q(folder, 'measures.parquet')} WHERE kind = 'sanction' AND effect = 'refuse' "
        f"AND event_type IN ({names}) GROUP BY 1, 2, 3, 4) GROUP BY 1, 2, 3) "
        f"SELECT a.event_type, a.citizen, sum(a.k) AS made, sum(least(coalesce(r.k, 0), a.k)) AS refused "
        f"FROM a LEFT JOIN r "
        f"USING (event_type, citizen, day) GROUP BY 1, 2").fetchnumpy()
    if not len(rows["citizen"]):
        return None
    etypes = np.asarray(rows["event_type"]).astype(str)
    cit = np.asarray(rows["citizen"]).astype(np.int64)
    made, refused = np.asarray(rows["made"], np.float64), np.asarray(rows["refused"], np.float64)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for etype in np.unique(etypes):  # one row per (event type, citizen): plain assignment
        sel = etypes == etype
        a, r = np.zeros(n), np.zeros(n)
        a[cit[sel]] = made[sel]
        r[cit[sel]] = refused[sel]
        out[str(etype)] = (a, r)
    return out


def _behaviour_change(con, counts: dict, base: Path) -> dict:
    """Relative change of each event type's count against the paired baseline run."""
    base_counts = {r[0]: r[1] for r in con.execute(
        f"SELECT event_type, sum(count) FROM {_q(base, 'event_counts.parquet')} GROUP BY 1").fetchall()}
    change = {}
    for e, b in base_counts.items():
        if b:
            change[e] = round((counts.get(e, 0) - b) / b, 5)

    def total(names):
        b = sum(base_counts.get(e, 0) for e in names)
        return (sum(counts.get(e, 0) for e in names) - b) / b if b else None

    return {"behaviour_change": change, "antisocial_change": total(ANTISOCIAL),
            "expression_change": total(EXPRESSION)}


def _register_cohort(con, m: dict, n: int) -> int:
    """Ledger-based measures use the citizens whose ledger rows were kept (all, or a cohort)."""
    import pyarrow as pa

    from scorelab.streams import stream

    led = m.get("ledger", {})
    if led.get("policy") == "cohort":
        keep = stream(int(m["seed"]), led.get("cohort_stream", "ledger.cohort")).random(n) < led["cohort_share"]
        ids = np.flatnonzero(keep).astype(np.int32)
    else:
        ids = np.arange(n, dtype=np.int32)
    con.register("cohort", pa.table({"citizen": ids}))
    return len(ids)


COHORT = "citizen IN (SELECT citizen FROM cohort)"


def _ways_back(con, folder: Path, days: int, first_below=None, redeemed_day=None) -> dict:
    """Issue 5: appeals, corrections and redemption (from the ledger, appeals and measures)."""
    ledger, appeals, measures = (_q(folder, f) for f in ("ledger.parquet", "appeals.parquet", "measures.parquet"))
    appeals = f"(SELECT * FROM {appeals} WHERE {COHORT})"
    measures = f"(SELECT * FROM {measures} WHERE {COHORT})"
    own = "channel NOT IN ('association', 'time') AND rule NOT LIKE '%:appeal:%'"
    penalising, false_penalising = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT record_true) FROM {ledger} WHERE {own} AND delta < 0"
    ).fetchone()
    filed, corrected, corrected_false, delay = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE success AND day_decided < {days}), "
        f"count(*) FILTER (WHERE success AND day_decided < {days} AND NOT record_true), "
        f"avg(day_decided - day_filed) FILTER (WHERE success AND day_decided < {days}) "
        f"FROM {appeals} WHERE kind = 'record'").fetchone()
    wrongful, uncorrected = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE c.citizen IS NULL) FROM {measures} m LEFT JOIN "
        f"(SELECT DISTINCT citizen FROM {appeals} WHERE kind = 'record' AND success AND day_decided < {days}) c "
        f"ON m.cause_citizen = c.citizen WHERE m.kind = 'sanction' AND m.wrongful").fetchone()
    fell = recovered = 0
    mean_days = None
    if first_below is not None:
        down = first_below >= 0
        up = down & (redeemed_day >= 0)
        fell, recovered = int(down.sum()), int(up.sum())
        mean_days = float((redeemed_day[up] - first_below[up]).mean()) if recovered else None
    return {
        "appeal_rate": filed / penalising if penalising else None,
        "false_penalising_rows": int(false_penalising),
        "false_records_corrected": int(corrected_false),
        "correction_rate": corrected_false / false_penalising if false_penalising else None,
        "records_corrected": int(corrected),
        "days_to_correction": float(delay) if delay is not None else None,
        "days_to_redemption": float(mean_days) if mean_days is not None else None,
        "redeemed_share": recovered / fell if fell else None,
        "wrongful_sanctions_uncorrected": int(uncorrected),
        "wrongful_sanctions_uncorrected_share": uncorrected / wrongful if wrongful else None,
    }
