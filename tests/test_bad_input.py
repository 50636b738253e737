"""Bad input: one clear message naming the file, the key path and what is allowed; exit 2; no
traceback; and no run folder left behind."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _support import DATA
from scorelab import api
from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.regime.loader import load_regime, parse_regime

SCORELAB = Path(sys.executable).parent / "scorelab"
TOP_LEVEL_KEYS = ("name", "title", "description", "mechanisms", "references", "topology", "deterrence", "scorers")

# fixture file -> (key path or None, fragments the message must contain)
REGIME_CASES = {
    "malformed.yaml": (None, ["not valid YAML", "line 6"]),
    "unknown_key.yaml": ("colour", ["unknown key", *TOP_LEVEL_KEYS]),
    "unknown_event.yaml": ("scorers[0].rules[0].event", ["unknown event type", "jaywalking_on_tuesdays",
                                                         *(e.name for e in CATALOGUE)]),
    "missing_source.yaml": ("scorers[0].rules[0]", ["source:", "assumption: true"]),
    "tiers_not_falling.yaml": ("scorers[0].tiers", ["strictly falling"]),
    "unified_two_scorers.yaml": (None, ["topology", "unified", "exactly one scorer", "found 2"]),
}


def flat(text: str) -> str:
    """The console wraps long lines; compare messages with whitespace normalised."""
    return " ".join(text.split())


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A working directory holding the regime fixtures (short relative names in messages)."""
    for f in DATA.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_clean_failure(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = flat(result.output)
    assert text.startswith("error:")
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"
    return text


def assert_no_run_left(runs: Path) -> None:
    leftovers = sorted(p.name for p in runs.iterdir()) if runs.exists() else []
    assert leftovers in ([], ["catalogue.duckdb"]), leftovers


# ------------------------------------------------------------------ regime files


@pytest.mark.parametrize("case", sorted(REGIME_CASES))
def test_bad_regime_through_validate(runner, workdir, case):
    key, fragments = REGIME_CASES[case]
    text = assert_clean_failure(runner.invoke(app, ["validate", case]), case, *fragments)
    if key:
        assert f"key '{key}'" in text


@pytest.mark.parametrize("case", sorted(REGIME_CASES))
def test_bad_regime_through_run_leaves_no_run(runner, workdir, case):
    key, fragments = REGIME_CASES[case]
    result = runner.invoke(app, ["run", case, "--citizens", "1000", "--days", "10", "--runs", "runs", "-q"])
    assert_clean_failure(result, case, *fragments)
    assert_no_run_left(workdir / "runs")


@pytest.mark.parametrize("case", sorted(REGIME_CASES))
def test_bad_regime_through_api(case):
    key, fragments = REGIME_CASES[case]
    text = (DATA / case).read_text()
    with pytest.raises(ScorelabError) as info:
        parse_regime(text, origin=f"somewhere/{case}")
    err = info.value
    assert err.path == f"somewhere/{case}"
    assert err.key == key
    message = str(err)
    assert message.startswith(f"somewhere/{case}")
    for f in fragments:
        assert f in message
    with pytest.raises(ScorelabError):
        load_regime(DATA / case)


def test_unknown_key_lists_allowed_keys_of_nested_block(tmp_path):
    text = (DATA / "good.yaml").read_text().replace("coverage: 0.5}", "coverage: 0.5, colour: red}")
    with pytest.raises(ScorelabError) as info:
        parse_regime(text, "nested.yaml")
    assert info.value.key == "scorers[0].channels.cameras.colour"
    assert "coverage" in info.value.allowed and "misattribution" in info.value.allowed


def test_rule_with_on_instead_of_event_names_the_missing_key():
    text = (DATA / "good.yaml").read_text().replace("event: traffic_violation", "on: traffic_violation")
    with pytest.raises(ScorelabError) as info:
        parse_regime(text, "on.yaml")
    assert info.value.key == "scorers[0].rules[0].event"


def test_validate_good_file_prints_valid(runner, workdir):
    result = runner.invoke(app, ["validate", "good.yaml"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "good" in result.output


def test_unknown_preset(runner, workdir):
    result = runner.invoke(app, ["run", "utopia", "--citizens", "1000", "--days", "10", "--runs", "runs", "-q"])
    assert_clean_failure(result, "unknown regime 'utopia'", "key 'regime'", "unified", "none")
    assert_no_run_left(workdir / "runs")
    with pytest.raises(ScorelabError, match="unknown regime"):
        api.run("utopia", citizens=1000, days=10, runs=workdir / "runs")


def test_unknown_baseline_preset(runner, workdir):
    result = runner.invoke(app, ["run", "unified", "--baseline", "utopia", "--citizens", "1000", "--days", "10",
                                 "--runs", "runs", "-q"])
    assert_clean_failure(result, "unknown regime 'utopia'")
    assert_no_run_left(workdir / "runs")


def test_missing_regime_file(runner, workdir):
    result = runner.invoke(app, ["run", "nowhere.yaml", "--citizens", "1000", "--days", "10", "--runs", "runs"])
    assert_clean_failure(result, "nowhere.yaml", "not found", "unified")
    assert_no_run_left(workdir / "runs")
    assert_clean_failure(runner.invoke(app, ["validate", "nowhere.yaml"]), "nowhere.yaml", "not found")


@pytest.mark.parametrize(("args", "key", "allowed"), [
    (["--citizens", "0"], "citizens", "a whole number from 1"),
    (["--days", "0"], "days", "a whole number from 1 to 3650"),
    (["--days", "100000"], "days", "a whole number from 1 to 3650"),
    (["--seed", "-1"], "seed", "a whole number from 0 to 4294967295"),
    (["--seed", str(2**63)], "seed", "a whole number from 0 to 4294967295"),
    (["--seed", str(2**32)], "seed", "a whole number from 0 to 4294967295"),
    (["--ledger-cohort", "0"], "ledger_cohort", "(0, 1]"),
    (["--events", "some"], "events", "all, notable, none"),
])
def test_impossible_parameters(runner, workdir, args, key, allowed):
    options = {"--citizens": "1000", "--days": "10", "--seed": "0", args[0]: args[1]}
    result = runner.invoke(app, ["run", "unified", "--runs", "runs", "-q", *[x for kv in options.items() for x in kv]])
    assert_clean_failure(result, f"key '{key}'", allowed, args[1])
    assert_no_run_left(workdir / "runs")


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"citizens": 0}, "citizens"), ({"days": 0}, "days"), ({"days": 100_000}, "days"), ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed")])
def test_impossible_parameters_through_api(tmp_path, kwargs, key):
    args = {"citizens": 1000, "days": 10, "seed": 0, **kwargs}
    with pytest.raises(ScorelabError) as info:
        api.run("unified", runs=tmp_path / "runs", **args)
    assert info.value.key == key and info.value.allowed
    assert_no_run_left(tmp_path / "runs")


def test_missing_society_folder(runner, workdir):
    result = runner.invoke(app, ["run", "unified", "--society", "nosoc", "--days", "10", "--runs", "runs", "-q"])
    assert_clean_failure(result, "nosoc", "not a society folder")
    assert_no_run_left(workdir / "runs")


def test_summary_of_missing_run(runner, workdir):
    result = runner.invoke(app, ["summary", "no-such-run", "--runs", "runs"])
    assert_clean_failure(result, "no run 'no-such-run'", "key 'RUN'", "scorelab runs")
    with pytest.raises(ScorelabError, match="no run"):
        api.summary("no-such-run", runs=workdir / "runs")


def test_summary_does_not_resolve_ids_outside_the_runs_folder(runner, workdir):
    result = runner.invoke(app, ["summary", "../etc", "--runs", "runs"])
    assert_clean_failure(result, "no run")


def test_compile_error_leaves_no_run(runner, workdir):
    """Two rules on one event type is found when compiling: no baseline may be published first."""
    result = runner.invoke(app, ["run", "duplicate_rule.yaml", "--citizens", "1000", "--days", "10",
                                 "--runs", "runs", "-q"])
    assert_clean_failure(result, "duplicate_rule.yaml", "two rules")
    assert_no_run_left(workdir / "runs")


def test_error_is_one_line(runner, workdir):
    """A long message (it lists every event type) must not be wrapped onto several lines."""
    result = runner.invoke(app, ["validate", "unknown_event.yaml"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert len(lines[0]) > 200  # long enough that an 80-column console would have wrapped it


def test_console_script_gives_one_line_and_status_2(workdir):
    """The installed `scorelab` command, as a user runs it: no traceback, status 2, one line."""
    if not SCORELAB.exists():
        pytest.skip(f"console script not installed at {SCORELAB}")
    proc = subprocess.run([str(SCORELAB), "run", "utopia", "--citizens", "100", "--days", "5", "--runs", "runs"],
                          capture_output=True, text=True, cwd=workdir)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown regime 'utopia'" in lines[0]
    assert_no_run_left(workdir / "runs")
