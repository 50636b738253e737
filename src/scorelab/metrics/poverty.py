"""The poverty trap in money (issue 10): adults whose savings stayed under the poverty line for half
a year, against the same citizens in the paired baseline run, with the regime's sanctions as cause.

The line is the economy's minimum balance (`min_balance`, 500 yuan in the default marginals): at
each citizen's monthly turnover an adult left under it has a `min_balance_breach` event, which the
run writes to events.parquet (unless the run was made with `--events none`). A citizen is in the
trap when TRAP_MONTHS turnovers in a row ended under the line: six, not twelve, because in a
one-year run a year-long stay is only possible for those already poor on the first day. The run
and its baseline share the society and the random numbers, so a citizen trapped in the run and not
in the baseline is one the regime put there; among them, those it sanctioned are the trap's victims.
Months under the line are counted too, as a flow beside the trap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRAP_MONTHS = 6
MONTH_DAYS = 30  # the economy turns each citizen's month over every 30 days (consequences/economy.py)


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def trapped(con, folder: Path, n: int) -> np.ndarray | None:
    """Who had TRAP_MONTHS breaches in a row; None if the run's events were not written."""
    streaks = _streaks(con, folder, n)
    return None if streaks is None else streaks[0] >= TRAP_MONTHS


def _streaks(con, folder: Path, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per citizen: the longest run of monthly turnovers under the line, and the months under it."""
    events = folder / "events.parquet"
    if not events.exists():
        return None
    rows = con.execute(f"""
        WITH b AS (SELECT DISTINCT citizen, day FROM {_q(events)} WHERE event_type = 'min_balance_breach'),
             s AS (SELECT citizen, day - {MONTH_DAYS} * row_number() OVER (PARTITION BY citizen ORDER BY day) AS streak
                   FROM b),
             k AS (SELECT citizen, count(*) AS months FROM s GROUP BY citizen, streak)
        SELECT citizen, max(months), sum(months) FROM k GROUP BY citizen""").fetchall()
    longest, months = np.zeros(n, np.int64), np.zeros(n, np.int64)
    if rows:
        idx = np.array([r[0] for r in rows])
        longest[idx] = [r[1] for r in rows]
        months[idx] = [r[2] for r in rows]
    return longest, months


def poverty_trap(con, folder: Path, manifest: dict, base: Path | None, base_manifest: dict | None,
                 sanctioned: np.ndarray, adult: np.ndarray, line: float) -> dict:
    """Shares of adults (see the module docstring); null where the events needed were not written."""
    n = len(adult)
    adults = max(int(adult.sum()), 1)
    out: dict = {"line_yuan": line, "months": TRAP_MONTHS, "share": None, "baseline_share": None,
                 "excess_share": None, "pushed_share": None, "pushed_sanctioned_share": None, "escaped_share": None,
                 "months_under_line_per_adult": None, "excess_months_per_1000_adults": None,
                 "excess_months_sanctioned_per_1000_adults": None}
    if manifest.get("events_written", "notable") == "none":
        return out
    got = _streaks(con, folder, n)
    if got is None:
        return out
    run, run_months = got[0] >= TRAP_MONTHS, got[1]
    out["share"] = float((run & adult).sum() / adults)
    out["months_under_line_per_adult"] = float(run_months[adult].sum() / adults)
    if base is None or (base_manifest or {}).get("events_written", "notable") == "none":
        return out
    got = _streaks(con, base, n)
    if got is None:
        return out
    baseline, base_months = got[0] >= TRAP_MONTHS, got[1]
    pushed = run & ~baseline & adult
    extra = np.where(adult, run_months - base_months, 0)
    out.update(baseline_share=float((baseline & adult).sum() / adults),
               excess_share=float(((run & adult).sum() - (baseline & adult).sum()) / adults),
               pushed_share=float(pushed.sum() / adults),
               pushed_sanctioned_share=float((pushed & sanctioned).sum() / adults),
               escaped_share=float((baseline & ~run & adult).sum() / adults),
               excess_months_per_1000_adults=float(1000.0 * extra.sum() / adults),
               excess_months_sanctioned_per_1000_adults=float(1000.0 * extra[sanctioned].sum() / adults))
    return out
