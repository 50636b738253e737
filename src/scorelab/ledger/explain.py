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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import yaml

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.errors import ScorelabError
from scorelab.regime.compiled import CompiledScorer, compile_regime
from scorelab.regime.loader import read_yaml, validate_regime
from scorelab.regime.schema import Condition, Regime
from scorelab.report.sources import cite
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
    "alert": "sent the police an alert about {who}", "close_account": "closed {whose} bank account",
    "cut_internet": "cut {whose} internet access",
}
# what became of an attempt a door closed on (issue 9: events.parquet `outcome`)
OUTCOME_PHRASE = {
    "refused": "it did not happen", "substituted": "they went a slower way instead",
}
# why an attempt was refused when no decision refused it: a state a decision had caused
CIRCUMSTANCE = "a state an earlier decision caused (payments suspended, account closed or internet cut)"
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
    source_keys: dict[str, str] = field(default_factory=dict)  # source text -> reference key

    def punitive_lists(self) -> list[str]:
        return [label for label, d in self.lists.items() if d["kind"] in PUNITIVE_KINDS]

    def list_info(self) -> dict[str, dict]:
        """label -> name, kind and scorer: how the account names a list."""
        return {label: {"name": d["name"], "kind": d["kind"], "scorer": d["scorer"]} for label, d in self.lists.items()}

    def cited(self, happenings: list[dict]) -> list[dict]:
        """The references an account cites, each with its key, the text the account uses and its full citation."""
        texts: list[str] = []
        for h in happenings:
            for t in [h.get("source"), h.get("association_source"), *(p["source"] for p in h.get("points") or ())]:
                if isinstance(t, str) and t in self.source_keys and t not in texts:
                    texts.append(t)
        out = []
        for t in texts:
            key = self.source_keys[t]
            c = cite(key, self.regime.references.get(key))
            out.append({"key": key, "text": t, "citation": c["citation"], "url": c["url"], "grade": c["grade"]})
        return out


def _cite(regime: Regime, block, keys: dict[str, str] | None = None) -> str:
    """A block's cited reference as the account names it (the regime's title for it, and its URL), or
    'assumption'; `keys` learns which reference key the text stands for (for links and full citations)."""
    if block is not None and block.source:
        ref = regime.references[block.source]
        text = ref.title + (f" ({ref.url})" if ref.url else "")
        if keys is not None:
            keys[text] = block.source
        return text
    return "assumption"


