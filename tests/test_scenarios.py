"""Hand-made scenarios (tests/scenarios/**.yaml): expected outcomes of the real engine, citizen by citizen."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorelab.cli import app
from scorelab.scenario.runner import run_scenario, scenario_files

SCENARIOS = Path(__file__).parent / "scenarios"
FILES = scenario_files(SCENARIOS) if SCENARIOS.is_dir() else []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_scenario(path):
    result = run_scenario(path)
    assert result.checks, "a scenario must check something"
    failed = [f"citizen {c.citizen} {c.what}: expected {c.expected}, got {c.actual}" for c in result.checks
              if not c.ok]
    assert not failed, "\n".join(failed)


def test_test_regime_command(runner):
    if not FILES:
        pytest.skip("no scenario files")
    result = runner.invoke(app, ["test-regime", str(SCENARIOS)])
    assert result.exit_code == 0, result.output
    assert f"{len(FILES)} passed, 0 failed" in result.output


def test_test_regime_missing_target(runner, tmp_path):
    result = runner.invoke(app, ["test-regime", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "no such scenario file or folder" in " ".join(result.output.split())
