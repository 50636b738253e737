"""docs/TUTORIAL.md works as written: every shell command in it runs, in order, in an empty folder (at a
smaller size), and what it says to look for is there. `scorelab new` is tested here too."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scorelab.cli import app
from scorelab.regime.loader import load_regime, preset_names
from scorelab.regime.starter import SCORER_HELP, TOP_HELP

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "TUTORIAL.md"
SCORELAB = Path(sys.executable).parent / "scorelab"
SMALL = {"-n 20000": "-n 3000", "-d 180": "-d 30", "20000x180": "3000x30", "citizens=20_000": "citizens=3_000",
         "days=180": "days=30"}


def _small(text: str) -> str:
    for big, small in SMALL.items():
        text = text.replace(big, small)
    return text


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TUTORIAL.read_text(encoding="utf-8"), flags=re.S)


def test_the_tutorial_runs_as_written(tmp_path):
    commands = [line.split("  #")[0].strip() for block in _blocks("sh") for line in block.splitlines()]
    commands = [c for c in commands if c and not c.startswith("#")]
    assert any(c.startswith(".venv/bin/scorelab new ") for c in commands)
    assert any(" report " in c and "--vs" in c for c in commands)
    for c in commands:
        args = shlex.split(_small(c))
        if args[0] == ".venv/bin/scorelab":
            args[0] = str(SCORELAB)
        done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (c, done.stdout[-2000:], done.stderr[-2000:])
    regime = yaml.safe_load((tmp_path / "no-association.yaml").read_text())
    assoc = regime["scorers"][0]["association"]
    assert assoc["household_share"] == 0.0 and assoc["contact_share"] == 0.0
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert 'id="answers"' in page and "no-association-3000x30-s1" in page and "unified-3000x30-s1" in page
    # what the tutorial says to look for: nobody penalised by association only without association
    runs = tmp_path / "runs"
    mine = json.loads((runs / "no-association-3000x30-s1" / "summary.json").read_text())
    theirs = json.loads((runs / "unified-3000x30-s1" / "summary.json").read_text())
    assert mine["network"]["collateral_share"] == 0 < theirs["network"]["collateral_share"]
    # the Python block, at the same small size
    code = _small(_blocks("python")[0])
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and float(done.stdout.strip()) == 0.0, done.stderr[-2000:]


@pytest.mark.parametrize("preset", preset_names())
def test_new_writes_a_commented_regime_that_validates(preset, tmp_path, runner):
    out = tmp_path / "mine.yaml"
    result = runner.invoke(app, ["new", "my-own", "--from", preset, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    loaded = load_regime(str(out))
    assert loaded.regime.name == "my-own" and f"from the {preset} preset" in loaded.regime.title
    original = load_regime(preset).regime
    assert loaded.regime.model_dump(exclude={"name", "title"}) == original.model_dump(exclude={"name", "title"})
    assert text.startswith(f"# my-own: a regime of your own, started from the '{preset}' preset")
    for key in ("name", "title", "scorers"):
        assert f"# {TOP_HELP[key].format(name='my-own').split()[0]}" in text
    for s in original.scorers:
        for key in ("score", "channels"):
            assert "    # " + SCORER_HELP[key].split()[0] in text
        if s.rules:
            assert "    # " + SCORER_HELP["rules"].split()[0] in text


def test_new_refuses_bad_input_with_one_line(tmp_path, runner):
    out = tmp_path / "x.yaml"
    assert runner.invoke(app, ["new", "x", "--from", "unified", "--out", str(out)]).exit_code == 0
    for args, says in ((["new", "x", "--from", "unified", "--out", str(out)], "file exists; not overwritten"),
                       (["new", "Bad Name", "--from", "unified", "--out", str(tmp_path / "y.yaml")], "key 'NAME'"),
                       (["new", "y", "--from", "nosuch", "--out", str(tmp_path / "y.yaml")], "unknown preset"),
                       (["new", "y", "--from", "unified", "--out", str(tmp_path / "no" / "y.yaml")],
                        "folder does not exist")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and says in " ".join(result.output.split()), args
        assert "Traceback" not in result.output
    assert not (tmp_path / "y.yaml").exists() and not list(tmp_path.glob(".*.tmp"))
