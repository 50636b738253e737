"""Runs on disk: the demo command, the run folder's files, the baseline, the catalogue and the summary."""

from __future__ import annotations

import hashlib
import json

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

import scorelab
from _support import DEMO, preset_text, read
from scorelab.cli import app
from scorelab.society.model import SocietySpec
from scorelab.vocabulary import MEASURE_KINDS

UNIFIED_LISTS = ("black", "gray", "white", "red", "watch", "no_fly")


def test_demo_command_runs(demo):
    result, out = demo
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2
    assert any("--baseline-none" in f for f in folders)
    assert not [p for p in out.iterdir() if p.name.startswith(".partial-")]
    assert "run written to" in " ".join(result.output.split())


def test_manifest(demo_run):
    m = json.loads((demo_run / "manifest.json").read_text())
    assert m["scorelab_version"] == scorelab.__version__
    assert m["regime"]["name"] == "unified"
    assert m["regime"]["sha256"] == hashlib.sha256(preset_text("unified").encode()).hexdigest()
    assert SocietySpec(**m["society"]) == SocietySpec(citizens=DEMO["citizens"], seed=DEMO["seed"])
    assert m["seed"] == DEMO["seed"] and m["days"] == DEMO["days"]
    assert m["baseline"] and (demo_run.parent / m["baseline"]).is_dir()
    assert m["baseline_of"] is None
    assert (demo_run / "regime.yaml").read_text() == preset_text("unified")
    for table, rows in m["rows"].items():
        assert pq.read_metadata(demo_run / f"{table}.parquet").num_rows == rows


def test_baseline_manifest_points_back(demo_run):
    m = json.loads((demo_run / "manifest.json").read_text())
    b = json.loads((demo_run.parent / m["baseline"] / "manifest.json").read_text())
    assert b["regime"]["name"] == "none"
    assert b["baseline_of"] == demo_run.name and b["baseline"] is None
    assert b["society"] == m["society"] and b["seed"] == m["seed"] and b["days"] == m["days"]


def test_citizens_table(demo_run):
    cit = read(demo_run, "citizens.parquet")
    assert len(cit) == DEMO["citizens"]
    assert np.array_equal(cit.citizen.to_numpy(), np.arange(DEMO["citizens"]))
    expected = {"citizen", "score", "tier", "age", "sex", "urban", "income_decile"}
    expected |= {f"{p}:{lst}" for p in ("on", "ever") for lst in UNIFIED_LISTS}
    assert expected <= set(cit.columns)
    assert set(cit.sex.unique()) == {"female", "male"}
    assert cit.income_decile.between(0, 9).all()
    assert cit.age.between(0, 120).all()
    # deciles split the society into ten (almost) equal groups
    counts = np.bincount(cit.income_decile.to_numpy(), minlength=10)
    assert counts.max() - counts.min() <= 1


def test_ledger_table(demo_run):
    ledger = read(demo_run, "ledger.parquet")
    assert {"citizen", "day", "scorer", "rule", "delta", "channel", "record_true"} <= set(ledger.columns)
    assert len(ledger) > 0
    assert ledger.day.between(0, DEMO["days"] - 1).all()
    assert set(ledger.scorer.unique()) == {"state"}
    assert ledger.citizen.between(0, DEMO["citizens"] - 1).all()


def test_daily_and_measures_tables(demo_run):
    daily = read(demo_run, "daily.parquet")
    assert daily.day.tolist() == list(range(DEMO["days"]))
    assert {"events", "mean_score", "listed:black"} <= set(daily.columns)
    measures = read(demo_run, "measures.parquet")
    assert {"day", "citizen", "measure", "kind", "wrongful"} <= set(measures.columns)
    assert set(measures.kind.unique()) <= set(MEASURE_KINDS)
    assert measures.kind.isin(["sanction", "reward"]).any()


