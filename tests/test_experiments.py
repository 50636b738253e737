"""Experiments (issue 11 parts 3-4): same bits on every executor, resume, faults, shared baselines, analysis.

Runs are tiny (a few thousand citizens for a few weeks); Ray is started once for the suite
(the `ray_local` fixture in conftest.py) with 2 CPUs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from scorelab import api
from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.experiments import analyse, list_experiments, parse_experiment, read_results, run_experiment
from scorelab.experiments.analysis import _salib, prim_boxes
from scorelab.experiments.design import sample
from scorelab.experiments.spec import Experiment

# the example experiment, at test size
EXAMPLE = {
    "name": "false-matches", "regime": "unified", "citizens": 1500, "days": 20, "seed": 1, "replications": 2,
    "sampler": {"method": "sobol", "n": 2},
    "parameters": {"scorers.state.channels.cameras.misattribution": {"low": 0.0, "high": 0.01},
                   "scorers.state.association.contact_share": {"low": 0.0, "high": 0.3}},
    "outcomes": ["wrongful_sanction_share", "antisocial_change", "collateral_share"],
}


def write(tmp: Path, data: dict, name: str = "exp.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def local_example(tmp_path_factory):
    """The example on the local executor with 2 workers (and --keep-runs to inspect the runs)."""
    tmp = tmp_path_factory.mktemp("exp-local")
    seen = []
    folder = run_experiment(write(tmp, EXAMPLE), tmp / "out", executor="local", workers=2, keep_runs=True,
                            progress=lambda *a: seen.append(a))
    return folder, seen


def test_results_have_one_row_per_run_in_canonical_order(local_example):
    folder, seen = local_example
    df = read_results(folder)
    points = 2 * (2 + 2)  # Saltelli: N (D + 2)
    assert len(df) == points * 2
    assert list(df.columns) == ["regime", "point", "replication", "seed", *EXAMPLE["parameters"],
                                *EXAMPLE["outcomes"], "run_id"]
    assert list(zip(df.point, df.replication, strict=True)) == [(p, r) for p in range(points) for r in range(2)]
    assert set(df.seed) == {1, 2}  # common random numbers: replication r runs seed 1 + r at every point
    assert df.run_id.is_unique and df[EXAMPLE["outcomes"]].notna().all().all()
    # the design is SALib's Sobol sample, as applied
    design = sample(parse_experiment(yaml.safe_dump(EXAMPLE, sort_keys=False), check=False))
    assert np.array_equal(df[df.replication == 0][list(EXAMPLE["parameters"])].to_numpy(), design.raw)
    assert seen[-1] == ("runs", len(df), 0, len(df))
    assert list_experiments(folder.parent)[0]["name"] == "false-matches"


def test_one_baseline_per_replication_is_shared_and_changes_nothing(local_example, tmp_path):
    """Shared work: the baseline depends on the society and seed, not on the levers; pairing a run with
    the shared baseline gives the same summary as a run with its own paired baseline."""
    folder, _ = local_example
    runs = folder / "runs"
    baselines = [p for p in runs.iterdir() if json.loads((p / "manifest.json").read_text())["regime"]["name"]
                 == "none"]
    assert len(baselines) == 2  # one per replication seed, for 8 points
    df = read_results(folder)
    row = df.iloc[5]
    overrides = {p: row[p] for p in EXAMPLE["parameters"]}
    alone = api.summary(api.run("unified", citizens=1500, days=20, seed=int(row.seed), out=tmp_path,
                                overrides=overrides))
    kept = json.loads((runs / row.run_id / "summary.json").read_text())
    assert kept["antisocial_change"] == alone["antisocial_change"] == row.antisocial_change
    assert kept["network"]["collateral_share"] == row.collateral_share


def test_interrupted_then_resumed_with_one_worker_gives_the_same_bits(local_example, tmp_path):
    """An experiment interrupted after 11 of 16 runs, then again after 2 more, resumes with 1 worker."""
    folder, _ = local_example
    copy = tmp_path / "out" / folder.name
    shutil.copytree(folder, copy, symlinks=True)
    (copy / "results.parquet").unlink()
    for row in sorted((copy / "rows").glob("*.json"))[::3][:5]:
        row.unlink()
    file = write(tmp_path, EXAMPLE)

    def stop_after_two(stage, done, failed, total):
        if stage == "runs" and done >= 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(file, tmp_path / "out", executor="local", workers=1, keep_runs=True, progress=stop_after_two)
    assert len(list((copy / "rows").glob("*.json"))) == 13 and not (copy / "results.parquet").exists()
    resumed = []
    again = run_experiment(file, tmp_path / "out", executor="local", workers=1, keep_runs=True,
                           progress=lambda *a: resumed.append(a))
    runs_seen = [a for a in resumed if a[0] == "runs"]
    assert runs_seen[0] == ("runs", 13, 0, 16) and len(runs_seen) == 1 + 3  # only the 3 missing runs ran
    assert (again / "results.parquet").read_bytes() == (folder / "results.parquet").read_bytes()


def _descendants_named(prefix: bytes) -> list[int]:
    """Our own Ray workers running a task: processes titled `prefix` below this test process."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            if not cmd.startswith(prefix):
                continue
            pid = int(entry)
            while pid > 1:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if pid == me:
                    found.append(int(entry))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_ray_with_a_worker_killed_mid_run_completes_with_the_same_bits(local_example, ray_local, tmp_path, runner):
    """Ray on 2 CPUs gives the local pool's table bit for bit, even when a worker is killed mid-run
    (Ray retries the task on a new worker); progress is reported from the driver."""
    folder, _ = local_example
    killed: list[int] = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for pid in _descendants_named(b"ray::execute"):
                time.sleep(0.3)  # inside the run
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    continue
                break
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    seen = []
    ray_folder = run_experiment(write(tmp_path, EXAMPLE), tmp_path / "out", executor="ray", workers=2,
                                progress=lambda *a: seen.append(a))
    thread.join(timeout=5)
    assert killed, "no Ray worker was seen running a task"
    assert (ray_folder / "results.parquet").read_bytes() == (folder / "results.parquet").read_bytes()
    assert [s for s in seen if s[0] == "runs"][-1] == ("runs", 16, 0, 16)
    assert not (ray_folder / "runs").exists()  # without --keep-runs only the table stays
    # the command line: a finished experiment is not run again, and the table is unchanged
    result = runner.invoke(app, ["experiment", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out"),
                                 "--executor", "ray", "-q"])
    assert result.exit_code == 0, result.output
    assert (ray_folder / "results.parquet").read_bytes() == (folder / "results.parquet").read_bytes()


