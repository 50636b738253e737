"""Replication sets (issue 10): `--replications N` runs seeds s..s+N-1 on one society, each with
its paired baseline, and writes a set folder whose summary gives every measure with a 95% interval."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import scorelab
from scorelab.cli import app
from scorelab.metrics.intervals import RATIOS, stat, summarize_set
from scorelab.store.sets import list_sets

N, DAYS, SEED, REPS = 2000, 12, 4, 3
VOLATILE = ("run_id", "wall_seconds", "agent_days_per_second", "baseline")


@pytest.fixture(scope="module")
def made(tmp_path_factory, runner):
    out = tmp_path_factory.mktemp("sets") / "runs"
    result = runner.invoke(app, ["run", "unified", "-n", str(N), "-d", str(DAYS), "-s", str(SEED), "--replications",
                                 str(REPS), "--runs", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def _leaves(x, path=()):
    if isinstance(x, dict) and "mean" in x and "n" in x:
        yield path, x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, (*path, i))


def test_a_set_folder_names_its_runs(made):
    out, result = made
    set_id = f"unified-{N}x{DAYS}-s{SEED}-r{REPS}"
    doc = json.loads((out / set_id / "set.json").read_text())
    assert doc["seeds"] == [SEED, SEED + 1, SEED + 2] and len(doc["runs"]) == REPS
    for run_id, base in zip(doc["runs"], doc["baselines"], strict=True):
        m = json.loads((out / run_id / "manifest.json").read_text())
        assert m["baseline"] == base and (out / base / "manifest.json").is_file()
        assert m["society"]["seed"] == SEED, "the runs share one society draw"
    assert not (out / set_id / "manifest.json").exists(), "a set is not a run"
    assert set_id in result.output and "replication set written" in result.output
    assert [s["set_id"] for s in list_sets(out)] == [set_id]
    assert scorelab.list_sets(out)[0]["runs"] == doc["runs"]


def test_set_summary_gives_every_numeric_measure_an_interval(made, runner):
    out, _ = made
    set_id = f"unified-{N}x{DAYS}-s{SEED}-r{REPS}"
    result = runner.invoke(app, ["summary", set_id, "--runs", str(out), "--json"])
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s == scorelab.summary(out / set_id)  # the Python API mirrors the command line
    runs = [scorelab.summary(r, out) for r in s["runs"]]
    leaves = dict(_leaves(s))
    assert len(leaves) > 100
    for path, leaf in leaves.items():
        assert set(leaf) == {"mean", "sd", "ci95", "n", "interval"}, path
        assert leaf["ci95"] is None or leaf["ci95"][0] <= leaf["mean"] + 1e-12 <= leaf["ci95"][1] + 2e-12, path
    events = [r["events"] for r in runs]
    low, high = stats.t.interval(0.95, REPS - 1, loc=np.mean(events), scale=stats.sem(events))
    assert s["events"]["mean"] == pytest.approx(np.mean(events))
    assert s["events"]["ci95"] == pytest.approx([low, high])
    assert s["events"]["interval"] == "t"
    # a per-measure table: a sanction a run never applied counts as 0 there
    for name, leaf in s["sanctions_per_1000"].items():
        assert leaf["n"] == REPS
        assert leaf["mean"] == pytest.approx(np.mean([r["sanctions_per_1000"].get(name, 0.0) for r in runs]))


def test_ratios_of_rare_counts_are_pooled_with_a_bootstrap():
    """Three runs with 1 of 10, 0 of 2 and 3 of 100 wrongful sanctions: the pooled share is 4/112,
    not the mean of 0.1, 0 and 0.03."""
    runs = [{"wrongful_sanctions": w, "sanctions_total": t, "wrongful_sanction_share": w / t}
            for w, t in ((1, 10), (0, 2), (3, 100))]
    got = summarize_set(runs)["wrongful_sanction_share"]
    assert got["interval"] == "bootstrap" and got["mean"] == pytest.approx(4 / 112)
    assert got["n"] == 3 and got["ci95"][0] <= got["mean"] <= got["ci95"][1]
    assert set(RATIOS) >= {"wrongful_sanction_share", "correction_rate"}


def test_merging_keeps_the_shape():
    runs = [{"run_id": "a", "regime": "x", "flag": True, "names": ["A", "B"], "m": [[1, 2], [3, 4]],
             "opt": None, "t": {"k": 1.0}},
            {"run_id": "b", "regime": "x", "flag": False, "names": ["A", "B"], "m": [[3, 2], [3, 6]], "opt": 2.0,
             "t": {}}]
    got = summarize_set(runs)
    assert "run_id" not in got and "regime" not in got  # identity, not measures
    assert got["flag"]["mean"] == 0.5 and got["names"] == ["A", "B"]
    assert got["m"][0][0]["mean"] == 2.0 and got["m"][1][1]["mean"] == 5.0
    assert got["opt"]["n"] == 1 and got["opt"]["ci95"] is None
    assert got["t"]["k"]["n"] == 1  # absent is not zero outside the per-measure tables
    assert stat([None, None]) is None


def test_the_first_run_of_a_set_is_the_single_run_with_that_seed(made, tmp_path):
    """Runs of a set share the society drawn with the first seed, so its first run is the single run."""
    out, _ = made
    single = scorelab.run("unified", citizens=N, days=DAYS, seed=SEED, runs=tmp_path)
    a, b = scorelab.summary(single), scorelab.summary(f"unified-{N}x{DAYS}-s{SEED}", out)
    assert {k: v for k, v in a.items() if k not in VOLATILE} == {k: v for k, v in b.items() if k not in VOLATILE}


@pytest.mark.parametrize("bad", ["0", "-2", "x"])
def test_bad_replications_are_one_clear_line(runner, tmp_path, bad):
    result = runner.invoke(app, ["run", "none", "-n", "100", "-d", "2", "--replications", bad, "--runs",
                                 str(tmp_path), "--quiet"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not any(p.is_dir() for p in tmp_path.iterdir()) if tmp_path.exists() else True


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=30))
def test_t_interval_matches_scipy(values):
    got = stat(values)
    assert got["n"] == len(values) and got["mean"] == pytest.approx(np.mean(values), abs=1e-6)
    if np.std(values) > 1e-9:
        low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
        assert got["ci95"] == pytest.approx([low, high], rel=1e-6, abs=1e-6)
    assert got["ci95"][0] <= got["mean"] + 1e-6 and got["mean"] <= got["ci95"][1] + 1e-6
