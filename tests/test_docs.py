"""The documents that make ids and sources resolve (issue 14): generated, complete, and linked.

docs/MECHANISMS.md and docs/SOURCES.md are written by scripts/gen_docs.py from package data and the
repository; these tests fail when they drift, when a preset cites a reference or names a mechanism they
do not define, or when a relative link in them leads nowhere.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from _support import MECHANISMS_MD
from scorelab.report import sources as S

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "src" / "scorelab" / "regimes").glob("*.yaml"))


def _gen():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_docs_are_current():
    gen = _gen()
    for name, make in gen.TARGETS.items():
        assert (ROOT / "docs" / name).read_text(encoding="utf-8") == make(), (
            f"docs/{name} is stale: run .venv/bin/python scripts/gen_docs.py")
    assert gen.main(["--check"]) == 0


def test_every_reference_a_preset_cites_has_a_citation():
    missing = {}
    for p in PRESETS:
        for key in (yaml.safe_load(p.read_text()).get("references") or {}):
            if key not in S.sources():
                missing.setdefault(key, []).append(p.stem)
    assert not missing, f"add these references to src/scorelab/report/data/sources.yaml: {missing}"
    for key, v in S.sources().items():
        assert v["section"] in S.source_sections(), key
        assert v["grade"] in ("A", "B", "C", "source document"), key
        assert v.get("url") is None or v["url"].startswith("https://"), key


def test_every_mechanism_id_is_defined():
    ids = set(S.mechanisms())
    named = set()
    for f in [*(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.j2"), *PRESETS,
              *(ROOT / "tests" / "scenarios").rglob("*.yaml")]:
        named |= set(S.MECHANISM_ID.findall(f.read_text(encoding="utf-8")))
    assert named <= ids, f"ids named in the code but not in mechanisms.yaml: {sorted(named - ids)}"
    for m in S.mechanisms().values():
        assert m["document"] in S.sources() and m["title"] and m["says"] and m["model"]


def test_mechanisms_match_the_design_notes():
    if not MECHANISMS_MD.is_file():
        pytest.skip(f"{MECHANISMS_MD} is not available on this machine (the design folder is not in the repo)")
    design = set(re.findall(r"^\|\s*(S\d-[MN]\d+)\s*\|", MECHANISMS_MD.read_text(encoding="utf-8"), flags=re.M))
    assert design == set(S.mechanisms())


def _anchors(md: str) -> set[str]:
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", md, flags=re.M)}


@pytest.mark.parametrize("name", ["MECHANISMS.md", "SOURCES.md", "TUTORIAL.md"])
def test_relative_links_resolve(name):
    path = ROOT / "docs" / name
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{name}: link to {target} leads nowhere"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest.read_text(encoding="utf-8")), f"{name}: no heading #{anchor} in {file}"