@pytest.mark.parametrize("change, key, allowed", [
    ({"colour": "red"}, "colour", "outcomes"),
    ({"parameters": {"scorers.state.channels.camera.miss": {"low": 0, "high": 0.1}}},
     "scorers.state.channels.camera", "cameras"),
    ({"parameters": {"scorers.state.channels.cameras.miss": {"low": 0.5, "high": 0.1}}}, None, None),
    ({"parameters": {"scorers.state.channels.cameras.miss": {"low": 0, "high": 2}}},
     "scorers.state.channels.cameras.miss", "a number from 0 to 1"),
    ({"sampler": {"method": "sobol", "n": 3}}, "sampler", None),
    ({"sampler": {"method": "latin", "n": 3}}, "sampler.method", "lhs"),
    ({"parameters": {"world.events.theft_mischief.rate": {"low": 0, "high": 20}}}, "world.events.theft_mischief.rate",
     "a number from 0 to 10"),
    ({"parameters": {"world.events.theft_mischef.rate": {"low": 0, "high": 1}}}, "world.events.theft_mischef",
     "theft_mischief"),
])
def test_bad_experiment_files_get_one_clear_message(tmp_path, runner, change, key, allowed):
    result = runner.invoke(app, ["experiment", str(write(tmp_path, {**EXAMPLE, **change})), "--out",
                                 str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("error:")
    if key:
        assert f"'{key}'" in result.output
    if allowed:
        assert allowed in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_outcome_is_caught_before_any_run(tmp_path, runner):
    result = runner.invoke(app, ["experiment", str(write(tmp_path, {**EXAMPLE, "outcomes": ["happiness"]})),
                                 "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and "unknown outcome 'happiness'" in result.output
    assert "wrongful_sanction_share" in result.output
    assert not list((tmp_path / "out" / "false-matches").glob("rows/*"))


def test_unreachable_address_and_bad_executor_exit_2(tmp_path, runner, ray_local):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    file = str(write(tmp_path, EXAMPLE))
    for args in (["--executor", "ray", "--address", f"127.0.0.1:{port}"], ["--executor", "dask"],
                 ["--executor", "local", "--address", "127.0.0.1:1"], ["--workers", "0"]):
        t = time.time()
        result = runner.invoke(app, ["experiment", file, "--out", str(tmp_path / "out"), "-q", *args])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error:") and "Traceback" not in result.output
        assert time.time() - t < 30
    assert "no Ray cluster reachable" in runner.invoke(
        app, ["experiment", file, "--out", str(tmp_path / "out"), "-q", "--executor", "ray", "--address",
              f"127.0.0.1:{port}"]).output


def test_a_changed_file_is_not_mixed_into_an_existing_experiment(local_example, tmp_path):
    folder, _ = local_example
    changed = {**EXAMPLE, "days": 21}
    with pytest.raises(ScorelabError, match="its file has changed"):
        run_experiment(write(tmp_path, changed), folder.parent)


def test_analysis_intervals_match_an_independent_computation(local_example):
    from scipy import stats

    folder, _ = local_example
    r = analyse(folder, where="collateral_share > 0.05")
    df = read_results(folder)
    g = df[df.point == 3].antisocial_change
    mean, sem = g.mean(), g.std(ddof=1) / math.sqrt(len(g))
    lo, hi = stats.t.interval(0.95, len(g) - 1, loc=mean, scale=sem)
    got = r["per_point"][3]["outcomes"]["antisocial_change"]
    assert got["n"] == 2 and got["mean"] == pytest.approx(mean)
    assert got["ci95"] == pytest.approx([lo, hi])
    assert set(r["indices"]["unified"]) == set(EXAMPLE["outcomes"])
    assert r["prim"]["condition"] == "collateral_share > 0.05"
    json.dumps(r, allow_nan=False)  # valid JSON: no NaN


def test_analyse_cli_json_and_html(local_example, runner, tmp_path):
    folder, _ = local_example
    html = tmp_path / "plots.html"
    result = runner.invoke(app, ["analyse", str(folder), "--json", "--html", str(html)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"] == 16 and data["method"] == "sobol"
    text = html.read_text()
    assert "plotly" in text.lower() and "antisocial_change against" in text and "<script src=" not in text
    for bad in (["--where", "happiness > 1"], ["--where", "collateral_share >> 1"]):
        res = runner.invoke(app, ["analyse", str(folder), *bad])
        assert res.exit_code == 2 and res.output.startswith("error:")
    res = runner.invoke(app, ["analyse", str(tmp_path)])
    assert res.exit_code == 2 and "not an experiment folder" in res.output


def _spec(method: str, n: int, names=("a", "b", "c"), low=-math.pi, high=math.pi) -> Experiment:
    return Experiment.model_validate({"name": "ishigami", "regime": "unified", "citizens": 1, "days": 1,
                                      "seed": 7, "sampler": {"method": method, "n": n},
                                      "parameters": {x: {"low": low, "high": high} for x in names},
                                      "outcomes": ["y"]})


def test_sobol_indices_match_the_ishigami_function_analytically():
    """Cross-check of our design and estimator plumbing: Ishigami (a=7, b=0.1) has known indices."""
    exp = _spec("sobol", 1024)
    d = sample(exp)
    x = d.raw
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    idx = _salib(exp, d, y)
    assert idx["a"]["S1"] == pytest.approx(0.314, abs=0.05) and idx["b"]["S1"] == pytest.approx(0.442, abs=0.05)
    assert idx["c"]["S1"] == pytest.approx(0.0, abs=0.05) and idx["c"]["ST"] == pytest.approx(0.244, abs=0.05)
    assert idx["a"]["ST"] == pytest.approx(0.558, abs=0.05) and idx["a"]["S1_conf"] > 0
    m = _spec("morris", 40, low=0, high=1)
    dm = sample(m)
    ym = 5 * dm.raw[:, 0] + 0.1 * dm.raw[:, 1]  # c does nothing
    mi = _salib(m, dm, ym)
    assert mi["a"]["mu_star"] == pytest.approx(5, rel=1e-6) and mi["c"]["mu_star"] == pytest.approx(0, abs=1e-12)


def test_prim_finds_a_known_box():
    rng = np.random.default_rng(3)
    x = rng.random((600, 3))
    exp = _spec("mc", 600, low=0, high=1)
    df = pd.DataFrame({"regime": "unified", "a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                       "y": ((x[:, 0] > 0.6) & (x[:, 1] < 0.5)).astype(float)})
    r = prim_boxes(df, exp, "y", ">", 0.5)
    box = r["boxes"][0]
    assert box["coverage"] >= 0.5 and box["density"] >= 0.9
    assert set(box["limits"]) == {"a", "b"}
    assert box["limits"]["a"]["min"] == pytest.approx(0.6, abs=0.05)
    assert box["limits"]["b"]["max"] == pytest.approx(0.5, abs=0.05)


def test_samplers_are_reproducible_and_respect_bounds():
    for method, n in (("mc", 10), ("lhs", 10), ("sobol", 8), ("morris", 4), ("fast", 65)):
        exp = _spec(method, n, low=0.0, high=0.3)
        a, b = sample(exp), sample(exp)
        assert np.array_equal(a.raw, b.raw) and a.points > 0
        assert (a.raw >= 0).all() and (a.raw <= 0.3).all()
    grid = Experiment.model_validate({**EXAMPLE, "sampler": {"method": "grid", "levels": 3},
                                      "parameters": {"scorers.state.channels.cameras.delay_days":
                                                     {"low": 0, "high": 5},
                                                     "scorers.state.lists.black.kind": {"values": ["black", "gray"]}}})
    d = sample(grid)
    assert d.points == 6 and d.values[0] == (0, "black") and d.values[-1] == (5, "gray")
    assert all(isinstance(v[0], int) for v in d.values)  # whole-number fields are rounded


def test_results_parquet_is_canonical(local_example):
    folder, _ = local_example
    t = pq.read_table(folder / "results.parquet")
    assert t.schema.metadata is None or b"pandas" not in t.schema.metadata


def test_the_example_script_runs_and_regenerates_the_docs_section(tmp_path):
    """examples/experiments/sensitivity.py at a tiny size (6 runs), writing into a copy of the doc."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sensitivity", Path(__file__).parents[1] / "examples" /
                                                  "experiments" / "sensitivity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = tmp_path / "EXPERIMENTS.md"
    doc.write_text(f"intro\n{module.BEGIN}\nold\n{module.END}\nrest\n")
    text = module.main(["--out", str(tmp_path / "exp"), "--citizens", "1000", "--days", "15", "--n", "1",
                        "--workers", "1", "--where", "collateral_share > 0.01", "--docs", str(doc)])
    assert "6 runs: 6 points (sobol)" in text
    assert "first-order S1" in text or "no indices" in text
    assert "PRIM" in text
    written = doc.read_text()
    assert written.startswith("intro\n") and written.endswith("rest\n") and "old" not in written and text in written


def test_experiment_set_option_is_checked_like_the_file(tmp_path, runner):
    file = str(write(tmp_path, EXAMPLE))
    result = runner.invoke(app, ["experiment", file, "--out", str(tmp_path / "out"), "-q", "--set",
                                 "scorers.state.nope=1"])
    assert result.exit_code == 2 and "'scorers.state.nope'" in result.output and "channels" in result.output
    result = runner.invoke(app, ["experiment", file, "--out", str(tmp_path / "out"), "-q", "--set",
                                 "scorers.state.channels.cameras.misattribution=0.1"])
    assert result.exit_code == 2 and "also varied under parameters" in result.output
