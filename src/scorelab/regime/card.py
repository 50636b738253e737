"""The regime card (issue 3): what a regime observes, scores, sanctions and rewards, and where it crosses lines.

`regime_card(regime)` returns the structured card (plain dicts and lists, JSON-ready);
`card_markdown(card)` and `card_html(card)` render it. Both renderings come from the same list of
blocks, so they say the same thing.

The card traces, for every sanction, which event types can trigger it and from which domain of
life they come (the data flow), and raises flags in the terms of EU AI Act Art. 5(1)(c):
(i) detrimental treatment in a social context unrelated to where the data was gathered, and
(ii) treatment unjustified or disproportionate to the behaviour; beside them guilt by
association (S1-M7), no route of appeal, and sanctions on people who were not the actor
(S1-M6: children barred from college).

The analysis is per scorer (S2-N6 topology): a sanction's condition can only read its own
scorer's lists, tiers, score and records. A unified regime joins every channel in one scorer, so
any record can reach any sanction; a fragmented regime (independent scorers that share no data)
comes out differently because each sanction is fed only by what its own scorer observes.
"""

from __future__ import annotations

from collections import defaultdict

from scorelab.behaviour.catalogue import CATALOGUE, EVENT_INDEX, event_type
from scorelab.regime.schema import Condition, ListDef, Measure, Regime, Scorer
from scorelab.report.render import plain as _num
from scorelab.report.render import render_html, render_text
from scorelab.report.sources import cite

CARD_VERSION = 1

# --- life domains: where the data was gathered -------------------------------------------------
# A life domain is the catalogue category of the event; attempts (gated actions) are mapped by event.
LIFE_DOMAINS = ("finance", "legal", "civic", "nuisance", "consumption", "travel", "online", "presence",
                "work", "schooling")
ATTEMPT_LIFE_DOMAIN = {
    "flight_purchase": "travel", "rail_purchase": "travel", "restaurant_visit": "consumption",
    "venue_visit": "presence", "loan_application": "finance", "insurance_purchase": "consumption",
    "account_opening": "finance", "rental": "consumption", "large_purchase": "consumption",
    "utility_payment": "consumption", "job_application": "work", "college_application": "schooling",
    "school_enrolment": "schooling", "platform_sale": "work",
}

# --- Art. 5(1)(c)(i): which sanction domains are related to the context where data was gathered -------
# Data from a life domain may be used for detrimental treatment in these sanction domains and no
# others. Finance records bear on credit, insurance, payments, rent deposits and utility deposits;
# court and police records on employment (S2-N2: criminal records checked by employers); nuisance on
# housing; purchases on payments; travel records on travel; presence on venues. Civic life and online
# expression are related to no sanction domain (e.g. online expression -> travel is unrelated).
RELATED: dict[str, frozenset[str]] = {
    "finance": frozenset({"finance", "insurance", "payments", "housing", "utilities", "commerce"}),
    "legal": frozenset({"employment", "policing"}),
    "civic": frozenset(),
    "nuisance": frozenset({"housing"}),
    "consumption": frozenset({"payments"}),
    "travel": frozenset({"travel"}),
    "online": frozenset({"internet"}),
    "presence": frozenset({"venues", "policing"}),
    "work": frozenset({"employment"}),
    "schooling": frozenset({"education"}),
}
# A sanction in domain 'other' names no social context, so relatedness is not judged for it.
UNJUDGED_DOMAINS = frozenset({"other"})

# --- Art. 5(1)(c)(ii): severe sanctions and minor behaviour ---------------------------------------
SEVERE_DOMAINS = frozenset({"travel", "education", "employment", "payments", "commerce", "internet"})
SEVERE_EFFECTS = frozenset({"refuse", "suspend", "dismiss"})
# job loss; a police alert for immediate action (S1-M4, S1-M9); a closed bank account (S1-M13); cut off the internet
ALWAYS_SEVERE = frozenset({"dismiss", "alert", "close_account", "cut_internet"})
MINOR_POINTS = 10.0  # a nuisance penalised by at most this many points is minor

PUNITIVE_LISTS = frozenset({"black", "gray", "watch", "no_fly"})

FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("unrelated_context", "Detrimental treatment in an unrelated social context", "EU AI Act Art. 5(1)(c)(i)",
     "a sanction is fed by data gathered in a life domain unrelated to the sanction's domain"),
    ("disproportionate", "Unjustified or disproportionate treatment", "EU AI Act Art. 5(1)(c)(ii)",
     "lawful expression or movement, or a minor nuisance, can lead to a severe sanction (refusal of travel, "
     "education, employment or payments, job loss, or a police alert)"),
    ("guilt_by_association", "Guilt by association", "S1-M7; S1-M6",
     "penalties spill over to household members and contacts, or a sanction rests on a relative's record"),
    ("no_appeal", "No route of appeal", "punitive lists",
     "a punitive list (black, gray, watch, no_fly) that a citizen cannot contest"),
    ("not_the_actor", "Sanctions on people who were not the actor", "S1-M6",
     "a sanction falls on a household member of the person who meets the condition"),
)
SECTIONS = ("What it observes", "What it scores", "What it sanctions and rewards", "Which data feeds which sanction",
            "Flags", "How the flags are decided")


def life_domain(event: str) -> str:
    """The domain of life an event type belongs to (its catalogue category; attempts by event)."""
    e = event_type(event)
    if e.category == "system":  # what the system did to the citizen (a police stop): a police record
        return "legal"
    return ATTEMPT_LIFE_DOMAIN.get(event, "consumption") if e.category == "attempt" else e.category


def is_severe(m: Measure) -> bool:
    """Refusal of travel, education, employment or payments, job loss, or a police alert."""
    return m.effect in ALWAYS_SEVERE or (m.effect in SEVERE_EFFECTS and m.domain in SEVERE_DOMAINS)


# ============================================================================ structured card
def regime_card(regime: Regime) -> dict:
    """The structured card of a validated regime (see module docstring)."""
    scorers = [_scorer_card(s) for s in regime.scorers]
    flows = [row for s, sc in zip(regime.scorers, scorers, strict=True) for row in _flows(s, sc)]
    by_event: dict[str, set[str]] = defaultdict(set)
    matrix: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in flows:
        for ev in row["events"]:
            by_event[ev["event"]].add(row["domain"])
            cell = matrix[ev["life_domain"]][row["domain"]]
            label = f"{row['scorer']}/{row['measure']}"
            if label not in cell:
                cell.append(label)
    flags = _flags(regime, scorers, flows)
    return {
        "card_version": CARD_VERSION,
        "regime": {"name": regime.name, "title": regime.title, "description": regime.description.strip(),
                   "topology": regime.topology, "mechanisms": list(regime.mechanisms)},
        "topology_note": _topology_note(regime),
        "scorers": scorers,
        "data_flow": flows,
        "by_event": {e: sorted(d) for e, d in sorted(by_event.items(), key=lambda kv: EVENT_INDEX[kv[0]])},
        "matrix": {ld: {d: v for d, v in sorted(row.items())} for ld, row in _by_life_domain(matrix)},
        "flags": flags,
        "criteria": _criteria(),
        "references": {k: _reference(k, r) for k, r in regime.references.items()},
    }


def _reference(key: str, ref) -> dict:
    """The regime's own entry plus the project's full citation and grade (docs/SOURCES.md)."""
    c = cite(key, ref)
    return {"title": ref.title, "document": ref.document, "url": c["url"] or ref.url, "reliability": ref.reliability,
            "citation": c["citation"], "grade": c["grade"]}


def _by_life_domain(matrix):
    return [(ld, matrix[ld]) for ld in LIFE_DOMAINS if ld in matrix]


def _topology_note(regime: Regime) -> str:
    if not regime.scorers:
        return "No scorer: nothing is observed, scored or sanctioned."
    base = ("Each scorer is analysed on its own (S2-N6): a sanction can only read its own scorer's records, "
            "lists, tiers and score.")
    if regime.topology == "unified":
        return base + (" Here one scorer joins every channel it has, so any record it keeps can reach any of "
                       "its sanctions.")
    return base + (f" Here {len(regime.scorers)} independent scorers share no data, so each sanction is fed "
                   "only by what its own scorer observes.")


def _prov(block) -> str:
    return f"source: {block.source}" if block.source else "assumption"


def _sees(name: str, ch) -> list[str]:
    """Event types a channel can see at all (catalogue channels, limited by `observes`)."""
    return [e.name for e in CATALOGUE if name in e.channels and (ch.observes is None or e.name in ch.observes)]


