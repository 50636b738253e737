"""The figures quoted in README.md and docs/PRESETS.md, regenerated from replication sets.

One command reruns everything (about 20 minutes on two cores, 17 min on 2026-11-29: 10 replications of six presets at
100,000 citizens x 365 days, each with its paired baseline):

    .venv/bin/python scripts/figures.py

It makes the missing sets in `runs/figures/` (existing complete sets are reused; `--fresh` starts
over), writes `docs/figures.json` (every figure with its 95% interval, and the calibration against
facts.md) and rewrites the generated blocks between `<!-- figures:NAME begin -->` and
`<!-- figures:NAME end -->` in README.md and docs/PRESETS.md. `--render-only` rewrites the blocks
from docs/figures.json without running anything; tests/test_figures.py fails when the blocks and
the JSON disagree.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures.json"
README = ROOT / "README.md"
PRESETS_MD = ROOT / "docs" / "PRESETS.md"
PRESETS = ("unified", "court-blacklist", "rongcheng", "fragmented", "cancel-culture", "sesame")
BLOCK = re.compile(r"(<!-- figures:(?P<name>[a-z-]+) begin -->\n)(?P<body>.*?)(<!-- figures:(?P=name) end -->)", re.S)


# ---------------------------------------------------------------------------- making the sets
def make_sets(runs: Path, presets, replications: int, citizens: int, days: int, seed: int, fresh: bool) -> dict:
    """One replication set per preset (reused when a complete one with these settings exists)."""
    from scorelab import api
    from scorelab.store.sets import list_sets

    if fresh and runs.exists():
        shutil.rmtree(runs)
    sets = {}
    for preset in presets:
        found = [s for s in list_sets(runs) if s["regime"] == preset and s["citizens"] == citizens
                 and s["days"] == days and s["seeds"] == list(range(seed, seed + replications))]
        if found:
            sets[preset] = found[-1]["set_id"]
            print(f"{preset}: reusing {sets[preset]}", flush=True)
            continue
        print(f"{preset}: {replications} x {citizens:,} x {days} ...", flush=True)
        folder = api.run(preset, citizens=citizens, days=days, seed=seed, runs=runs, replications=replications)
        sets[preset] = folder.name
    return sets


def resummarize(runs: Path, sets: dict) -> None:
    """Recompute each run's summary.json (baselines first) and each set's summary from the run folders."""
    from scorelab.metrics.summary import summarize
    from scorelab.store.sets import SUMMARY, read_set, set_summary_of

    for set_id in sets.values():
        doc = read_set(runs / set_id)
        for run_id in [b for b in doc["baselines"] if b] + doc["runs"]:
            (runs / run_id / SUMMARY).write_text(json.dumps(summarize(runs / run_id), indent=2, default=float))
        (runs / set_id / SUMMARY).write_text(json.dumps(set_summary_of(runs, doc), indent=2, default=float))


# ---------------------------------------------------------------------------- collecting the figures
def collect(runs: Path, sets: dict) -> dict:
    """docs/figures.json: per preset the set summary's headline measures, and the calibration."""
    from scorelab import api
    from scorelab.metrics.calibration import NO_TARGET, TARGETS
    from scorelab.metrics.intervals import stat

    out: dict = {"generated": datetime.now(UTC).isoformat(timespec="seconds"), "command": "scripts/figures.py",
                 "commit": _commit(), "sets": sets, "presets": {}, "calibration": [], "no_calibration": {}}
    for preset, set_id in sets.items():
        s = api.summary(set_id, runs)
        out.setdefault("citizens", s["citizens"])
        out.setdefault("days", s["days"])
        out.setdefault("seeds", s["seeds"])
        out["presets"][preset] = _headline(s)
        folders = [runs / r for r in s["runs"]]
        for t in (t for t in TARGETS if t.preset == preset):
            st = stat([t.measure(f) for f in folders])
            out["calibration"].append({
                "preset": preset, "key": t.key, "what": t.what, "published": t.published, "target": t.target,
                "derivation": t.derivation, "unit": t.unit, "model": st,
                "within_20pct": bool(st and t.matches(st["mean"])), "if_missed": t.if_missed})
        if preset in NO_TARGET:
            out["no_calibration"][preset] = NO_TARGET[preset]
    if "unified" in sets:
        out["example"] = _example(runs, sets["unified"])
    return out


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _get(s: dict, *path):
    for k in path:
        s = (s or {}).get(k) if isinstance(s, dict) else None
    return s


