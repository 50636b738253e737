"""Illustrative citizens: the people behind a run's numbers, each with a full explanation.

Aggregates hide who is hurt and how. Each criterion below picks the citizen who shows it most
clearly (ties go to the lowest id, so the choice is deterministic) and explains them with
scorelab.ledger.explain. A criterion no citizen meets is kept in the list with `citizen: None`
and a note saying so, rather than silently dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np

import scorelab
from scorelab.ledger.explain import RegimeInfo, _rows, _sql_path, explain_many, regime_info
from scorelab.ledger.score_paths import LedgerColumns, ScorePaths, score_paths, union_lengths
from scorelab.store.runfolder import read_manifest

TRAP_DAYS = 365
EPS = 1e-9  # points: float noise in summed deltas (redemption only approaches the initial score)

CRITERIA = {
    "false_records": "sanctioned most on false records (sanctions that rested on false records)",
    "association_only": "penalised by association only (S1-M7): points lost for others' records, none for own",
    "redeemed": "redeemed: fell below the initial score and climbed back to it, or left a punitive list "
                "by tier recovery or appeal",
    "poverty_trap": f"caught in a poverty trap: on a punitive list or in the bottom tier for {TRAP_DAYS}+ days "
                    "(or the longest if no one reaches that)",
    "most_rewarded": "most rewarded (reward measures received)",
}


CACHE = "stories.json"  # written into the run folder the first time its stories are asked for


def stories(folder: Path) -> list[dict]:
    """One entry per criterion: criterion, description, citizen, value, why, explanation (or a note).

    Picking them reads the whole ledger (3-4 s at 1M citizens, the report's largest part), so the first call
    keeps them in the run folder's stories.json and later calls read that (issue 12). A run folder
    does not change once published; the cache names the scorelab version that wrote it."""
    folder = Path(folder)
    cached = _read_cache(folder)
    if cached is not None:
        return cached
    text = json.dumps({"scorelab_version": scorelab.__version__, "stories": _pick(folder)}, default=_plain)
    _write_cache(folder, text)
    return json.loads(text)["stories"]  # the same types whether computed now or read later


def _read_cache(folder: Path) -> list[dict] | None:
    try:
        data = json.loads((folder / CACHE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("scorelab_version") != scorelab.__version__:
        return None
    return data.get("stories") if isinstance(data.get("stories"), list) else None


def _write_cache(folder: Path, text: str) -> None:
    """Atomically (a temporary file renamed), and not at all where the folder cannot be written."""
    tmp = folder / f".{CACHE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(text)
        os.replace(tmp, folder / CACHE)
    except OSError:
        tmp.unlink(missing_ok=True)


def _plain(o):
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON: {type(o).__name__}")


def _pick(folder: Path) -> list[dict]:
    manifest = read_manifest(folder)
    info = regime_info(folder)
    days = int(manifest.get("days", 0))
    f = {name: _sql_path(folder / f"{name}.parquet") for name in ("ledger", "list_events", "measures")}
    ledger = LedgerColumns.read(folder / "ledger.parquet")
    paths = score_paths(ledger, days)
    con = duckdb.connect()
    try:
        picks = {
            "false_records": _false_records(con, f),
            "association_only": _association_only(ledger),
            "redeemed": _redeemed(con, f, info, paths),
            "poverty_trap": _poverty_trap(con, f, info, days, paths),
            "most_rewarded": _most_rewarded(con, f),
        }
    finally:
        con.close()
    chosen = [pick for pick in picks.values() if pick is not None]
    explained = dict(zip([c for c, _, _ in chosen], explain_many(folder, [c for c, _, _ in chosen]), strict=True))
    out = []
    for key, pick in picks.items():
        entry = {"criterion": key, "description": CRITERIA[key]}
        if pick is None:
            entry.update(citizen=None, value=None, explanation=None,
                         note="no citizen in this run meets this criterion; skipped")
        else:
            citizen, value, why = pick
            entry.update(citizen=citizen, value=value, why=why, explanation=explained[citizen])
        out.append(entry)
    return out


def _first(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict | None:
    rows = _rows(con, sql, params)
    return rows[0] if rows else None


def _false_records(con, f) -> tuple[int, object, str] | None:
    r = _first(con, f"select citizen, count(*) as n from {f['measures']} where kind = 'sanction' and wrongful "
                    "group by citizen order by n desc, citizen limit 1")
    if r is None:
        return None
    return r["citizen"], r["n"], f"{r['n']} sanction(s) that rested on false records"


def _association_only(ledger: LedgerColumns) -> tuple[int, object, str] | None:
    """Points lost by association (channel 'association') and none for own records (any other channel
    but time); the largest association loss, then the lowest citizen."""
    if not len(ledger.citizen):
        return None
    n = int(ledger.citizen.max()) + 1
    assoc, negative = ledger.channel_is("association"), ledger.delta < 0
    own = ~assoc & ~ledger.channel_is("time") & (ledger.channel >= 0)
    lost = np.bincount(ledger.citizen[assoc & negative], minlength=n)
    own_lost = np.bincount(ledger.citizen[own & negative], minlength=n)
    total = np.bincount(ledger.citizen[assoc], weights=ledger.delta[assoc], minlength=n)
    only = np.flatnonzero((lost > 0) & (own_lost == 0))
    if not len(only):
        return None
    c = int(only[np.lexsort((only, total[only]))[0]])
    why = f"lost {-total[c]:.2f} points in {lost[c]} association penalties, none for records of their own"
    return c, float(total[c]), why


def _redeemed(con, f, info: RegimeInfo, paths: ScorePaths) -> tuple[int, object, str] | None:
    """Net score (sum of deltas per scorer, so 'below initial' is net < 0) dipped and came back to >= 0:
    the deepest dip (then the lowest citizen, then the first day back at that depth)."""
    back = np.flatnonzero((paths.low < -EPS) & (paths.net >= -EPS))
    if len(back):
        deepest = back[paths.low[back] == paths.low[back].min()]  # lexsort's first, without sorting them all
        i = deepest[np.lexsort((paths.day[deepest], paths.citizen[deepest]))[0]]
        depth = float(paths.low[i])
        return (int(paths.citizen[i]), depth,
                f"fell {-depth:.2f} points below the initial score and was back at it by day {int(paths.day[i])}")
    punitive = info.punitive_lists()
    if not punitive:
        return None
    r = _first(con, f"""select citizen, day, list, reason from {f['list_events']}
                        where action = 'exit' and reason in ('appeal', 'recovery') and list in $lists
                        order by reason = 'recovery', day, citizen limit 1""", {"lists": punitive})
    if r is None:
        return None
    return r["citizen"], r["reason"], f"left list {r['list']} by {r['reason']} on day {r['day']}"


def _poverty_trap(con, f, info: RegimeInfo, days: int, paths: ScorePaths) -> tuple[int, object, str] | None:
    """Days on a punitive list or in the bottom tier, as a union of intervals per citizen."""
    spans: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    punitive = info.punitive_lists()
    if punitive:
        rows = _rows(con, f"""select citizen, list, day, action from {f['list_events']} where list in $lists
                              order by citizen, list, day, action = 'enter'""", {"lists": punitive})
        open_at: dict[tuple[int, str], int] = {}
        listed: list[tuple[int, int, int]] = []
        for r in rows:
            key = (r["citizen"], r["list"])
            if r["action"] == "enter":
                open_at.setdefault(key, r["day"])
            elif key in open_at:
                listed.append((r["citizen"], open_at.pop(key), r["day"]))
        listed += [(citizen, start, days) for (citizen, _), start in open_at.items()]
        if listed:
            spans.append(tuple(np.array(col, np.int64) for col in zip(*listed, strict=True)))
    for name, s in info.scorers.items():
        if len(s.tier_names) < 2:
            continue
        bottom_below = float(s.compiled.tier_mins_ascending[1])  # the second-lowest tier's minimum
        low = np.flatnonzero((paths.scorer == paths.code(name)) & (s.initial + paths.net < bottom_below))
        spans.append((paths.citizen[low], paths.day[low], paths.next_day[low]))
    if not spans:
        return None
    who, lengths = union_lengths(*(np.concatenate(col) for col in zip(*spans, strict=True)))
    if not len(who) or lengths.max() <= 0:
        return None
    length = int(lengths.max())
    tied = [int(c) for c in who[lengths == length]]  # ascending
    sanctions = {r["citizen"]: r["n"] for r in _rows(
        con, f"select citizen, count(*) as n from {f['measures']} where kind = 'sanction' and citizen in $tied "
             "group by citizen", {"tied": tied[:10_000]})}
    citizen = min(tied, key=lambda c: (-sanctions.get(c, 0), c))  # among equals, the most sanctioned
    reached = f"at least {TRAP_DAYS}" if length >= TRAP_DAYS else f"the longest in this run; no one reached {TRAP_DAYS}"
    return citizen, length, f"{length} days on a punitive list or in the bottom tier ({reached})"


def _most_rewarded(con, f) -> tuple[int, object, str] | None:
    r = _first(con, f"select citizen, count(*) as n from {f['measures']} where kind = 'reward' "
                    "group by citizen order by n desc, citizen limit 1")
    if r is None:
        return None
    return r["citizen"], r["n"], f"{r['n']} reward(s)"
