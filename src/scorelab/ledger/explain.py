"""Why one citizen ended where they did: acts, records, points, lists and measures, with sources.

The ledger exists so that any score can be explained (every change is a row). This module reads a
run folder with DuckDB, filtering each table on the citizen (and on `actor`, `source_citizen` and
`cause_citizen` for what others suffered through them), and joins the rows back to the regime text
kept in the folder so each point change cites its rule's source. It names false matches (S1-M4:
a record of someone else's act), invented reports, guilt by association and ties cut (S1-M7),
appeals and expiry (ways back). The result is a timeline dict plus a plain-language account, one
sentence per happening, in day order. Days count from 0, as in the Parquet files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.errors import ScorelabError
from scorelab.regime.compiled import CompiledScorer, compile_regime
from scorelab.regime.loader import parse_regime
from scorelab.regime.schema import Condition, Regime
from scorelab.store.runfolder import read_manifest

DESCRIPTION = {e.name: e.description for e in CATALOGUE}
PUNITIVE_KINDS = ("black", "gray", "watch", "no_fly")

# Who does the recording, as a person would say it (channels: behaviour/catalogue.py).
CHANNEL_AGENT = {
    "payments": "the payments system", "bank": "the bank", "courts": "a court", "police": "the police",
    "cameras": "a camera", "internet": "internet monitoring", "transport": "a transport ID check",
    "devices": "a monitored device", "community": "the neighbourhood committee",
    "neighbours": "a neighbour's report", "peers": "a peer report",
}
RECORD_NOUN = {
    "payments": "payments record", "bank": "bank record", "courts": "court record", "police": "police record",
    "cameras": "camera record", "internet": "internet-monitoring record", "transport": "transport record",
    "devices": "device record", "community": "committee record", "neighbours": "neighbour's report",
    "peers": "peer report",
}
EFFECT_VERB = {
    "refuse": "refused {who}", "price": "set {whose} price at {f}x", "suspend": "suspended {whose} payments",
    "dismiss": "cost {who} a job", "advice": "gave {who} advice", "coupon": "gave {who} a coupon",
    "priority": "gave {who} priority", "waive_deposit": "waived {whose} deposit",
    "alert": "sent the police an alert about {who}",
}
EXIT_WHY = {
    "time": "the fixed listing period ended", "compliance": "a record of compliance arrived",
    "appeal": "their appeal succeeded", "recovery": "their tier recovered", "tier": "their tier changed",
    "record": "a record arrived",
}
TIES_NOTE = ("Ties lost (friends and contacts who drop a penalised citizen) are not modelled in this run's "
             "format (no ties_cut.parquet); `ties_lost` is empty.")
TIES_FILE_NOTE = ("`ties_lost` lists contacts who cut their tie with this citizen when they joined a list "
                  "(avoidance, S1-M7, from ties_cut.parquet); `ties_cut` lists ties this citizen cut.")


# ---------------------------------------------------------------------------------------- regime
@dataclass
class ScorerInfo:
    name: str
    initial: float
    tier_names: list[str]
    compiled: CompiledScorer
    score_source: str
    association_source: str
    appeals_source: str = "assumption"
    memory_source: str = "assumption"
    avoidance_source: str = "assumption"


@dataclass
class RegimeInfo:
    """The regime of a run folder, keyed by the labels its Parquet files use."""

    regime: Regime
    scorers: dict[str, ScorerInfo] = field(default_factory=dict)
    rules: dict[str, dict] = field(default_factory=dict)     # 'state:traffic_ticket', 'state:assoc:...', ...
    measures: dict[str, dict] = field(default_factory=dict)  # 'state:flight_ban'
    lists: dict[str, dict] = field(default_factory=dict)     # 'state:black'

    def punitive_lists(self) -> list[str]:
        return [label for label, d in self.lists.items() if d["kind"] in PUNITIVE_KINDS]


def _cite(regime: Regime, block) -> str:
    """A block's cited reference, in the format of CompiledScorer.rule_sources."""
    if block is not None and block.source:
        ref = regime.references[block.source]
        return ref.title + (f" ({ref.url})" if ref.url else "") + (f" ({ref.document})" if ref.document else "")
    return "assumption"