def _scaled(m: dict | None, factor: float) -> dict | None:
    if not m:
        return None
    return {**m, "mean": m["mean"] * factor, "sd": m["sd"] * factor if m.get("sd") is not None else None,
            "ci95": [x * factor for x in m["ci95"]] if m.get("ci95") else None}


def _headline(s: dict) -> dict:
    """The measures the README and PRESETS.md quote, each {mean, sd, ci95, n, interval}."""
    per_1000 = 1000 * 365 / (s["citizens"] * s["days"])
    sanctions = _get(s, "sanctions_per_1000") or {}
    top = sorted(sanctions.items(), key=lambda kv: -kv[1]["mean"])[:5]
    scores = {name: {**{k: sc.get(k) for k in ("range", "initial", "mean_position", "initial_position",
                                               "below_initial_tier_share", "bottom_tier_share",
                                               "worse_tier_from_false_share")},
                     "tiers": {t: v.get("share") for t, v in (sc.get("tiers") or {}).items()}}
              for name, sc in (s.get("scores") or {}).items()}
    impact = _get(s, "by_group", "disparate_impact", "age_band") or {}
    deciles = _get(s, "by_group", "groups", "income_decile") or {}
    return {
        "wall_seconds": s.get("wall_seconds"),
        "sanctions_per_1000": _scaled(s.get("sanctions_total"), per_1000),
        "rewards_per_1000": _scaled(s.get("rewards_total"), per_1000),
        "top_sanctions": [[name, m] for name, m in top],
        "sanctions_by_measure": sanctions,
        "ties_cut": _get(s, "network", "ties_cut"),
        "wrongful_sanction_share": s.get("wrongful_sanction_share"),
        "wrongful_reward_share": s.get("wrongful_reward_share"),
        "false_records": s.get("false_records"),
        "falsely_recorded_share": s.get("falsely_recorded_share"),
        "wrongly_listed_share": s.get("wrongly_listed_share"),
        "worse_tier_from_false_share": s.get("worse_tier_from_false_share"),
        "antisocial_change": s.get("antisocial_change"),
        "expression_change": s.get("expression_change"),
        "behaviour_change": {k: v for k, v in (s.get("behaviour_change") or {}).items()
                             if k in ("drunk_driving", "traffic_violation", "antigov_post", "junk_food_purchase")},
        "collateral_share": _get(s, "network", "collateral_share"),
        "ties_lost_listed": _get(s, "network", "mean_degree_lost_listed"),
        "ties_lost_others": _get(s, "network", "mean_degree_lost_others"),
        "children_barred": s.get("children_barred"),
        "missed_offence_share": s.get("missed_offence_share"),
        "listed_share": s.get("listed_share"),
        "poverty_trap_share": s.get("poverty_trap_share"),
        "poverty_excess_months": _get(s, "poverty_trap", "excess_months_sanctioned_per_1000_adults"),
        "long_listed_share": s.get("long_listed_share"),
        "appeal_rate": s.get("appeal_rate"),
        "correction_rate": s.get("correction_rate"),
        "citizens_who_learned": s.get("citizens_who_learned"),
        "gini_wealth": _get(s, "gini", "wealth"),
        "gini_wealth_baseline": _get(s, "gini", "wealth_baseline"),
        "scores": scores,
        "age_listing": {k: impact.get("listing", {}).get(k) for k in ("ratio", "fails_four_fifths")},
        "age_sanctions": {k: impact.get("sanctions", {}).get(k) for k in ("ratio", "fails_four_fifths")},
        "listed_d1": _get(deciles, "D1", "listed_share"),
        "listed_d10": _get(deciles, "D10", "listed_share"),
    }


