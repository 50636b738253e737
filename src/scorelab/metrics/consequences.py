"""What closed and opened doors did (issue 9), split into rightful and wrongful.

Each measure is a mapping {"total", "rightful", "wrongful"} (wrongful: resting on false
records) with, where a count, "per_1000" citizen-years. Keys are defined in docs/METRICS.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorelab.vocabulary import EVENTS

TRIPS = [e.name for e in EVENTS if e.purpose == "trip"]
VISITS = [e.name for e in EVENTS if e.purpose == "visit"]
SALES = [e.name for e in EVENTS if e.purpose == "sale"]


def _q(folder: Path, name: str) -> str:
    return "'" + str(folder / name).replace("'", "''") + "'"


def _split(rightful: float, wrongful: float, citizen_years: float | None = None, digits: int = 4) -> dict:
    out = {"total": rightful + wrongful, "rightful": rightful, "wrongful": wrongful}
    if citizen_years:
        out["per_1000"] = round(1000.0 * (rightful + wrongful) / citizen_years, digits)
    return out


def _outcomes(con, folder: Path, names: list[str], outcome: str) -> tuple[int, int]:
    listed = ", ".join(f"'{n}'" for n in names)
    row = con.execute(f"SELECT coalesce(sum(count) FILTER (WHERE NOT wrongful), 0), "
                      f"coalesce(sum(count) FILTER (WHERE wrongful), 0) FROM {_q(folder, 'event_counts.parquet')} "
                      f"WHERE event_type IN ({listed}) AND outcome = '{outcome}'").fetchone()
    return int(row[0]), int(row[1])


def consequence_measures(con, folder: Path, cit, citizen_years: float, base: Path | None) -> dict:
    """trips_prevented, visits_prevented, income_lost, bankrupt_share, education_lost,
    police_contacts, accounts_closed (and a few companions)."""
    cols = set(cit.column_names)
    if "income_lost" not in cols:  # a run folder written before issue 9
        return {}

    def col(name):
        return cit.column(name).to_numpy(zero_copy_only=False)

    out: dict = {}
    out["trips_prevented"] = _split(*_outcomes(con, folder, TRIPS, "refused"), citizen_years)
    out["trips_substituted"] = _split(*_outcomes(con, folder, TRIPS, "substituted"), citizen_years)
    out["visits_prevented"] = _split(*_outcomes(con, folder, VISITS, "refused"), citizen_years)
    out["sales_prevented"] = _split(*_outcomes(con, folder, SALES, "refused"), citizen_years)
    out["income_lost"] = _split(round(float(col("income_lost").sum()), 2),
                                round(float(col("income_lost_wrongful").sum()), 2))
    out["education_lost"] = _split(int(col("education_lost").sum()), int(col("education_lost_wrongful").sum()),
                                   citizen_years)
    out["police_contacts"] = _split(int(col("police_contacts").sum()), int(col("police_contacts_wrongful").sum()),
                                    citizen_years)
    closed, closed_wrong = col("account_closed"), col("account_closed_wrongful")
    out["accounts_closed"] = _split(int((closed & ~closed_wrong).sum()), int((closed & closed_wrong).sum()),
                                    citizen_years)
    out["bankrupt_share"] = _bankrupt(con, folder, col("suspended_first_day"), col("broke_after_suspension_days"))
    if base is not None and (base / "citizens.parquet").exists():
        import pyarrow.parquet as pq

        b = pq.read_table(base / "citizens.parquet", columns=["expected_income"]).column(0).to_numpy()
        lost = np.maximum(b - col("expected_income"), 0.0)
        barred = (col("education_lost") + col("education_lost_wrongful")) > 0
        out["education_income_lost"] = {
            "children": int(barred.sum()),
            "yuan_per_year": round(float(lost[barred].sum()), 2),
            "description": "expected adult income a year that barred children lose against their baseline selves"}
    return out


def _bankrupt(con, folder: Path, first: np.ndarray, after: np.ndarray) -> dict:
    """S1-M8: of the citizens whose payments were suspended, the share whose accessible money ran
    out within 30 and 90 days of their first suspension ('bankrupt instantly')."""
    suspended = first >= 0
    k = int(suspended.sum())
    if not k:
        return {"suspended": 0, "within_30": None, "within_90": None}
    wrongful = _suspension_wrongful(con, folder, len(first))
    out = {"suspended": k, "suspended_wrongfully": int((suspended & wrongful).sum())}
    for days in (30, 90):
        broke = suspended & (after >= 0) & (after <= days)
        out[f"within_{days}"] = float(broke.sum() / k)
        out[f"within_{days}_wrongful"] = int((broke & wrongful).sum())
    return out


def _suspension_wrongful(con, folder: Path, n: int) -> np.ndarray:
    rows = con.execute(f"SELECT citizen, bool_and(wrongful) FROM {_q(folder, 'measures.parquet')} "
                       f"WHERE effect = 'suspend' GROUP BY 1").fetchall()
    out = np.zeros(n, bool)
    if rows:
        out[np.array([r[0] for r in rows])] = [bool(r[1]) for r in rows]
    return out