def _acted_on(s: Scorer) -> list[str]:
    """Record types the scorer uses: rules, list entry and exit records, measure conditions."""
    used = {r.event for r in s.rules}
    for lst in s.lists:
        used |= set(lst.entry.records) | set(lst.exit.on_records)
    for _, m in _measures(s):
        if m.when is not None:
            used |= set(m.when.records)
        if _on_record(m):
            used.add(_on_record(m))
    return sorted(used, key=EVENT_INDEX.__getitem__)


def _measures(s: Scorer) -> list[tuple[str, Measure]]:
    """(kind, measure) for sanctions, rewards and responses (answers to data such as advice, S2-N3)."""
    return ([("sanction", m) for m in s.sanctions] + [("reward", m) for m in s.rewards]
            + [("response", m) for m in getattr(s, "responses", ())])


def _on_record(m: Measure) -> str | None:
    return getattr(m, "on_record", None)


def _trigger_text(m: Measure) -> str:
    if m.gate:
        return f"gate {m.gate}"
    if m.on_list_entry:
        return f"on entry to list {m.on_list_entry}"
    return f"on a record of {_on_record(m)}"


def _measure_condition(m: Measure) -> str:
    """The condition as the engine applies it: `when` at gates and on records; list entry otherwise."""
    if m.on_list_entry:
        return f"joins list {m.on_list_entry}"
    cond = _condition_text(m.when)
    if m.gate:
        return cond
    return f"recorded for {_on_record(m)}" + (f", and {cond}" if cond else "")


def _crowd_text(ch) -> str | None:
    c = getattr(ch, "crowd", None)
    if c is None:
        return None
    return (f"pile-on (S1-M11): recorded when {c.threshold} contacts report; each joins with share(age) x "
            f"{_num(c.often)}")


def _scorer_card(s: Scorer) -> dict:
    acted = _acted_on(s)
    channels = []
    observable: set[str] = set()
    for name, ch in s.channels.items():
        sees = _sees(name, ch)
        observable |= set(sees)
        channels.append({
            "name": name, "coverage": ch.coverage, "coverage_growth_per_year": ch.coverage_growth_per_year,
            "miss": ch.miss, "misattribution": ch.misattribution, "invented_per_million": ch.invented_per_million,
            "delay_days": ch.delay_days, "observes_limit": list(ch.observes) if ch.observes is not None else None,
            "can_see": sees, "acts_on": [e for e in sees if e in acted], "crowd": _crowd_text(ch),
            "provenance": _prov(ch),
            "description": ch.description,
        })
    sc = s.score
    return {
        "name": s.name,
        "description": s.description,
        "channels": channels,
        "acted_on": acted,
        "unobserved": [e for e in acted if e not in observable],
        "observable": sorted(observable, key=EVENT_INDEX.__getitem__),
        "score": {"initial": sc.initial, "min": sc.min, "max": sc.max, "provenance": _prov(sc),
                  "redemption": sc.redemption.model_dump(mode="json") if sc.redemption else None},
        "rules": [{"name": r.name, "event": r.event, "life_domain": life_domain(r.event), "points": r.points,
                   "cap": r.cap.model_dump(mode="json") if r.cap else None,
                   "remediation": r.remediation.model_dump(mode="json") if r.remediation else None,
                   "associate": r.associate, "provenance": _prov(r), "description": r.description}
                  for r in s.rules],
        "tiers": [{"name": t.name, "min": t.min} for t in s.tiers.tiers] if s.tiers else [],
        "lists": [_list_card(lst) for lst in s.lists],
        "sanctions": [_measure_card(m, "sanction") for m in s.sanctions],
        "rewards": [_measure_card(m, "reward") for m in s.rewards],
        "responses": [_measure_card(m, "response") for k, m in _measures(s) if k == "response"],
        "association": _dump(s.association),
        "appeals": _dump(s.appeals),
        "memory": _dump(s.memory),
        "avoidance": _dump(getattr(s, "avoidance", None)),
    }


def _dump(block) -> dict | None:
    if block is None:
        return None
    d = block.model_dump(mode="json", exclude={"source", "assumption"})
    d["provenance"] = _prov(block)
    return d


def _list_card(lst: ListDef) -> dict:
    ex = lst.exit
    return {"name": lst.name, "kind": lst.kind, "punitive": lst.kind in PUNITIVE_LISTS,
            "entry": lst.entry.model_dump(mode="json"), "exit": ex.model_dump(mode="json"), "provenance": _prov(lst),
            "description": lst.description}