def _example(runs: Path, set_id: str) -> dict | None:
    """One citizen of the unified set's first run, sanctioned on false records, explained."""
    from scorelab import api

    first = api.summary(set_id, runs)["runs"][0]
    picked = api.stories(first, runs)
    story = next((s for s in picked if s["criterion"] == "false_records" and s["citizen"] is not None), None)
    if story is None:
        return None
    e = story["explanation"]
    account = e["account"]
    start = next((i for i, line in enumerate(account) if any(w in line for w in FALSE_WORDS)), 0)
    lines = [line for line in account[start:] if "no channel recorded it" not in line][:7]
    return {"run": first, "citizen": story["citizen"], "head": f"citizen {e['citizen']} in run {e['run_id']} "
            f"({e['regime']}, {e['days']} days)", "lines": lines}


FALSE_WORDS = ("did not commit", "never happened", "wrong person", "false match")


# ---------------------------------------------------------------------------- rendering
def _interval(m: dict, f: str, nonneg: bool) -> tuple[str, str]:
    lo, hi = m["ci95"]
    if nonneg:  # a t interval of a share or a count of rare events can reach below 0: cut it there
        lo = max(lo, 0.0)
    return f.format(lo), f.format(hi)


def pct(m, digits: int = 1, signed: bool = False) -> str:
    """A share with its interval: '1.6% (1.4 to 1.8%)'."""
    if not isinstance(m, dict) or m.get("mean") is None:
        return "n/a"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    text = f.format(100 * m["mean"]) + "%"
    if m.get("ci95"):
        lo, hi = _interval({"ci95": [100 * x for x in m["ci95"]]}, f, not signed)
        text += f" ({lo} to {hi}%)"
    return text


def num(m, digits: int = 1, nonneg: bool = True) -> str:
    """A number with its interval: '67.8 (66.1 to 69.5)'."""
    if not isinstance(m, dict) or m.get("mean") is None:
        return "n/a"
    f = f"{{:,.{digits}f}}"
    text = f.format(m["mean"])
    if m.get("ci95"):
        lo, hi = _interval(m, f, nonneg)
        text += f" ({lo} to {hi})"
    return text


def render(fig: dict) -> dict[str, str]:
    """Every generated block, by name."""
    blocks = {"comparison": _comparison(fig), "example": _example_text(fig), "explain": _explain_text(fig),
              "presets-table": _presets_table(fig), "calibration": _calibration(fig),
              "preset-figures": _preset_figures(fig)}
    return {k: v for k, v in blocks.items() if v is not None}


def _about(fig: dict) -> str:
    seeds = fig["seeds"]
    return (f"{len(seeds)} replications (seeds {seeds[0]}-{seeds[-1]}, one society, each run with its paired "
            f"baseline) of {fig['citizens']:,} citizens x {fig['days']} days; mean and 95% interval; "
            f"`scripts/figures.py`, commit {fig.get('commit') or '?'}")