def yaml_data(text: str, origin: str) -> Any:
    """YAML with libyaml when it is there (a preset parses in 10 ms instead of 300), else loader.read_yaml,
    which also gives the one clear message for a broken file."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 (the C *safe* loader)
        except yaml.YAMLError:
            pass
    return read_yaml(text, origin)


def parse_run_regime(text: str, origin: str) -> Regime:
    return validate_regime(yaml_data(text, origin), origin)


def regime_info(folder: Path) -> RegimeInfo:
    """Parse and compile the regime text kept in the run folder (the run's own copy, not the preset).

    Cached per folder and file version: a report's stories explain five citizens of one run."""
    path = Path(folder) / "regime.yaml"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ScorelabError(f"cannot read the run's regime: {exc}", path=str(path)) from None
    return _regime_info(str(path.resolve()), stamp)


@functools.lru_cache(maxsize=16)
def _regime_info(where: str, stamp: int) -> RegimeInfo:
    path = Path(where)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScorelabError(f"cannot read the run's regime: {exc}", path=str(path)) from None
    regime = parse_run_regime(text, str(path))
    cr = compile_regime(regime, str(path))
    info = RegimeInfo(regime)
    keys = info.source_keys

    def cited(block) -> str:
        return _cite(regime, block, keys)

    for s, cs in zip(regime.scorers, cr.scorers, strict=True):
        # blocks newer than the first run format are read with getattr, so older run folders still explain
        info.scorers[s.name] = ScorerInfo(s.name, s.score.initial, list(cs.tier_names), cs,
                                          cited(s.score), cited(s.association), cited(getattr(s, "appeals", None)),
                                          cited(getattr(s, "memory", None)), cited(getattr(s, "avoidance", None)))
        for rule in s.rules:
            d = {"scorer": s.name, "rule": rule.name, "kind": "rule", "event": rule.event, "points": rule.points,
                 "source": cited(rule), "description": rule.description,
                 "cap": rule.cap.model_dump() if rule.cap else None,
                 "remediation": rule.remediation.model_dump() if rule.remediation else None}
            info.rules[f"{s.name}:{rule.name}"] = d
            info.rules[f"{s.name}:assoc:{rule.name}"] = {
                **d, "kind": "association", "association_source": cited(s.association)}
            info.rules[f"{s.name}:appeal:{rule.name}"] = {**d, "kind": "appeal"}
            info.rules[f"{s.name}:expunge:{rule.name}"] = {**d, "kind": "expunge"}
        for lst in s.lists:
            info.lists[f"{s.name}:{lst.name}"] = {
                "scorer": s.name, "name": lst.name, "kind": lst.kind, "source": cited(lst),
                "entry_records": list(lst.entry.records), "min_count": lst.entry.min_count,
                "after_days": lst.exit.after_days, "exit_records": list(lst.exit.on_records)}
        for kind, measures in (("sanction", s.sanctions), ("reward", s.rewards),
                               ("response", getattr(s, "responses", ()))):
            for m in measures:
                info.measures[f"{s.name}:{m.name}"] = {
                    "scorer": s.name, "name": m.name, "kind": kind, "domain": m.domain, "effect": m.effect,
                    "who": m.who, "gate": m.gate, "on_list_entry": m.on_list_entry,
                    "on_record": getattr(m, "on_record", None), "condition": _condition_text(m.when),
                    "source": cited(m), "description": m.description}
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


_LOCAL = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection per thread, for reading run tables (the dashboard explains in threads)."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    return con


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


def _load_many(folder: Path, cs: list[int]) -> dict[int, dict[str, Any]]:
    """Every row about each citizen of `cs`, read with one pass per table and citizen column.

    DuckDB evaluates `col = any($cs)` about as fast as `col = $c` and far faster than `a = $c or b = $c`
    (about 0.05 s against 0.2-0.3 s on a 1M-citizen ledger), so each table is read with one such query
    per citizen column, for all the citizens at once (stories explain five: issue 12), and the rows
    are then dealt out.
    """
    f = {name: _sql_path(folder / f"{name}.parquet")
         for name in ("events", "records", "ledger", "list_events", "measures", "citizens")}
    p = {"cs": [int(c) for c in cs]}
    con = connection().cursor()  # a cursor of the thread's connection: opening a connection costs ~65 ms
    try:
        q = functools.partial(_rows, con)
        led = f"read_parquet({f['ledger']}, file_row_number = true)"
        ties = folder / "ties_cut.parquet"
        appeals = folder / "appeals.parquet"
        has_ties = ties.exists()
        got = {
            "events": q(f"select * from {f['events']} where citizen = any($cs)", p),
            "records": q(f"select * from {f['records']} where citizen = any($cs)", p),
            "records_acted": q(f"select * from {f['records']} where actor = any($cs) and citizen <> actor", p),
            "ledger": q(f"select *, file_row_number as row from {led} where citizen = any($cs)", p),
            "ledger_caused": q(f"select *, file_row_number as row from {led} "
                               "where source_citizen = any($cs) and citizen <> source_citizen", p),
            "lists": q(f"select citizen, day, scorer, list, action, reason, wrongful from {f['list_events']} "
                       "where citizen = any($cs)", p),
            "measures": q(f"select * from {f['measures']} where citizen = any($cs) or cause_citizen = any($cs)", p),
            "citizen": q(f"select * from {f['citizens']} where citizen = any($cs)", p),
            # tables of later run formats: appeals (ways back) and ties cut by avoidance (S1-M7)
            "appeals": q(f"select * from {_sql_path(appeals)} where citizen = any($cs)", p) if appeals.exists() else [],
            "ties_lost": q(f"select * from {_sql_path(ties)} where citizen = any($cs)", p) if has_ties else [],
            "ties_cut": q(f"select * from {_sql_path(ties)} where contact = any($cs)", p) if has_ties else [],
        }
        outs = {}
        for c in p["cs"]:
            out = {
                "events": [r for r in got["events"] if r["citizen"] == c],
                "records": [r for r in got["records"] if r["citizen"] == c]
                + [r for r in got["records_acted"] if r["actor"] == c],
                "ledger": [r for r in got["ledger"] if r["citizen"] == c]
                + [r for r in got["ledger_caused"] if r["source_citizen"] == c],
                "lists": [{k: v for k, v in r.items() if k != "citizen"} for r in got["lists"] if r["citizen"] == c],
                "measures": [r for r in got["measures"] if c in (r["citizen"], r["cause_citizen"])],
                "citizen": [r for r in got["citizen"] if r["citizen"] == c],
                "appeals": [r for r in got["appeals"] if r["citizen"] == c],
                "ties_modelled": has_ties,
                "ties_lost": [r for r in got["ties_lost"] if r["citizen"] == c],
                "ties_cut": [r for r in got["ties_cut"] if r["contact"] == c],
            }
            out["households"] = [{"citizen": c, "household": r["household"]} for r in out["citizen"]]
            outs[c] = out
        others = {c: sorted({r["source_citizen"] for r in o["ledger"] if r["citizen"] == c and r["source_citizen"] >= 0}
                            | {r["cause_citizen"] for r in o["measures"] if r["cause_citizen"] not in (c, -1)}
                            | {r["citizen"] for r in o["measures"] if r["citizen"] != c}) for c, o in outs.items()}
        wanted = sorted(set().union(*others.values()))
        ids = ", ".join(str(int(x)) for x in wanted)  # whole numbers from the tables: safe to inline
        homes = {r["citizen"]: r["household"] for r in q(
            f"select citizen, household from {f['citizens']} where citizen in ({ids})")} if wanted else {}
        for c, o in outs.items():
            o["households"] += [{"citizen": x, "household": homes[x]} for x in others[c] if x in homes]
    finally:
        con.close()
    for out in outs.values():
        out["events"].sort(key=lambda r: (r["day"], r["event_id"]))
        out["records"].sort(key=lambda r: (r["day_recorded"], r["record_id"]))
        out["ledger"].sort(key=lambda r: (r["day"], r["row"]))  # the engine's order within a day
        out["lists"].sort(key=lambda r: (r["day"], r["action"]))
        out["measures"].sort(key=lambda r: r["day"])
        out["appeals"].sort(key=lambda r: (r["day_filed"], r.get("record_id") or -1))
        out["ties_lost"].sort(key=lambda r: (r["day"], r["contact"]))
        out["ties_cut"].sort(key=lambda r: (r["day"], r["citizen"]))
    return outs


# ---------------------------------------------------------------------------------------- words
def _num(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


# ---------------------------------------------------------------------------------------- explain
def explain(folder: Path, citizen: int) -> dict:
    """One citizen's timeline and its plain-language account (see the module docstring)."""
    return explain_many(folder, [citizen])[0]


def explain_many(folder: Path, citizens: list[int]) -> list[dict]:
    """explain() of several citizens of one run, each table read once for all of them."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    n = citizen_count(folder)
    cs = [check_citizen(c, n) for c in citizens]
    info = regime_info(folder)
    raw = _load_many(folder, sorted(set(cs)))
    return [_build(folder, manifest, info, raw[c], c, n) for c in cs]


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
    happenings = _happenings(c, days, info, events, records, put_on_others, points, caused, lists, measures,
                             measures_caused, appeals, ties_lost, ties_cut, final)
    e = {
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
        "scorers": list(info.scorers), "multi": multi, "list_info": info.list_info(),
        "sources": info.cited(happenings), "happenings": happenings,
    }
    if e["sources"]:
        notes.append("Full citations of the sources named above, with their reliability: docs/SOURCES.md ("
                     + ", ".join(s["key"] for s in e["sources"]) + "); mechanism ids: docs/MECHANISMS.md.")
    e["account"] = render_account(e)
    return e


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
    # what the consequences left them with (issue 9), where the run's format has it
    if "income_lost" in me:
        lost = float(me["income_lost"] or 0) + float(me["income_lost_wrongful"] or 0)
        out["circumstances"] = {
            "sector": me.get("sector"), "account": me.get("account"), "online": me.get("online"),
            "savings": me.get("savings"), "income_lost": lost,
            "income_lost_wrongful": float(me["income_lost_wrongful"] or 0),
            "education_lost": int(me.get("education_lost", 0) + me.get("education_lost_wrongful", 0)),
            "police_contacts": int(me.get("police_contacts", 0) + me.get("police_contacts_wrongful", 0)),
            "left_household": me.get("household_final") is not None and me.get("household_final") != me.get(
                "household")}
    return out


# ---------------------------------------------------------------------------------------- happenings
# The account is data first: one happening per thing that happened (a dict with `what`, `day` and the
# facts it needs), in day order; report/templates/account.j2 turns each into a sentence, as plain text
# (the CLI, the `account` key), Markdown or HTML (with links to the mechanisms and sources).
RANK = {"act": 0, "act_elsewhere": 0, "record": 1, "association": 1, "corrected": 1, "caused": 1,
        "redemption": 2, "expunged": 2, "list": 3, "appeal": 4, "ties_lost": 4, "tie_cut": 4, "measure": 5,
        "outcome": 5}


def _no_points_why(rec: dict, info: RegimeInfo, days: int) -> dict:
    """Why a record cost nothing: {'why': after_end | no_rule | window_open | remedied | not_kept, 'days': ...}."""
    if rec["day_recorded"] >= days:
        return {"why": "after_end"}
    rule = next((r for label, r in info.rules.items() if r["scorer"] == rec["scorer"]
                 and r["event"] == rec["event_type"] and ":assoc:" not in label), None)
    if rule is None:
        return {"why": "no_rule"}
    rem = rule.get("remediation")
    if rem:
        why = "window_open" if rec["day_recorded"] + rem["days"] >= days else "remedied"
        return {"why": why, "days": rem["days"]}
    return {"why": "not_kept"}


def _points_fact(p: dict, info: RegimeInfo) -> dict:
    """A rule's point change with what the rule would have given (a cap or the score's limit may cut it)."""
    rule = info.rules.get(p["rule"], {})
    return {"delta": p["delta"], "rule": p["rule"], "full": rule.get("points"), "cap": rule.get("cap"),
            "source": p["source"], "score_after": p["score_after"]}


class _Timeline:
    """Happenings keyed by (day, rank, order of arrival); within a day: acts and points, lists, then measures.

    Redemption rows (one per period) that follow each other with nothing in between become one
    happening, so a long run does not drown the account in '+0.01 points' lines.
    """

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, what: str, day: int, **facts) -> None:
        self.items.append({"what": what, "day": int(day), **facts})

    def ordered(self, info: RegimeInfo) -> list[dict]:
        keyed = sorted(enumerate(self.items), key=lambda it: (it[1]["day"], RANK[it[1]["what"]], it[0]))
        runs: list[dict | list[dict]] = []
        for _, h in keyed:
            if (h["what"] == "redemption" and runs and isinstance(runs[-1], list)
                    and runs[-1][-1]["scorer"] == h["scorer"]):
                runs[-1].append(h)
            else:
                runs.append([h] if h["what"] == "redemption" else h)
        out, told = [], set()
        for r in runs:
            if isinstance(r, dict):
                out.append(r)
                continue
            first, last = r[0], r[-1]
            s = info.scorers.get(first["scorer"])
            out.append({"what": "redemption", "day": first["day"], "scorer": first["scorer"],
                        "total": sum(p["delta"] for p in r), "steps": len(r), "last_day": last["day"],
                        "score_after": last["score_after"], "initial": s.initial if s else None,
                        # the first redemption of a scorer says what it is and cites it
                        "source": first["source"] if first["scorer"] not in told else None})
            told.add(first["scorer"])
        return out


def _happenings(c: int, days: int, info: RegimeInfo, events, records, put_on_others, points, caused, lists,
                measures, measures_caused, appeals, ties_lost, ties_cut, final) -> list[dict]:
    """Everything that happened to the citizen (or through them to others), in day order."""
    out = _Timeline()
    pts_of: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        if p["kind"] == "rule":
            pts_of.setdefault((p["scorer"], p["record_id"]), []).append(p)
    recorded_on_them = {r["event_id"] for r in records if r["kind"] == "true"}
    elsewhere: dict[int, list[dict]] = {}
    for r in put_on_others:
        elsewhere.setdefault(r["event_id"], []).append(r)

    # attempts a door closed on (issue 9): refused by a decision (told with the measure) or by a state
    # an earlier decision caused; trips made a slower way
    decided = {m["event_id"] for m in measures if m.get("event_id", -1) >= 0 and m["effect"] == "refuse"}
    closed = {e["event_id"]: e for e in events if e.get("outcome") in OUTCOME_PHRASE}
    for e in closed.values():
        if e["event_id"] not in decided or e["outcome"] == "substituted":
            out.add("outcome", e["day"], event_type=e["event_type"], outcome=e["outcome"],
                    by_decision=e["event_id"] in decided, wrongful=bool(e.get("wrongful")))

    # true acts that left no record on them: unrecorded, or put on someone else (S1-M4)
    kept = {e["event_id"] for e in events}
    for e in events:
        if e["event_id"] in closed or e.get("outcome", "made") != "made":
            continue
        if e["event_id"] not in recorded_on_them:
            out.add("act", e["day"], event_type=e["event_type"],
                    put_on=[{"channel": r["channel"], "citizen": r["attributed_to"]}
                            for r in elsewhere.get(e["event_id"], [])])
    for r in put_on_others:
        if r["event_id"] not in kept:
            out.add("act_elsewhere", r["day_event"], event_type=r["event_type"], channel=r["channel"],
                    citizen=r["attributed_to"])

    # records about them, each with the points it cost or earned
    for r in records:
        pts = pts_of.get((r["scorer"], r["record_id"]), [])
        day = pts[0]["day"] if pts else (r["day_recorded"] if r["day_recorded"] < days else r["day_event"])
        out.add("record", day, record=r["kind"], channel=r["channel"], scorer=r["scorer"],
                event_type=r["event_type"], actor=r["actor"], day_event=r["day_event"],
                day_recorded=r["day_recorded"], points=[_points_fact(p, info) for p in pts],
                no_points=None if pts else _no_points_why(r, info, days))

    for p in points:
        facts = {k: p[k] for k in ("rule", "delta", "source", "score_after")}
        if p["kind"] == "redemption":
            out.add("redemption", p["day"], scorer=p["scorer"], **facts)
        elif p["kind"] == "association":  # S1-M7
            out.add("association", p["day"], relation=p["relation"], source_citizen=p["source_citizen"],
                    offender_act=p["offender_act"], record_true=p["record_true"],
                    association_source=p["association_source"], **facts)
        elif p["kind"] == "appeal":  # ways back: a corrected record gives its points back
            out.add("corrected", p["day"], act=p["act"], **facts)
        elif p["kind"] == "expunge":
            out.add("expunged", p["day"], act=p["act"], record_day=p.get("record_day"), **facts)
    for a in appeals:
        out.add("appeal", a["day_filed"], list=a.get("list") if a.get("kind") == "list" else None, act=a["act"],
                day_decided=a["day_decided"], pending=a["day_decided"] >= days, success=bool(a["success"]),
                source=a["source"])
    by_day: dict[tuple[int, str], list[int]] = {}
    for t in ties_lost:
        by_day.setdefault((t["day"], t["list"]), []).append(t["contact"])
    for (day, label), contacts in by_day.items():
        s = info.scorers.get(info.lists.get(label, {}).get("scorer", ""))
        out.add("ties_lost", day, list=label, contacts=contacts, source=s.avoidance_source if s else "assumption")
    for t in ties_cut:
        out.add("tie_cut", t["day"], citizen=t["citizen"], list=t["list"])
    groups: dict[tuple[int, str, int], list[dict]] = {}
    for r in caused:
        groups.setdefault((r["day"], r["rule"], r["record_id"]), []).append(r)
    for (day, rule, _), rows in groups.items():
        out.add("caused", day, rule=rule, people=len({r["citizen"] for r in rows}),  # a member who is also a contact
                amount=abs(sum(r["delta"] for r in rows)))                           # has two rows

    for r in lists:
        out.add("list", r["day"], **_list_facts(r, info, records, points))
    for m in measures:
        out.add("measure", m["day"], **_measure_facts(m, c, info, self_view=True))
    for m in measures_caused:
        out.add("measure", m["day"], **_measure_facts(m, c, info, self_view=False))

    happened = out.ordered(info)
    if final:
        happened.append({"what": "end", "day": days - 1, "final": final})
    return happened


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


def _list_facts(r: dict, info: RegimeInfo, records: list[dict], points: list[dict]) -> dict:
    """An entry onto or exit from a list, with why: the tier reached or the record that qualified."""
    d = info.lists.get(r["list"], {})
    facts = {"list": r["list"], "action": r["action"], "reason": r["reason"], "wrongful": bool(r["wrongful"]),
             "source": r["source"], "min_count": d.get("min_count", 1), "after_days": d.get("after_days"),
             "exit_records": d.get("exit_records", []), "tier": None, "trigger_act": None}
    if r["action"] == "enter":
        if r["reason"] == "tier":
            facts["tier"] = _tier_on(r["day"], r["scorer"], info, points)
        else:
            trig = [x for x in records if x["day_recorded"] == r["day"] and x["scorer"] == r["scorer"]
                    and x["event_type"] in d.get("entry_records", [])]
            trig.sort(key=lambda x: not x["record_true"])  # a true record, if any, is the one that counts
            facts["trigger_act"] = trig[0]["event_type"] if trig else None
    return facts


def _measure_facts(m: dict, c: int, info: RegimeInfo, self_view: bool) -> dict:
    """A measure the citizen met, or one a household member met because of them (S1-M6).

    Gates act at an attempt ('at buying a plane ticket'); on_record measures answer a record
    (alerts, advice: S1-M4, S2-N3); list-entry measures act on joining a list (job loss).
    """
    d = info.measures.get(m["measure"], {})
    return {"view": "self" if self_view else "other", "kind": m["kind"], "measure": m["measure"],
            "domain": m["domain"], "effect": m["effect"], "price_factor": m["price_factor"] or 1.0,
            "on_record": d.get("on_record"), "event_type": m.get("event_type"),
            "on_list_entry": d.get("on_list_entry"), "condition": d.get("condition") or "",
            "citizen": m["citizen"], "cause_citizen": m["cause_citizen"], "wrongful": bool(m["wrongful"]),
            "money": m.get("money") or 0.0, "source": m["source"]}


# ---------------------------------------------------------------------------------------- rendering
def _account_context(e: dict) -> dict:
    return {"citizen": e["citizen"], "days": e["days"], "multi": e["multi"], "lists": e["list_info"],
            "source_keys": {s["text"]: s["key"] for s in e["sources"]}, "description": DESCRIPTION,
            "agent": CHANNEL_AGENT, "record_noun": RECORD_NOUN, "effect_verb": EFFECT_VERB, "exit_why": EXIT_WHY,
            "outcome_phrase": OUTCOME_PHRASE, "circumstance": CIRCUMSTANCE}


def render_account(e: dict, mode: str = "text", docs: str = "docs/", citizen_url: str | None = None) -> list[str]:
    """The account of an explanation, one sentence per happening: plain text, Markdown or HTML (links to the
    mechanism and source documents in `docs`, and to other citizens through `citizen_url`, e.g. '?id={}')."""
    from scorelab.report.render import account_lines

    return account_lines(e["happenings"], mode, _account_context(e), docs=docs, citizen_url=citizen_url)


def explain_text(e: dict) -> str:
    """The explanation as plain text: a heading line, the account and the notes (what `scorelab explain` prints)."""
    from scorelab.report.render import render_text

    return render_text("explain.txt.j2", e=e, account=render_account(e, "text"))


def explain_markdown(e: dict, docs: str = "docs/") -> str:
    from scorelab.report.render import render_text

    return render_text("explain.md.j2", mode="md", e=e, account=render_account(e, "md", docs), docs=docs)


def explain_html(e: dict, docs: str = "docs/", citizen_url: str | None = None) -> str:
    """An HTML fragment (a list of sentences and the notes), escaped, with links."""
    from scorelab.report.render import render_html

    return render_html("explain.html.j2", e=e, account=render_account(e, "html", docs, citizen_url), docs=docs)