def _measure_card(m: Measure, kind: str) -> dict:
    return {
        "name": m.name, "kind": kind, "domain": m.domain,
        "trigger": ({"gate": m.gate} if m.gate else {"on_list_entry": m.on_list_entry} if m.on_list_entry
                    else {"on_record": _on_record(m)}),
        "trigger_text": _trigger_text(m),
        "condition": _measure_condition(m),
        "effect": m.effect, "effect_text": _effect_text(m), "price_factor": m.price_factor,
        "probability": m.probability, "who": m.who, "sectors": list(m.sectors), "severe": is_severe(m),
        "provenance": _prov(m), "description": m.description,
    }


def _effect_text(m: Measure) -> str:
    if m.effect == "price":
        return f"price x{_num(m.price_factor)}"
    return m.effect


def _condition_text(c: Condition | None) -> str:
    if c is None:
        return ""
    parts = []
    if c.lists:
        parts.append("on list " + " or ".join(c.lists))
    if c.tiers:
        parts.append("in tier " + " or ".join(c.tiers))
    if c.records:
        parts.append("ever recorded for " + " or ".join(c.records))
    if c.score_below is not None:
        parts.append(f"score < {_num(c.score_below)}")
    if c.score_at_least is not None:
        parts.append(f"score >= {_num(c.score_at_least)}")
    return "; or ".join(parts)


# ============================================================================ data flow
def _scored(s: Scorer) -> list[str]:
    return [r.event for r in s.rules if r.points != 0]


def _list_feeds(s: Scorer, lst: ListDef, via: dict[str, list[str]]) -> None:
    for e in lst.entry.records:
        _add(via, e, f"list {lst.name} (record)")
    if lst.entry.tiers:
        for e in _scored(s):
            _add(via, e, f"list {lst.name} (tier {', '.join(lst.entry.tiers)})")


def _add(via: dict[str, list[str]], event: str, how: str) -> None:
    if how not in via[event]:
        via[event].append(how)


def measure_feeds(s: Scorer, m: Measure) -> dict[str, list[str]]:
    """Event types whose records can trigger the measure's condition, each with the path it takes."""
    via: dict[str, list[str]] = defaultdict(list)
    lists = {lst.name: lst for lst in s.lists}
    if m.on_list_entry is not None:
        _list_feeds(s, lists[m.on_list_entry], via)
        return via
    if _on_record(m):
        _add(via, _on_record(m), "record")
    w = m.when
    if w is None:
        return via
    for e in w.records:
        _add(via, e, "record")
    for name in w.lists:
        _list_feeds(s, lists[name], via)
    if w.tiers:
        for e in _scored(s):
            _add(via, e, f"tier {', '.join(w.tiers)}")
    if w.score_below is not None or w.score_at_least is not None:
        for e in _scored(s):
            _add(via, e, "score")
    return via


def _directness(how: str) -> int:
    """Paths from a record straight to the condition come before paths through the score."""
    return 0 if how == "record" or how.endswith("(record)") else 1


def _rule_points(s: Scorer) -> dict[str, float]:
    return {r.event: r.points for r in s.rules}


def is_minor(event: str, points: float | None) -> bool:
    """Lawful expression or movement, or a minor nuisance (|points| <= MINOR_POINTS, or not scored)."""
    e = event_type(event)
    return e.expression or (e.category == "nuisance" and abs(points or 0.0) <= MINOR_POINTS)


def _flows(s: Scorer, sc: dict) -> list[dict]:
    observable = set(sc["observable"])
    points = _rule_points(s)
    rows = []
    for m in s.sanctions:
        via = measure_feeds(s, m)
        events, unobserved = [], []
        for e in sorted(via, key=EVENT_INDEX.__getitem__):
            if e not in observable:
                unobserved.append(e)
                continue
            et = event_type(e)
            events.append({"event": e, "life_domain": life_domain(e), "via": sorted(via[e], key=_directness),
                           "points": points.get(e),
                           "expression": et.expression, "minor": is_minor(e, points.get(e))})
        domains = sorted({ev["life_domain"] for ev in events}, key=LIFE_DOMAINS.index)
        judged = m.domain not in UNJUDGED_DOMAINS
        rows.append({
            "scorer": s.name, "measure": m.name, "domain": m.domain, "who": m.who, "effect": m.effect,
            "trigger_text": _trigger_text(m),
            "severe": is_severe(m), "events": events, "unobserved": unobserved, "life_domains": domains,
            "related": [d for d in domains if judged and m.domain in RELATED[d]],
            "unrelated": [d for d in domains if judged and m.domain not in RELATED[d]],
            "judged": judged,
        })
    return rows