def _comparison(fig: dict) -> str:
    presets = [p for p in PRESETS if p in fig["presets"]]
    rows = [
        ("sanctions per 1,000 citizen-years (all types)", lambda h: num(h["sanctions_per_1000"])),
        ("sanctions resting on a false record", lambda h: pct(h["wrongful_sanction_share"], 2)),
        ("rewards resting on a false record", lambda h: pct(h["wrongful_reward_share"], 2)),
        ("citizens with a false record", lambda h: pct(h["falsely_recorded_share"], 2)),
        ("citizens in a worse tier because of false records", lambda h: pct(h["worse_tier_from_false_share"], 2)),
        ("antisocial acts against the baseline (the claimed benefit)", lambda h: pct(h["antisocial_change"], 2, True)),
        ("lawful expression and movement against the baseline (chilling)",
         lambda h: pct(h["expression_change"], 2, True)),
        ("citizens penalised by association only", lambda h: pct(h["collateral_share"], 1)),
        ("children barred from college or school per 1,000 citizen-years", lambda h: num(h["children_barred"], 2)),
        ("adults kept under the poverty line for 6+ months by sanctions", lambda h: pct(h["poverty_trap_share"], 3)),
        ("offences never recorded", lambda h: pct(h["missed_offence_share"], 1)),
    ]
    head = "| measured over a year | " + " | ".join(f"`{p}`" for p in presets) + " |"
    lines = [f"Figures: {_about(fig)}.", "", head, "|---|" + "---|" * len(presets)]
    for label, f in rows:
        lines.append(f"| {label} | " + " | ".join(f(fig["presets"][p]) for p in presets) + " |")
    lines += ["", "`n/a`: not defined for that preset (e.g. no sanctions, no rewards, no tiers)."]
    return "\n".join(lines) + "\n"


def _example_text(fig: dict) -> str | None:
    h = fig["presets"].get("unified")
    if h is None:
        return None
    top = ", ".join(f"{name.split(':', 1)[1].replace('_', ' ')} {num(m)}" for name, m in h["top_sanctions"])
    bc = h["behaviour_change"]
    age, age_s = h["age_listing"], h["age_sanctions"]

    def fails(d):
        r = d.get("fails_four_fifths") or {}
        share = r.get("mean") if isinstance(r, dict) else None
        return "in no replication" if share == 0 else "in every replication" if share == 1 else \
            f"in {100 * share:.0f}% of the replications" if share is not None else "n/a"

    sc = h["scores"].get("state") or {}
    return "\n".join([
        f"Figures: {_about(fig)}.",
        "",
        f"- **Whom it punishes.** {pct(h['listed_share']['black'], 2)} of citizens were ever on the black list, "
        f"and {num(h['sanctions_per_1000'])} sanctions fell per 1,000 citizen-years; the most common (per 1,000): "
        f"{top}. The poorest and richest income deciles are listed alike ({pct(h['listed_d1'], 2)} against "
        f"{pct(h['listed_d10'], 2)} ever on a punitive list). Among adults (children cannot be listed) the "
        f"age-band ratio of listing rates is {num(age.get('ratio'), 2)} (below the four-fifths line "
        f"{fails(age)}), of sanction rates {num(age_s.get('ratio'), 2)} (below it {fails(age_s)}): the young "
        "adults carry more of the sanctions (`by_group.disparate_impact`, with the counts).",
        f"- **How often wrongly.** {pct(h['wrongful_sanction_share'], 2)} of sanctions rested on a false record "
        f"(a face-recognition false match, a record put on the wrong citizen, an invented report, a bank file "
        f"error); {pct(h['falsely_recorded_share'], 2)} of citizens had a false record, "
        f"{pct(h['wrongly_listed_share'], 2)} were listed on false records and "
        f"{pct(h['worse_tier_from_false_share'], 2)} ended in a worse grade because of them. "
        f"{pct(h['appeal_rate'], 1)} of penalising records were appealed, and {pct(h['correction_rate'], 1)} of "
        "the false ones were corrected within the year (an appeal takes 60 days).",
        f"- **What it does to behaviour.** 11% of citizens start aware of the system (Trivium); "
        f"{num(h['citizens_who_learned'], 0)} more learned of it by seeing a contact sanctioned. Antisocial acts "
        f"changed by {pct(h['antisocial_change'], 2, True)} against the baseline (drunk driving "
        f"{pct(bc.get('drunk_driving'), 1, True)}, traffic violations {pct(bc.get('traffic_violation'), 1, True)}), "
        f"lawful expression by {pct(h['expression_change'], 2, True)} (anti-government posts "
        f"{pct(bc.get('antigov_post'), 1, True)}): the claimed benefit and the chilling effect are of the same size.",
        f"- **Friendships.** {pct(h['collateral_share'], 1)} of citizens lost points only because a household "
        f"member or contact was penalised (guilt by association, S1-M7); punitively listed citizens lost "
        f"{num(h['ties_lost_listed'], 2)} ties on average against {num(h['ties_lost_others'], 3)} for everyone else.",
        f"- **Money.** {pct(h['poverty_trap_share'], 3)} of adults were kept under the poverty line (500 yuan of "
        f"savings) for six months or more by the regime's sanctions, against the same citizens in the baseline "
        f"({num(h['poverty_excess_months'], 1)} extra months under the line per 1,000 adults among the "
        f"sanctioned); wealth inequality barely moves in a year (Gini {num(h['gini_wealth'], 3)} against "
        f"{num(h['gini_wealth_baseline'], 3)}).",
        f"- **Scores.** On its own {_range(sc)} scale the mean score ends at {pct(sc.get('mean_position'), 2)} "
        f"of the range (everyone starts at {pct(sc.get('initial_position'), 2)}); "
        f"{pct(sc.get('below_initial_tier_share'), 2)} of citizens end below their starting grade. Scores of "
        "different regimes are compared this way (`scores` in the summary), never as raw points.",
    ]) + "\n"


