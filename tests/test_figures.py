"""The figures quoted in README.md and docs/PRESETS.md are the ones scripts/figures.py last wrote
(docs/figures.json): the test compares the text with the JSON, it does not rerun the replications."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("figures_script", ROOT / "scripts" / "figures.py")
figures = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(figures)


@pytest.fixture(scope="module")
def fig() -> dict:
    return json.loads(figures.FIGURES.read_text())


def test_the_docs_quote_the_last_figures(fig):
    stale = figures.stale_blocks(fig)
    assert not stale, f"run `.venv/bin/python scripts/figures.py --render-only` (or the whole script): {stale}"


def test_figures_come_from_sets_of_ten_at_full_size(fig):
    assert len(fig["seeds"]) >= 10 and fig["citizens"] >= 100_000 and fig["days"] >= 365
    assert set(fig["presets"]) == set(figures.PRESETS)


def test_every_preset_errs(fig):
    """Every preset except none makes false records, and where it sanctions, some sanctions are wrongful."""
    for preset, h in fig["presets"].items():
        assert h["false_records"]["mean"] > 0, preset
        if h["sanctions_per_1000"]["mean"] > 0:
            assert h["wrongful_sanction_share"]["mean"] > 0, preset
        else:
            assert h["wrongful_reward_share"]["mean"] > 0 or h["worse_tier_from_false_share"]["mean"] > 0, preset


def test_every_preset_has_its_calibration_row(fig):
    from scorelab.metrics.calibration import NO_TARGET, TARGETS

    rows = {(c["preset"], c["key"]) for c in fig["calibration"]}
    assert rows == {(t.preset, t.key) for t in TARGETS}
    assert all(c["model"]["n"] >= 5 for c in fig["calibration"])
    assert set(fig["no_calibration"]) | {c["preset"] for c in fig["calibration"]} >= set(figures.PRESETS)
    assert set(fig["no_calibration"]) <= set(NO_TARGET)


def test_blocks_are_replaced_between_their_markers_only(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- figures:calibration begin -->\nold\n<!-- figures:calibration end -->\nafter\n")
    fake = {"seeds": [1, 2], "citizens": 10, "days": 5, "commit": "x", "presets": {}, "calibration": [],
            "no_calibration": {"rongcheng": "no figure"}}
    figures.write_blocks(fake, files=(doc,))
    text = doc.read_text()
    assert text.startswith("before\n<!-- figures:calibration begin -->\nModel values: 2 replications")
    assert "| `rongcheng` | none | no figure |" in text and text.endswith("<!-- figures:calibration end -->\nafter\n")
    assert figures.stale_blocks(fake, files=(doc,), require_all=False) == []