def test_runs_lists_both_and_catalogue(runner, demo, demo_run):
    _, out = demo
    listed = runner.invoke(app, ["runs", "--runs", str(out), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    ids = {r["run_id"] for r in rows}
    baseline = json.loads((demo_run / "manifest.json").read_text())["baseline"]
    assert ids == {demo_run.name, baseline}
    table = runner.invoke(app, ["runs", "--runs", str(out)])
    assert table.exit_code == 0
    con = duckdb.connect(str(out / "catalogue.duckdb"), read_only=True)
    try:
        got = dict(con.execute("SELECT run_id, regime FROM runs").fetchall())
        linked = con.execute("SELECT baseline_of FROM runs WHERE run_id = ?", [baseline]).fetchone()[0]
    finally:
        con.close()
    assert got == {demo_run.name: "unified", baseline: "none"}
    assert linked == demo_run.name


def test_runs_on_empty_folder(runner, tmp_path):
    result = runner.invoke(app, ["runs", "--runs", str(tmp_path / "empty"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_summary_json(runner, demo, demo_run):
    _, out = demo
    result = runner.invoke(app, ["summary", demo_run.name, "--runs", str(out), "--json"])
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    for key in ("listed_share", "sanctions_per_1000", "wrongful_sanction_share", "behaviour_change"):
        assert key in s
    # the summary agrees with the run's own tables
    cit = read(demo_run, "citizens.parquet")
    assert set(s["listed_share"]) == set(UNIFIED_LISTS)
    for lst, share in s["listed_share"].items():
        assert share == pytest.approx(cit[f"ever:{lst}"].mean())
    measures = read(demo_run, "measures.parquet")
    sanctions = measures[measures.kind == "sanction"]
    citizen_years = DEMO["citizens"] * DEMO["days"] / 365
    assert sum(s["sanctions_per_1000"].values()) == pytest.approx(1000 * len(sanctions) / citizen_years, rel=1e-3)
    if len(sanctions):
        assert s["wrongful_sanction_share"] == pytest.approx(sanctions.wrongful.mean())
    counts = read(demo_run, "event_counts.parquet").groupby("event_type")["count"].sum()
    base_dir = demo_run.parent / json.loads((demo_run / "manifest.json").read_text())["baseline"]
    base = read(base_dir, "event_counts.parquet").groupby("event_type")["count"].sum()
    assert s["behaviour_change"]
    for event, change in s["behaviour_change"].items():
        assert change == pytest.approx((counts[event] - base[event]) / base[event], abs=1e-5)
    # by run folder as well as by id, and the same as the Python API
    by_path = runner.invoke(app, ["summary", str(demo_run), "--json"])
    assert by_path.exit_code == 0 and json.loads(by_path.stdout) == s
    assert json.loads(json.dumps(scorelab.summary(demo_run), default=float)) == s


def test_summary_table(runner, demo, demo_run):
    _, out = demo
    result = runner.invoke(app, ["summary", demo_run.name, "--runs", str(out)])
    # a score is shown on its own range, never as a bare mean to compare across regimes
    assert result.exit_code == 0 and "score state" in result.output and "on 0-1300" in result.output


def test_regimes_command(runner):
    result = runner.invoke(app, ["regimes"])
    assert result.exit_code == 0 and "unified" in result.output and "none" in result.output


def test_identical_rerun_is_reused_and_forced_rerun_is_named(tmp_path):
    """Issue 14.4: re-running a command used to make a silent `-2` copy with a second baseline."""
    notes = []
    a = scorelab.run("none", citizens=1000, days=5, seed=0, runs=tmp_path, notify=notes.append)
    b = scorelab.run("none", citizens=1000, days=5, seed=0, runs=tmp_path, notify=notes.append)
    assert a == b and len(notes) == 1 and notes[0].startswith(f"reusing run {a.name}")
    c = scorelab.run("none", citizens=1000, days=5, seed=0, runs=tmp_path, force=True, notify=notes.append)
    assert c.name == f"{a.name}-rerun2" and "--force" in notes[-1]
    d = scorelab.run("none", citizens=1000, days=5, seed=0, runs=tmp_path, events="all", notify=notes.append)
    assert d.name == f"{a.name}-2" and "different run" in notes[-1]
    listed = {r["run_id"] for r in scorelab.list_runs(tmp_path)}
    assert listed == {x.name for x in (a, c, d)} | {f"{x.name}--baseline-none" for x in (a, c, d)}


def test_run_on_saved_society(tmp_path):
    from scorelab.society.model import save_society

    soc = scorelab.build_society(1500, seed=4)
    save_society(soc, tmp_path / "soc")
    a = scorelab.run("unified", days=20, baseline=None, runs=tmp_path / "r1", society=tmp_path / "soc")
    b = scorelab.run("unified", citizens=1500, days=20, seed=4, baseline=None, runs=tmp_path / "r2")
    assert pq.read_table(a / "ledger.parquet").equals(pq.read_table(b / "ledger.parquet"))
    # issue 14.4: `run --society` takes the society's seed unless --seed is given (it used to run with seed 0)
    assert scorelab.describe_run(a)["seed"] == 4
    c = scorelab.run("unified", days=20, seed=9, baseline=None, runs=tmp_path / "r1", society=tmp_path / "soc")
    assert scorelab.describe_run(c)["seed"] == 9 and scorelab.describe_run(c)["society"]["seed"] == 4


def test_lazy_api_names_resolve():
    """Every name scorelab/__init__.py promises resolves to a function of scorelab.api."""
    for name in scorelab._API:
        assert callable(getattr(scorelab, name)), name