def _range(sc: dict) -> str:
    r = sc.get("range") or []
    return "-".join(f"{x['mean']:g}" for x in r if isinstance(x, dict)) or "own"


def _explain_text(fig: dict) -> str | None:
    e = fig.get("example")
    if not e:
        return None
    lines = [f"$ .venv/bin/scorelab explain {e['run']} {e['citizen']} --runs cmp", e["head"]]
    for line in e["lines"]:
        lines.append("- " + (line if len(line) <= 150 else line[:147] + "..."))
    return "```text\n" + "\n".join(lines) + "\n```\n"


def _presets_table(fig: dict) -> str:
    lines = [f"Wall time of the simulation (`wall_seconds`) and two outcomes; {_about(fig)}:", "",
             "| preset | wall time (s) | sanctions per 1,000 citizen-years | citizens with a false record |",
             "|---|---|---|---|"]
    for p in PRESETS:
        h = fig["presets"].get(p)
        if h:
            lines.append(f"| `{p}` | {num(h['wall_seconds'])} | {num(h['sanctions_per_1000'])} | "
                         f"{pct(h['falsely_recorded_share'], 2)} |")
    return "\n".join(lines) + "\n"


def _calibration(fig: dict) -> str:
    lines = [f"Model values: {_about(fig)}. A value is a match when its mean lies within 20% of the target.", "",
             "| preset | measure | published figure (facts.md) | target | model: mean (95% interval) | "
             "within 20%? |", "|---|---|---|---|---|---|"]
    for c in fig["calibration"]:
        m = c["model"]
        model = f"{m['mean']:.4g} ({m['ci95'][0]:.4g} to {m['ci95'][1]:.4g})" if m and m.get("ci95") else \
            (f"{m['mean']:.4g}" if m else "n/a")
        verdict = "yes" if c["within_20pct"] else f"**miss**: {c['if_missed']}"
        lines.append(f"| `{c['preset']}` | {c['what']} | {c['published']} | {c['target']:.4g} {c['unit']} "
                     f"({c['derivation']}) | {model} | {verdict} |")
    for preset, why in fig.get("no_calibration", {}).items():
        lines.append(f"| `{preset}` | none | {why} | - | - | - |")
    return "\n".join(lines) + "\n"