# ============================================================================ flags
def _flags(regime: Regime, scorers: list[dict], flows: list[dict]) -> list[dict]:
    items: dict[str, list[dict]] = {f[0]: [] for f in FLAGS}
    for row in flows:
        if row["unrelated"]:
            items["unrelated_context"].append(_item(row["scorer"], "measure", row["measure"], _lists_in(row),
                                                    _unrelated_reason(row)))
        minor = sorted((ev for ev in row["events"] if ev["minor"]),
                       key=lambda ev: (_directness(ev["via"][0]), not ev["expression"]))
        if row["severe"] and minor:
            items["disproportionate"].append(_item(row["scorer"], "measure", row["measure"],
                                                   _rules_lists(regime, row, minor), _minor_reason(row, minor)))
    for s in regime.scorers:
        _association_items(s, items)
        _appeal_items(s, items)
    flags = []
    for fid, title, article, description in FLAGS:
        if items[fid]:
            flags.append({"id": fid, "title": title, "article": article, "description": description,
                          "items": items[fid]})
    return flags


def _item(scorer: str, kind: str, name: str, involves: list[str], reason: str) -> dict:
    return {"scorer": scorer, "kind": kind, "name": name, "involves": involves, "reason": reason}


def _lists_in(row: dict) -> list[str]:
    out = []
    for ev in row["events"]:
        for how in ev["via"]:
            if how.startswith("list "):
                name = "list " + how.split()[1]
                if name not in out:
                    out.append(name)
    return out


def _rules_lists(regime: Regime, row: dict, events: list[dict]) -> list[str]:
    s = next(x for x in regime.scorers if x.name == row["scorer"])
    rule_of = {r.event: r.name for r in s.rules}
    out = [f"rule {rule_of[ev['event']]}" for ev in events if ev["event"] in rule_of]
    for name in _lists_in({"events": events}):
        if name not in out:
            out.append(name)
    return out


def _what(row: dict) -> str:
    who = " to a household member" if row["who"] == "household" else ""
    return f"{row['effect']} in {row['domain']}{who} ({row['trigger_text']})"


def _unrelated_reason(row: dict) -> str:
    parts = []
    for d in row["unrelated"]:
        evs = [ev["event"] for ev in row["events"] if ev["life_domain"] == d]
        parts.append(f"{d} ({_some(evs)})")
    return f"{_what(row)} is fed by data from unrelated life domains: {'; '.join(parts)}"


def _minor_reason(row: dict, minor: list[dict]) -> str:
    def label(ev):
        pts = f", {_num(ev['points'])} points" if ev["points"] is not None else ""
        return f"{ev['event']} ({'expression' if ev['expression'] else 'minor nuisance'}{pts}; via {ev['via'][0]})"

    return f"severe sanction, {_what(row)}, can follow {', '.join(label(ev) for ev in minor[:4])}" + (
        f" and {len(minor) - 4} more" if len(minor) > 4 else "")