def regime_info(folder: Path) -> RegimeInfo:
    """Parse and compile the regime text kept in the run folder (the run's own copy, not the preset)."""
    path = Path(folder) / "regime.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScorelabError(f"cannot read the run's regime: {exc}", path=str(path)) from None
    regime = parse_regime(text, str(path))
    cr = compile_regime(regime, str(path))
    info = RegimeInfo(regime)
    for s, cs in zip(regime.scorers, cr.scorers, strict=True):
        # blocks newer than the first run format are read with getattr, so older run folders still explain
        info.scorers[s.name] = ScorerInfo(s.name, s.score.initial, list(cs.tier_names), cs,
                                          _cite(regime, s.score), _cite(regime, s.association),
                                          _cite(regime, getattr(s, "appeals", None)),
                                          _cite(regime, getattr(s, "memory", None)),
                                          _cite(regime, getattr(s, "avoidance", None)))
        for rule in s.rules:
            d = {"scorer": s.name, "rule": rule.name, "kind": "rule", "event": rule.event, "points": rule.points,
                 "source": cs.rule_sources[cs.rule_names.index(rule.name)], "description": rule.description,
                 "cap": rule.cap.model_dump() if rule.cap else None,
                 "remediation": rule.remediation.model_dump() if rule.remediation else None}
            info.rules[f"{s.name}:{rule.name}"] = d
            info.rules[f"{s.name}:assoc:{rule.name}"] = {
                **d, "kind": "association", "association_source": _cite(regime, s.association)}
            info.rules[f"{s.name}:appeal:{rule.name}"] = {**d, "kind": "appeal"}
            info.rules[f"{s.name}:expunge:{rule.name}"] = {**d, "kind": "expunge"}
        for lst in s.lists:
            info.lists[f"{s.name}:{lst.name}"] = {
                "scorer": s.name, "name": lst.name, "kind": lst.kind, "source": _cite(regime, lst),
                "entry_records": list(lst.entry.records), "min_count": lst.entry.min_count,
                "after_days": lst.exit.after_days, "exit_records": list(lst.exit.on_records)}
        for kind, measures in (("sanction", s.sanctions), ("reward", s.rewards),
                               ("response", getattr(s, "responses", ()))):
            for m in measures:
                info.measures[f"{s.name}:{m.name}"] = {
                    "scorer": s.name, "name": m.name, "kind": kind, "domain": m.domain, "effect": m.effect,
                    "who": m.who, "gate": m.gate, "on_list_entry": m.on_list_entry,
                    "on_record": getattr(m, "on_record", None), "condition": _condition_text(m.when),
                    "source": _cite(regime, m), "description": m.description}
    return info


def _condition_text(c: Condition | None) -> str:
    """A measure's condition as a predicate after 'they were' / 'citizen 5 was'."""
    if c is None:
        return ""
    parts = []
    if c.lists:
        parts.append("on the " + " or ".join(c.lists) + " list")
    if c.tiers:
        parts.append("in tier " + " or ".join(c.tiers))
    if c.records:
        parts.append("on record for " + " or ".join(f"'{DESCRIPTION[r]}'" for r in c.records))
    if c.score_below is not None:
        parts.append(f"below {_num(c.score_below)} points")
    if c.score_at_least is not None:
        parts.append(f"at {_num(c.score_at_least)} points or more")
    return " or ".join(parts)