def _preset_figures(fig: dict) -> str:
    """Per-preset outcome figures the preset sections quote."""
    lines = [f"{_about(fig)}.", ""]
    for p in PRESETS:
        h = fig["presets"].get(p)
        if not h:
            continue
        parts = [f"false records {num(h['false_records'], 0)}",
                 f"sanctions on false records {pct(h['wrongful_sanction_share'], 2)}",
                 f"rewards on false records {pct(h['wrongful_reward_share'], 2)}",
                 f"citizens listed on false records {pct(h['wrongly_listed_share'], 3)}"]
        for name, sc in h["scores"].items():
            if sc.get("below_initial_tier_share") is not None:
                tiers = ", ".join(f"{t} {pct(v, 2)}" for t, v in sc["tiers"].items() if v and v["mean"] > 0)
                parts.append(f"{name}: mean at {pct(sc['mean_position'], 1)} of its range, "
                             f"{pct(sc['below_initial_tier_share'], 2)} below the starting tier, "
                             f"{pct(sc['worse_tier_from_false_share'], 2)} in a worse tier because of false "
                             f"records; final tiers {tiers}")
        for name, share in (h.get("listed_share") or {}).items():
            parts.append(f"ever listed {name} {pct(share, 2)}")
        for name, m in (h.get("sanctions_by_measure") or {}).items():
            parts.append(f"{name} {num(m, 2)} per 1,000 citizen-years")
        if h.get("ties_cut") and h["ties_cut"]["mean"] > 0:
            parts.append(f"ties cut {num(h['ties_cut'], 0)}")
        junk = (h.get("behaviour_change") or {}).get("junk_food_purchase")
        if junk and abs(junk["mean"]) > 1e-9:
            parts.append(f"junk-food purchases against the baseline {pct(junk, 2, True)}")
        lines.append(f"- `{p}`: " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- writing and checking
def write_blocks(fig: dict, files=(README, PRESETS_MD)) -> None:
    blocks = render(fig)
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = BLOCK.sub(lambda m: m.group(1) + blocks.get(m.group("name"), m.group("body")) + m.group(4), text)
        if new != text:
            path.write_text(new, encoding="utf-8")


def stale_blocks(fig: dict, files=(README, PRESETS_MD), require_all: bool = True) -> list[str]:
    """Names of generated blocks whose text differs from what `fig` renders (or, with `require_all`,
    that no file holds)."""
    blocks = render(fig)
    found, stale = set(), []
    for path in files:
        for m in BLOCK.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group("name"))
            if m.group("name") in blocks and m.group("body") != blocks[m.group("name")]:
                stale.append(f"{path.name}:{m.group('name')}")
    if require_all:
        stale += [f"missing block {name}" for name in blocks if name not in found]
    return stale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "figures", help="where the sets are made")
    p.add_argument("--replications", type=int, default=10)
    p.add_argument("--citizens", type=int, default=100_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--presets", nargs="*", default=list(PRESETS))
    p.add_argument("--fresh", action="store_true", help="remove the runs folder and make every set again")
    p.add_argument("--render-only", action="store_true", help="rewrite the blocks from docs/figures.json")
    p.add_argument("--resummarize", action="store_true",
                   help="recompute the stored run and set summaries (after a change to the measures) before collecting")
    p.add_argument("--json", type=Path, default=FIGURES, help="where the figures are written")
    a = p.parse_args(argv)
    if a.render_only:
        fig = json.loads(a.json.read_text())
    else:
        sets = make_sets(a.runs, a.presets, a.replications, a.citizens, a.days, a.seed, a.fresh)
        if a.resummarize:
            resummarize(a.runs, sets)
        fig = collect(a.runs, sets)
        a.json.write_text(json.dumps(fig, indent=1, default=float) + "\n")
    if a.json.resolve() != FIGURES.resolve():  # a trial elsewhere never touches the docs
        print(f"figures written to {a.json}; README.md and docs/PRESETS.md left as they are")
        return 0
    write_blocks(fig)
    print("figures written to docs/figures.json; blocks rewritten in README.md and docs/PRESETS.md")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    from scorelab.engine.forked import allow_in_this_process

    allow_in_this_process()  # this script runs scorelab alone: each baseline may be made beside its run
    raise SystemExit(main())
