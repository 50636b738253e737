"""What the mechanism ids and reference keys mean: the one home of citations and mechanism texts.

Regimes cite references by key (`source: cnnic`) and name mechanisms by id (S1-M7). Both are
defined in package data (report/data/sources.yaml and mechanisms.yaml), from which
docs/SOURCES.md and docs/MECHANISMS.md are generated (scripts/gen_docs.py). The card, `explain`
and the report print a reference as its full citation, never as a file name, and link an id or a
key to its entry in those documents (anchors are the lower-cased id or the key).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import yaml

MECHANISM_ID = re.compile(r"\bS[12]-[MN]\d{1,2}\b")
MECHANISMS_DOC = "MECHANISMS.md"
SOURCES_DOC = "SOURCES.md"


def _data(name: str) -> Any:
    return yaml.safe_load((resources.files("scorelab.report") / "data" / name).read_text(encoding="utf-8"))


@functools.cache
def mechanisms() -> dict[str, dict]:
    """id -> {title, document, says, model}, in the order of the documents."""
    return dict(_data("mechanisms.yaml"))


@functools.cache
def _sources() -> dict:
    return _data("sources.yaml")


def sources() -> dict[str, dict]:
    """key -> {section, citation, url?, grade, figures}."""
    return dict(_sources()["sources"])


def source_sections() -> list[str]:
    return list(_sources()["sections"])


def anchor(name: str) -> str:
    """The anchor of a mechanism id or a reference key in the generated docs."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


IN_PAGE = "#"  # as `docs`: link to the entries a report carries itself (#mech-s1-m7, #src-cnnic)


def mechanism_url(mid: str, docs: str = "") -> str:
    return f"#mech-{anchor(mid)}" if docs == IN_PAGE else f"{docs}{MECHANISMS_DOC}#{anchor(mid)}"


def source_url(key: str, docs: str = "") -> str:
    return f"#src-{anchor(key)}" if docs == IN_PAGE else f"{docs}{SOURCES_DOC}#{anchor(key)}"


def cite(key: str, reference: Any = None) -> dict:
    """A reference as {key, citation, url, grade, known}: the project's citation when the key is known,
    else what the regime itself says (its title and URL), so a regime file of one's own still reads well.

    `reference` is the regime's own entry (a schema Reference or a dict with title/url/reliability).
    """
    known = sources().get(key)
    if known is not None:
        return {"key": key, "citation": " ".join(str(known["citation"]).split()), "url": known.get("url"),
                "grade": str(known.get("grade") or "ungraded"), "known": True}
    get = (reference.get if isinstance(reference, dict) else lambda k, d=None: getattr(reference, k, d))
    title = get("title") if reference is not None else None
    return {"key": key, "citation": str(title or key), "url": get("url") if reference is not None else None,
            "grade": str(get("reliability") or "ungraded") if reference is not None else "ungraded", "known": False}


def citation_text(key: str, reference: Any = None) -> str:
    """One line: the full citation, its URL if any, and its grade."""
    c = cite(key, reference)
    text = c["citation"] + (f" {c['url']}" if c["url"] else "")
    return text + (f" [reliability {c['grade']}]" if c["grade"] not in ("ungraded", "source document")
                   else " [source document]" if c["grade"] == "source document" else "")
