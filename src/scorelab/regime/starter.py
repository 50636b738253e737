"""Your own regime in five minutes: a preset copied to a file of your own, with its name set and every
block explained (`scorelab new NAME --from PRESET`).

The copy keeps the preset's own text (its comments, numbers and sources) and adds a comment before each
block saying what it does and where the regime language documents it, so the file reads as a tutorial
and validates as it is. docs/TUTORIAL.md walks from here to a comparison report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.regime.loader import load_regime, preset_names

LANGUAGE = "docs/REGIME_LANGUAGE.md"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # the schema's pattern for `name`

# What each block is for, said once, before the block (top level, then inside a scorer).
TOP_HELP = {
    "name": "The regime's id: run folders are named after it ({name}-<citizens>x<days>-s<seed>).",
    "title": "One line that says what this regime is.",
    "description": "What it models, and what it leaves out (the regime card prints this).",
    "mechanisms": "Which mechanisms of the source documents it implements (ids: docs/MECHANISMS.md).",
    "references": "The sources its numbers cite by key (`source: <key>` on a block; full citations: "
                  "docs/SOURCES.md). A block without a source says `assumption: true`.",
    "topology": "unified: one scorer joins every channel; fragmented: scorers that share no data (S2-N6).",
    "deterrence": "How aware citizens weigh the chance of a record against its penalty (Becker; Nagin).",
    "learning": "How citizens learn of the system by seeing a contact sanctioned (S2-N8).",
    "scorers": "Who keeps a score: channels it observes, rules that move points, tiers, lists, and the "
               "sanctions and rewards that follow.",
}
SCORER_HELP = {
    "score": "The score's range, where everyone starts, and how low scores drift back (redemption).",
    "channels": "What this scorer sees: each channel's coverage, misses, false matches (misattribution), "
                "invented reports and delay. Cash is invisible to every channel.",
    "rules": "Points per recorded event (negative: a penalty), with caps, remediation windows and whether a "
             "penalty spills over to household and contacts (associate).",
    "tiers": "Named bands of the score, best first, each with its minimum.",
    "lists": "Lists (black, gray, red, white, watch, no_fly): how citizens enter and leave them, and appeals.",
    "sanctions": "What happens to citizens who meet a condition: at a gate (buying a ticket, applying for a "
                 "job), on a record, or on joining a list. `who: household` sanctions relatives (S1-M6).",
    "rewards": "The same for rewards: discounts, waived deposits, preferred access.",
    "responses": "Answers to data that are neither sanction nor reward (health advice, coupons; S2-N3).",
    "association": "Guilt by association (S1-M7): the share of a penalty passed to household and contacts.",
    "appeals": "Record appeals: how often citizens contest a penalising record and how often they win.",
    "memory": "How long records are kept before they expire and their points are given back.",
    "avoidance": "Contacts who cut their tie with a citizen who joins a list (S1-M7).",
}


def _comment(text: str, indent: str) -> list[str]:
    """A comment wrapped at 100 columns."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(indent) + 2 + len(line) + 1 + len(w) > 100:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return [f"{indent}# {x}" for x in lines]


def new_regime_text(name: str, preset: str) -> str:
    """The preset's YAML with `name` set, a header saying how to use the file, and a comment per block."""
    if not NAME.match(name):
        raise ScorelabError(f"got {name!r}", key="NAME",
                            allowed="lower-case letters, digits, '-' and '_', starting with a letter or digit")
    if preset not in preset_names():
        raise ScorelabError(f"unknown preset {preset!r}", key="--from", allowed=", ".join(preset_names()))
    text = load_regime(preset).text
    head = [
        f"# {name}: a regime of your own, started from the '{preset}' preset (scorelab new {name} --from {preset}).",
        "#",
        *_comment(f"Every key is described in {LANGUAGE}; the comments below say what each block does. Change "
                  "a number and give it a `source:` (a key under `references:`) or `assumption: true`: the "
                  "report lists every assumption. Then:", ""),
        f"#   scorelab validate {name}.yaml                  # one clear message if something is wrong",
        f"#   scorelab describe {name}.yaml                  # its regime card and EU AI Act flags",
        f"#   scorelab run {name}.yaml -n 20000 -d 180 -s 1  # a run, paired with a baseline",
        "# docs/TUTORIAL.md walks from here to a report that compares it with its preset.",
        "#",
        f"# The '{preset}' preset's own notes follow.",
    ]
    out: list[str] = head[:]
    in_scorers = False
    for line in text.splitlines():
        top = re.match(r"^([a-z_]+):", line)
        inner = re.match(r"^(    )([a-z_]+):", line)
        if top:
            in_scorers = top.group(1) == "scorers"
            key = top.group(1)
            if key in TOP_HELP:
                out += _comment(TOP_HELP[key].format(name=name), "")
            if key == "name":
                line = f"name: {name}"
            elif key == "title":
                title = line.split(":", 1)[1].strip().strip("'\"")
                line = "title: " + json.dumps(f"{name}: from the {preset} preset ({title})")
        elif in_scorers and inner and inner.group(2) in SCORER_HELP:
            out += _comment(SCORER_HELP[inner.group(2)], inner.group(1))
        out.append(line)
    return "\n".join(out) + "\n"


def write_new_regime(name: str, preset: str, out: str | Path | None = None) -> Path:
    """Write the new regime file (never over an existing one) and check that it validates."""
    from scorelab.regime.compiled import compile_regime

    path = Path(out) if out is not None else Path(f"{name}.yaml")
    if path.exists():
        raise ScorelabError("file exists; not overwritten", path=str(path), key="--out", allowed="a new file name")
    if not path.parent.is_dir():
        raise ScorelabError("folder does not exist", path=str(path.parent), key="--out", allowed="an existing folder")
    text = new_regime_text(name, preset)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        loaded = load_regime(str(tmp))
        compile_regime(loaded.regime, str(path))
        tmp.replace(path)
    except OSError as exc:
        raise ScorelabError(f"cannot write: {exc.strerror or exc}", path=str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