def _some(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (f" +{len(names) - k} more" if len(names) > k else "")


def _spilling_rules(s: Scorer) -> list:
    a = s.association
    if a is None or (a.household_share <= 0 and a.contact_share <= 0):
        return []
    return [r for r in s.rules if r.associate and r.points < 0 and -r.points >= a.min_points]


def _association_items(s: Scorer, items: dict[str, list[dict]]) -> None:
    """S1-M7 association shares and S1-M6 household measures."""
    a = s.association
    for r in _spilling_rules(s):
        reach = []
        if a.household_share > 0:
            reach.append(f"{_num(a.household_share * 100)}% to each household member")
        if a.contact_share > 0:
            reach.append(f"{_num(a.contact_share * 100)}% to each contact (share^hop, {a.hops} hop(s))")
        items["guilt_by_association"].append(_item(
            s.name, "rule", r.name, ["association"],
            f"a penalty of {_num(r.points)} points for {r.event} passes {' and '.join(reach)} (S1-M7), "
            "lowering scores, tiers and tier-based lists of people who did nothing"))
    for kind, m in _measures(s):
        if m.who != "household":
            continue
        cond = _measure_condition(m)
        what = f"{m.effect} in {m.domain} ({_trigger_text(m)})"
        lists = [f"list {x}" for x in (m.when.lists if m.when else ())]
        items["guilt_by_association"].append(_item(
            s.name, "measure", m.name, lists, f"{what} rests on another household member's status: {cond} (S1-M6)"))
        if kind == "sanction":
            items["not_the_actor"].append(_item(
                s.name, "measure", m.name, lists,
                f"{what} falls on a citizen because another household member meets '{cond}'; the one sanctioned "
                "did nothing recorded (S1-M6: children barred from college)"))


def _appeal_items(s: Scorer, items: dict[str, list[dict]]) -> None:
    """A punitive list without `exit.appeal` has no route of appeal unless record appeals reach every way in.

    Record appeals (scorer `appeals`, issue 5) contest a record that cost points; a correction gives
    the points back and takes the citizen off a list joined on that record. They cannot reach a list
    entered on records that cost no points, points passed on by association (the receiver cannot
    appeal them), or a tier-entered list that is kept when the tier recovers.
    """
    points = _rule_points(s)
    spill = bool(_spilling_rules(s))
    for lst in s.lists:
        if lst.kind not in PUNITIVE_LISTS or lst.exit.appeal is not None:
            continue
        if s.appeals is None:
            gaps = ["no `exit.appeal` and the scorer has no record `appeals`"]
        else:
            gaps = []
            free = [e for e in lst.entry.records if (points.get(e) or 0) >= 0]
            if free:
                gaps.append(f"entered on records that cost no points ({', '.join(free)}), which record appeals "
                            "cannot contest")
            if lst.entry.tiers and spill:
                gaps.append(f"entered by tier ({', '.join(lst.entry.tiers)}), which association points "
                            "(S1-M7) can cause and the receiver cannot appeal")
            if lst.entry.tiers and not lst.exit.on_tier_recovery:
                gaps.append("kept when the tier recovers, so a corrected record does not take the citizen off")
            if gaps:
                gaps.insert(0, "no `exit.appeal`")
        if gaps:
            items["no_appeal"].append(_item(s.name, "list", lst.name, [],
                                            f"{lst.kind} list: " + "; ".join(gaps)))


def _criteria() -> dict:
    return {
        "life_domain": "catalogue category of the event; attempts: " + ", ".join(
            f"{k} -> {v}" for k, v in ATTEMPT_LIFE_DOMAIN.items()),
        "related": {d: sorted(v) for d, v in RELATED.items()},
        "unjudged_domains": sorted(UNJUDGED_DOMAINS),
        "severe": f"effect {' or '.join(sorted(ALWAYS_SEVERE))}, or effect "
                  f"{'/'.join(sorted(SEVERE_EFFECTS - ALWAYS_SEVERE))} in "
                  f"{', '.join(sorted(SEVERE_DOMAINS))}",
        "minor": f"catalogue expression=True (lawful expression or movement), or a nuisance penalised by at most "
                 f"{_num(MINOR_POINTS)} points",
        "punitive_lists": sorted(PUNITIVE_LISTS),
        "triggers": "when.records; when.lists -> each list's entry.records, and for tier-entered lists every "
                    "event type a rule scores; when.tiers and score conditions -> every event type a rule scores; "
                    "event types no channel of the scorer can see are left out (they never make a record)",
    }


# ============================================================================ rendering
def _render(card: dict, mode: str, docs: str, offset: int = 0) -> str:
    ctx = {"card": card, "card_sections": SECTIONS, "life_domain": life_domain, "docs": docs, "offset": offset}
    return render_html("card.j2", **ctx) if mode == "html" else render_text("card.j2", mode="md", **ctx)


def card_markdown(card: dict, docs: str = "docs/") -> str:
    """The card as Markdown (what `scorelab describe` prints); mechanism ids and sources link into `docs`."""
    return _render(card, "md", docs).rstrip("\n") + "\n"


def card_fragment(card: dict, docs: str = "docs/", offset: int = 0) -> str:
    """The card as an HTML fragment (headings shifted down by `offset`, for the report)."""
    return _render(card, "html", docs, offset)


def card_html(card: dict, docs: str = "docs/") -> str:
    """The card as one self-contained HTML page (inline CSS, no external resources)."""
    return render_html("card_page.html.j2", card=card, body=card_fragment(card, docs))