# ---------------------------------------------------------------------------------------- reading
def _sql_path(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def citizen_count(folder: Path) -> int:
    """Citizens are the rows of citizens.parquet (ids 0..n-1); read from the footer only."""
    try:
        return pq.ParquetFile(Path(folder) / "citizens.parquet").metadata.num_rows
    except OSError as exc:
        raise ScorelabError(f"cannot read the run's citizens: {exc}", path=str(folder)) from None


def check_citizen(citizen: object, n: int) -> int:
    if isinstance(citizen, bool) or not isinstance(citizen, int | np.integer) or not 0 <= int(citizen) < n:
        raise ScorelabError(f"no citizen {citizen!r} in this run", key="CITIZEN",
                            allowed=f"a citizen id from 0 to {n - 1}")
    return int(citizen)


def _in_cohort(manifest: dict, citizen: int, n: int) -> bool:
    """Whether the citizen's ledger rows were kept (runs above 2M citizens keep a cohort by default)."""
    led = manifest.get("ledger") or {}
    if led.get("policy", "full") == "full":
        return True
    from scorelab.streams import stream

    rng = stream(manifest["seed"], led.get("cohort_stream", "ledger.cohort"))
    rng.bit_generator.advance(citizen)  # PCG64: one 64-bit draw per double, so skip straight to this citizen's
    return bool(rng.random() < led["cohort_share"])


def _load(folder: Path, c: int) -> dict[str, Any]:
    """Every row about citizen `c`, read with equality filters only.

    DuckDB evaluates `col = $c` far faster than `a = $c or b = $c` (about 0.05 s against 0.2-0.3 s on a
    1M-citizen ledger), so each table is read with one equality query per citizen column.
    """
    f = {name: _sql_path(folder / f"{name}.parquet")
         for name in ("events", "records", "ledger", "list_events", "measures", "citizens")}
    p = {"c": c}
    con = duckdb.connect()
    try:
        q = functools.partial(_rows, con)
        led = f"read_parquet({f['ledger']}, file_row_number = true)"
        out = {
            "events": q(f"select event_id, day, event_type, digital from {f['events']} where citizen = $c", p),
            "records": q(f"select * from {f['records']} where citizen = $c", p)
            + q(f"select * from {f['records']} where actor = $c and citizen <> $c", p),
            "ledger": q(f"select *, file_row_number as row from {led} where citizen = $c", p)
            + q(f"select *, file_row_number as row from {led} where source_citizen = $c and citizen <> $c", p),
            "lists": q(f"select day, scorer, list, action, reason, wrongful from {f['list_events']} "
                       "where citizen = $c", p),
            "measures": q(f"select * from {f['measures']} where citizen = $c or cause_citizen = $c", p),
            "citizen": q(f"select * from {f['citizens']} where citizen = $c", p),
        }
        others = sorted({r["source_citizen"] for r in out["ledger"] if r["citizen"] == c and r["source_citizen"] >= 0}
                        | {r["cause_citizen"] for r in out["measures"] if r["cause_citizen"] not in (c, -1)}
                        | {r["citizen"] for r in out["measures"] if r["citizen"] != c})
        ids = ", ".join(str(int(x)) for x in others)  # whole numbers from the tables: safe to inline
        out["households"] = [{"citizen": c, "household": r["household"]} for r in out["citizen"]]
        if others:
            out["households"] += q(f"select citizen, household from {f['citizens']} where citizen in ({ids})")
        # tables of later run formats: appeals (ways back) and ties cut by avoidance (S1-M7)
        out["appeals"] = (q(f"select * from {_sql_path(folder / 'appeals.parquet')} where citizen = $c", p)
                          if (folder / "appeals.parquet").exists() else [])
        ties = folder / "ties_cut.parquet"
        out["ties_modelled"] = ties.exists()
        out["ties_lost"] = q(f"select * from {_sql_path(ties)} where citizen = $c", p) if ties.exists() else []
        out["ties_cut"] = q(f"select * from {_sql_path(ties)} where contact = $c", p) if ties.exists() else []
    finally:
        con.close()
    out["events"].sort(key=lambda r: (r["day"], r["event_id"]))
    out["records"].sort(key=lambda r: (r["day_recorded"], r["record_id"]))
    out["ledger"].sort(key=lambda r: (r["day"], r["row"]))  # the engine's order within a day
    out["lists"].sort(key=lambda r: (r["day"], r["action"]))
    out["measures"].sort(key=lambda r: r["day"])
    out["appeals"].sort(key=lambda r: (r["day_filed"], r.get("record_id") or -1))
    out["ties_lost"].sort(key=lambda r: (r["day"], r["contact"]))
    out["ties_cut"].sort(key=lambda r: (r["day"], r["citizen"]))
    return out


# ---------------------------------------------------------------------------------------- words
def _num(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def _pts(x: float) -> str:
    """'-5 points', '+1 point', '+0.42 points'."""
    if abs(x - round(x)) < 1e-9:
        v = int(round(x))
        return f"{v:+d} point" + ("" if abs(v) == 1 else "s")
    return f"{x:+.2f} points"


def _act(event_type: str | None) -> str:
    return f"'{DESCRIPTION.get(event_type, event_type)}'" if event_type else "an act"


def _agent(channel: str) -> str:
    return CHANNEL_AGENT.get(channel, f"the {channel} channel")


def _false_match_kind(channel: str) -> str:
    """S1-M4: a camera's false match; other channels put a record on the wrong person too."""
    if channel == "cameras":
        return "a face-recognition false match"
    return f"a {RECORD_NOUN.get(channel, channel + ' record')} put on the wrong person"


def _amount(x: float) -> str:
    """'5 points', '1 point', '0.42 points' (a magnitude, no sign)."""
    return _pts(abs(x))[1:]


def _list_name(label: str, info: RegimeInfo, multi: bool) -> str:
    d = info.lists.get(label)
    if d is None:
        return f"list {label}"
    name = f"the {d['name']} list" if d["name"] == d["kind"] else f"the {d['name']} list (a {d['kind']} list)"
    return f"{name} of {d['scorer']}" if multi else name


# ---------------------------------------------------------------------------------------- explain
def explain(folder: Path, citizen: int) -> dict:
    """One citizen's timeline and its plain-language account (see the module docstring)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    n = citizen_count(folder)
    c = check_citizen(citizen, n)
    info = regime_info(folder)
    raw = _load(folder, c)
    return _build(folder, manifest, info, raw, c, n)


def _ledger_kind(label: str, info: RegimeInfo) -> str:
    """rule | association | appeal | expunge | redemption, from the ledger's rule label."""
    if label == "redemption":
        return "redemption"
    if label in info.rules:
        return info.rules[label]["kind"]
    for kind, tag in (("association", ":assoc:"), ("appeal", ":appeal:"), ("expunge", ":expunge:")):
        if tag in label:
            return kind
    return "rule"


def _build(folder: Path, manifest: dict, info: RegimeInfo, raw: dict, c: int, n: int) -> dict:
    days = int(manifest.get("days", 0))
    multi = len(info.scorers) > 1
    household = {r["citizen"]: r["household"] for r in raw["households"]}
    me = raw["citizen"][0] if raw["citizen"] else {}
    own_hh = household.get(c)

    # points: running score per scorer, in the engine's order (day, then file order)
    running = {name: s.initial for name, s in info.scorers.items()}
    points, caused = [], []
    for r in raw["ledger"]:
        if r["citizen"] != c:
            caused.append({"day": r["day"], "citizen": r["citizen"], "scorer": r["scorer"], "rule": r["rule"],
                           "delta": r["delta"], "record_id": r["record_id"], "record_true": r["record_true"]})
            continue
        running[r["scorer"]] = running.get(r["scorer"], 0.0) + r["delta"]
        kind = _ledger_kind(r["rule"], info)
        rule = info.rules.get(r["rule"], {})
        s = info.scorers.get(r["scorer"])
        source = {"redemption": s.score_source if s else None, "appeal": s.appeals_source if s else None,
                  "expunge": s.memory_source if s else None}.get(kind, rule.get("source"))
        item = {"day": r["day"], "scorer": r["scorer"], "rule": r["rule"], "kind": kind, "delta": r["delta"],
                "score_after": running[r["scorer"]], "channel": r["channel"], "record_id": r["record_id"],
                "record_true": r["record_true"], "source": source, "rule_source": rule.get("source"),
                "rule_points": rule.get("points"), "rule_description": rule.get("description")}
        if kind == "association":
            src = r["source_citizen"]
            item.update(source_citizen=src, association_source=rule.get("association_source"),
                        offender_act=rule.get("event"), mechanism="S1-M7",
                        relation="household member" if own_hh is not None and household.get(src) == own_hh
                        else "contact")
        points.append(item)
    by_record: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        if p["kind"] in ("rule", "appeal", "expunge"):
            by_record.setdefault((p["scorer"], p["record_id"]), []).append(p)

    # records: about them (true, false match, invented), and their own acts put on others
    records, put_on_others = [], []
    for r in raw["records"]:
        kind = "true" if r["record_true"] else ("invented" if r["actor"] < 0 else "false_match")
        item = {k: r[k] for k in ("record_id", "event_id", "event_type", "channel", "scorer", "day_event",
                                  "day_recorded", "record_true", "actor")}
        item["description"] = DESCRIPTION.get(r["event_type"], r["event_type"])
        if r["citizen"] != c:
            item.update(kind="false_match", attributed_to=r["citizen"], mechanism="S1-M4")
            put_on_others.append(item)
            continue
        item["kind"] = kind
        if kind == "false_match":
            item["mechanism"] = "S1-M4"
        rows = by_record.get((r["scorer"], r["record_id"]), [])
        item["points"] = [p["delta"] for p in rows if p["kind"] == "rule"]
        item["corrected_on_appeal"] = any(p["kind"] == "appeal" for p in rows)
        item["expunged"] = any(p["kind"] == "expunge" for p in rows)
        records.append(item)
    by_id = {(r["scorer"], r["record_id"]): r for r in records}
    for p in points:  # a reversal names the act it reverses
        if p["kind"] in ("appeal", "expunge"):
            rec = by_id.get((p["scorer"], p["record_id"]))
            p["act"] = rec["event_type"] if rec else info.rules.get(p["rule"], {}).get("event")
            p["record_day"] = rec["day_recorded"] if rec else None

    events = [{**e, "description": DESCRIPTION.get(e["event_type"], e["event_type"])} for e in raw["events"]]
    lists = [dict(r) for r in raw["lists"]]
    for r in lists:
        r["source"] = info.lists.get(r["list"], {}).get("source")
    measures, measures_caused = [], []
    for r in raw["measures"]:
        m = info.measures.get(r["measure"], {})
        item = {**r, "source": m.get("source"), "condition": m.get("condition")}
        if r["citizen"] == c:
            item["via_household"] = r["cause_citizen"] not in (c, -1)
            measures.append(item)
        else:
            measures_caused.append(item)
    appeals = []
    for r in raw["appeals"]:
        rec = by_id.get((r["scorer"], r.get("record_id")))
        appeals.append({**r, "act": rec["event_type"] if rec else info.rules.get(r.get("rule") or "", {}).get("event"),
                        "source": (info.lists.get(r.get("list") or "", {}).get("source") if r.get("kind") == "list"
                                   else getattr(info.scorers.get(r["scorer"]), "appeals_source", None))})
    association = [{k: p[k] for k in ("day", "rule", "delta", "source_citizen", "relation", "record_true",
                                      "offender_act", "source", "association_source")}
                   for p in points if p["kind"] == "association"]
    ties_lost = [{"day": r["day"], "contact": r["contact"], "scorer": r["scorer"], "list": r["list"]}
                 for r in raw["ties_lost"]]
    ties_cut = [{"day": r["day"], "citizen": r["citizen"], "scorer": r["scorer"], "list": r["list"]}
                for r in raw["ties_cut"]]

    final = _final(me, info)
    notes = [TIES_FILE_NOTE if raw["ties_modelled"] else TIES_NOTE,
             f"Days count from 0; the run lasted {days} days (0 to {days - 1})."]
    written = manifest.get("events_written", "notable")
    if written == "notable":
        notes.append("Only notable true events (acts a regime may punish or reward) were kept; "
                     "neutral acts and attempts show up only through the measures they met.")
    elif written == "none":
        notes.append("The run kept no true events; acts are known only through their records.")
    if not _in_cohort(manifest, c, n):
        notes.append("This citizen is outside the run's ledger cohort: their point changes were not kept, "
                     "so the points below are incomplete.")
    account = _account(c, days, info, multi, events, records, put_on_others, points, caused, lists, measures,
                       measures_caused, appeals, ties_lost, ties_cut, final)
    return {
        "run_id": manifest.get("run_id", folder.name), "regime": info.regime.name, "citizen": c,
        "citizens": n, "days": days,
        "profile": {k: me.get(k) for k in ("age", "sex", "urban", "income_decile", "household", "sector",
                                           "aware")},
        "final": final, "events": events, "records": records, "acts_put_on_others": put_on_others,
        "points": points, "points_total": {name: v - info.scorers[name].initial for name, v in running.items()
                                           if name in info.scorers},
        "lists": lists, "sanctions": [m for m in measures if m["kind"] == "sanction"],
        "rewards": [m for m in measures if m["kind"] == "reward"],
        "responses": [m for m in measures if m["kind"] not in ("sanction", "reward")],
        "association": association, "association_caused": caused, "measures_caused": measures_caused,
        "appeals": appeals, "ties_lost": ties_lost, "ties_cut": ties_cut, "notes": notes,
        "account": account,
    }


def _final(me: dict, info: RegimeInfo) -> dict:
    """Score, tier and lists at the end, from citizens.parquet (one column set per scorer)."""
    if not me:
        return {}
    out: dict = {"score": me.get("score"), "tier": me.get("tier") or None}
    if len(info.scorers) > 1:
        out["scores"] = {s: me.get(f"score:{s}") for s in info.scorers}
        out["tiers"] = {s: me.get(f"tier:{s}") for s in info.scorers}
    for prefix, key in (("on:", "lists"), ("ever:", "ever_listed"), ("wrongly:", "wrongly_listed")):
        out[key] = [k[len(prefix):] for k, v in me.items() if k.startswith(prefix) and v]
    if isinstance(out["score"], float) and np.isnan(out["score"]):
        out["score"] = None
    return out


# ---------------------------------------------------------------------------------------- account
def _points_phrase(p: dict, info: RegimeInfo) -> str:
    """'-5 points under rule state:traffic_ticket (source: ...); score 995'."""
    rule = info.rules.get(p["rule"], {})
    full = rule.get("points")
    if abs(p["delta"]) < 1e-12 and full:
        cap = rule.get("cap")
        why = (f"the rule's cap of {_num(cap['points'])} points per {cap['period_days']} days was reached"
               if cap else "the score was at its limit")
        head = f"no points under rule {p['rule']} ({why})"
    else:
        head = f"{_pts(p['delta'])} under rule {p['rule']}"
        if full is not None and abs(p["delta"] - full) > 1e-9:
            head += f" (of {_pts(full)}: cap or score limit)"
    return f"{head} (source: {p['source']}); score {_num(p['score_after'])}"


def _no_points_why(rec: dict, info: RegimeInfo, days: int) -> str:
    if rec["day_recorded"] >= days:
        return "it reached the scorer only after the run ended"
    rule = next((r for label, r in info.rules.items() if r["scorer"] == rec["scorer"]
                 and r["event"] == rec["event_type"] and ":assoc:" not in label), None)
    if rule is None:
        return "no rule gives points for it"
    rem = rule.get("remediation")
    if rem:
        if rec["day_recorded"] + rem["days"] >= days:
            return f"its {rem['days']}-day remediation window was still open when the run ended"
        return f"no points, as they took action within the {rem['days']}-day remediation window"
    return "no points were kept for it"


class _Lines:
    """Sentences keyed by (day, rank, order of arrival); within a day: acts and points, lists, then measures.

    Redemption rows (one per period) that follow each other with nothing in between are told as one
    sentence, so a long run does not drown the account in '+0.01 points' lines.
    """

    def __init__(self) -> None:
        self.items: list[tuple[int, int, int, str, dict | None]] = []

    def add(self, day: int, rank: int, text: str, redemption: dict | None = None) -> None:
        self.items.append((int(day), rank, len(self.items), text, redemption))

    def sorted(self, info: RegimeInfo) -> list[str]:
        runs: list[tuple[int, str] | list[dict]] = []
        for day, _, _, text, red in sorted(self.items):
            if red is not None and runs and isinstance(runs[-1], list) and runs[-1][-1]["scorer"] == red["scorer"]:
                runs[-1].append(red)
            else:
                runs.append([red] if red is not None else (day, text))
        out, told = [], set()
        for r in runs:
            if isinstance(r, tuple):
                out.append(f"Day {r[0]}: {r[1]}")
                continue
            first, last = r[0], r[-1]
            s = info.scorers.get(first["scorer"])
            why = ""
            if first["scorer"] not in told:  # the first redemption sentence says what it is and cites it
                told.add(first["scorer"])
                why = (f" (scores drift back toward {_num(s.initial) if s else 'the initial score'} over time; "
                       f"source: {first['source']})")
            total = sum(p["delta"] for p in r)
            steps = f" in {len(r)} steps to day {last['day']}" if len(r) > 1 else ""
            out.append(f"Day {first['day']}: {_pts(total)} by redemption{steps}{why}; "
                       f"score {_num(last['score_after'])}.")
        return out


def _account(c: int, days: int, info: RegimeInfo, multi: bool, events, records, put_on_others, points, caused,
             lists, measures, measures_caused, appeals, ties_lost, ties_cut, final) -> list[str]:
    """The plain-language account, one sentence per happening, in day order."""
    out = _Lines()
    pts_of: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        if p["kind"] == "rule":
            pts_of.setdefault((p["scorer"], p["record_id"]), []).append(p)
    recorded_on_them = {r["event_id"] for r in records if r["kind"] == "true"}
    elsewhere: dict[int, list[dict]] = {}
    for r in put_on_others:
        elsewhere.setdefault(r["event_id"], []).append(r)

    # true acts that left no record on them: unrecorded, or put on someone else (S1-M4)
    kept = {e["event_id"] for e in events}
    for e in events:
        if e["event_id"] in recorded_on_them:
            continue
        wrong = [f"{_agent(r['channel'])} recorded it but put it on citizen {r['attributed_to']} "
                 f"({_false_match_kind(r['channel'])}), so it cost them nothing"
                 for r in elsewhere.get(e["event_id"], [])]
        told = "; ".join(wrong) or "no channel recorded it"
        out.add(e["day"], 0, f"their act of {_act(e['event_type'])}; {told}.")
    for r in put_on_others:
        if r["event_id"] not in kept:
            out.add(r["day_event"], 0, f"{_agent(r['channel'])} recorded their act of {_act(r['event_type'])} but put "
                                       f"it on citizen {r['attributed_to']} ({_false_match_kind(r['channel'])}), "
                                       "so it cost them nothing.")

    # records about them, each with the points it cost or earned
    for r in records:
        pts = pts_of.get((r["scorer"], r["record_id"]), [])
        outcome = "; ".join(_points_phrase(p, info) for p in pts) if pts else _no_points_why(r, info, days)
        day = pts[0]["day"] if pts else (r["day_recorded"] if r["day_recorded"] < days else r["day_event"])
        agent = _agent(r["channel"]) + (f" (scorer {r['scorer']})" if multi else "")
        if r["kind"] == "false_match":
            text = (f"{agent} attributed to citizen {c} an act of {_act(r['event_type'])} that they did not commit "
                    f"({_false_match_kind(r['channel'])}; the act was citizen {r['actor']}'s); {outcome}.")
        elif r["kind"] == "invented":
            text = (f"{agent} reported citizen {c} for an act of {_act(r['event_type'])} that never happened "
                    f"(an invented report; they did not commit it); {outcome}.")
        else:
            of_day = "" if r["day_event"] == day else f" of day {r['day_event']}"
            when = "the same day" if r["day_recorded"] == r["day_event"] else f"on day {r['day_recorded']}"
            text = f"their act of {_act(r['event_type'])}{of_day}; {agent} recorded it {when}: {outcome}."
        out.add(day, 1, text)

    for p in points:
        if p["kind"] == "redemption":
            out.add(p["day"], 2, "", redemption=p)
        elif p["kind"] == "association":  # S1-M7
            false = "" if p["record_true"] else f" (a false record: citizen {p['source_citizen']} did not do it)"
            out.add(p["day"], 1, f"{_pts(p['delta'])} by association under rule {p['rule']}, because their "
                                 f"{p['relation']} citizen {p['source_citizen']} was recorded for "
                                 f"{_act(p['offender_act'])}{false} (guilt by association, source: "
                                 f"{p['association_source']}; rule source: {p['source']}); "
                                 f"score {_num(p['score_after'])}.")
        elif p["kind"] == "appeal":  # ways back: a corrected record gives its points back
            out.add(p["day"], 1, f"their appeal succeeded: the record of {_act(p['act'])} was corrected and "
                                 f"{_pts(p['delta'])} given back under rule {p['rule']} (source: {p['source']}); "
                                 f"score {_num(p['score_after'])}.")
        elif p["kind"] == "expunge":
            since = f" of day {p['record_day']}" if p.get("record_day") is not None else ""
            out.add(p["day"], 2, f"the record of {_act(p['act'])}{since} expired and was forgotten: "
                                 f"{_pts(p['delta'])} given back under rule {p['rule']} (source: {p['source']}); "
                                 f"score {_num(p['score_after'])}.")
    for a in appeals:
        what = (f"their listing on {_list_name(a['list'], info, multi)}" if a.get("kind") == "list"
                else f"the record of {_act(a['act'])}")
        if a["day_decided"] >= days:
            result = f"the decision (day {a['day_decided']}) was still pending when the run ended"
        elif a["success"]:
            result = f"it succeeded on day {a['day_decided']}"
        else:
            result = f"it failed on day {a['day_decided']}"
        out.add(a["day_filed"], 4, f"they appealed against {what}; {result} (source: {a['source']}).")
    by_day: dict[tuple[int, str], list[int]] = {}
    for t in ties_lost:
        by_day.setdefault((t["day"], t["list"]), []).append(t["contact"])
    for (day, label), contacts in by_day.items():
        s = info.scorers.get(info.lists.get(label, {}).get("scorer", ""))
        out.add(day, 4, f"as they joined {_list_name(label, info, multi)}, {len(contacts)} contact(s) cut their "
                        f"tie with them (citizens {', '.join(map(str, contacts))}; avoidance, S1-M7, source: "
                        f"{s.avoidance_source if s else 'assumption'}).")
    for t in ties_cut:
        out.add(t["day"], 4, f"they cut their tie with citizen {t['citizen']}, who had joined "
                             f"{_list_name(t['list'], info, multi)} (avoidance, S1-M7).")
    groups: dict[tuple[int, str, int], list[dict]] = {}
    for r in caused:
        groups.setdefault((r["day"], r["rule"], r["record_id"]), []).append(r)
    for (day, rule, _), rows in groups.items():
        people = len({r["citizen"] for r in rows})  # a household member who is also a contact has two rows
        out.add(day, 1, f"because of that record, {people} of their household members and contacts lost "
                        f"{_amount(sum(r['delta'] for r in rows))} in total by association under rule {rule}.")

    for r in lists:
        out.add(r["day"], 3, _list_sentence(r, info, multi, records, points) + ".")
    for m in measures:
        out.add(m["day"], 5, _measure_sentence(m, c, info, self_view=True) + ".")
    for m in measures_caused:
        out.add(m["day"], 5, _measure_sentence(m, c, info, self_view=False) + ".")

    lines = out.sorted(info)
    if final:
        if "scores" in final:  # several scorers (S2-N6): each keeps its own score and tier
            standing = "; ".join(f"{name} score {_num(v)}" + (f", tier {final['tiers'][name]}"
                                                               if final["tiers"].get(name) else "")
                                 for name, v in final["scores"].items())
        else:
            standing = "score " + ("none" if final.get("score") is None else _num(final["score"]))
            standing += f", tier {final['tier']}" if final.get("tier") else ""
        on = ", ".join(final["lists"]) or "none"
        end = f"End of the run (after day {days - 1}): {standing}; on lists: {on}."
        if final.get("wrongly_listed"):
            end += f" Wrongly listed at some time on: {', '.join(final['wrongly_listed'])}."
        lines.append(end)
    return lines


def _tier_on(day: int, scorer: str, info: RegimeInfo, points: list[dict]) -> str | None:
    """The tier a scorer gave the citizen at the end of `day`, from the running score."""
    s = info.scorers.get(scorer)
    if s is None or not s.tier_names:
        return None
    score = s.initial
    for p in points:
        if p["scorer"] == scorer and p["day"] <= day:
            score = p["score_after"]
    return s.tier_names[int(s.compiled.tier_of(np.array([score]))[0])]


def _list_sentence(r: dict, info: RegimeInfo, multi: bool, records: list[dict], points: list[dict]) -> str:
    d = info.lists.get(r["list"], {})
    name = _list_name(r["list"], info, multi)
    if r["action"] == "enter":
        if r["reason"] == "tier":
            tier = _tier_on(r["day"], r["scorer"], info, points)
            why = f"their score put them in tier {tier}" if tier else "their tier qualified"
        else:
            trig = [x for x in records if x["day_recorded"] == r["day"] and x["scorer"] == r["scorer"]
                    and x["event_type"] in d.get("entry_records", [])]
            trig.sort(key=lambda x: not x["record_true"])  # a true record, if any, is the one that counts
            why = f"on a record of {_act(trig[0]['event_type'])}" if trig else "on a record"
            if d.get("min_count", 1) > 1:
                why += f", their {d['min_count']}th such record or more"
        text = f"entered {name} ({why})"
        if r["wrongful"]:
            text += "; wrongfully: without false records they would not have qualified"
    else:
        why = EXIT_WHY.get(r["reason"], r["reason"])
        if r["reason"] == "time" and d.get("after_days"):
            why += f" ({d['after_days']} days)"
        if r["reason"] == "compliance" and d.get("exit_records"):
            why = "a record of compliance (" + " or ".join(_act(x) for x in d["exit_records"]) + ") arrived"
        text = f"left {name} because {why}"
        if r["wrongful"]:
            text += "; the listing had rested on false records"
    return text + f" (source: {r['source']})"


def _measure_sentence(m: dict, c: int, info: RegimeInfo, self_view: bool) -> str:
    """A measure the citizen met, or one a household member met because of them (S1-M6).

    Gates act at an attempt ('at buying a plane ticket'); on_record measures answer a record
    (alerts, advice: S1-M4, S2-N3); list-entry measures act on joining a list (job loss).
    """
    d = info.measures.get(m["measure"], {})
    f = _num(m["price_factor"] or 1.0)
    verb = EFFECT_VERB.get(m["effect"], m["effect"])
    if d.get("on_record"):
        where = f" on a record of {_act(d['on_record'])}"
    elif m.get("event_type"):
        where = f" at {_act(m['event_type'])}"
    elif d.get("on_list_entry"):
        where = f" on their joining the {d['on_list_entry']} list"
    else:
        where = ""
    cond = d.get("condition") or ""
    if self_view:
        acted = verb.format(who="them", whose="their", f=f)
        if m["cause_citizen"] not in (c, -1):
            because = f"because their household member citizen {m['cause_citizen']} was {cond or 'eligible'}"
        else:
            because = f"because they were {cond}" if cond else ""
    else:
        other = f"their household member citizen {m['citizen']}"
        acted = verb.format(who=other, whose=f"{other}'s", f=f)
        because = f"because this citizen was {cond or 'eligible'}"
    text = f"{m['kind']} {m['measure']} ({m['domain']}) {acted}{where}"
    if because:
        text += f", {because}"
    if m["wrongful"]:
        text += " (wrongful: it rested on false records)"
    money = m.get("money") or 0.0
    if abs(money) > 1e-9:
        text += f" ({'saving' if money > 0 else 'costing'} them {_num(abs(money))} yuan)"
    return text + f" (source: {m['source']})"
