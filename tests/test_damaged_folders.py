"""Issue 13: every command answers bad input, a damaged run or society folder, a runs folder that is a
file, with one line and exit status 2, and the other runs are still listed. Issue 14.4: one meaning per
option (--runs, --out), -q, and `run --society` taking the society's seed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scorelab import api
from scorelab.cli import app
from scorelab.society.model import save_society

SMALL = ["--citizens", "300", "--days", "5"]


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def folder_of_runs(tmp_path_factory) -> Path:
    """Three small runs (two with baselines) to damage copies of."""
    runs = tmp_path_factory.mktemp("store") / "runs"
    api.run("unified", citizens=400, days=10, seed=1, runs=runs)
    api.run("none", citizens=400, days=10, seed=2, runs=runs)
    api.run("unified", citizens=400, days=10, seed=3, runs=runs, baseline=None)
    return runs


@pytest.fixture
def runs(folder_of_runs, tmp_path) -> Path:
    copy = tmp_path / "runs"
    shutil.copytree(folder_of_runs, copy)
    return copy


RUN = "unified-400x10-s1"


@pytest.mark.parametrize("damage", ["not_json", "empty", "a_list", "no_society", "bad_citizens", "bad_baseline"])
def test_damaged_manifest(runner, runs, damage):
    """issue 13: 'a corrupt manifest.json ... gives a raw traceback'; the other runs are still listed."""
    manifest = runs / RUN / "manifest.json"
    m = json.loads(manifest.read_text())
    manifest.write_text({"not_json": "{not json", "empty": "", "a_list": "[1, 2]",
                         "no_society": json.dumps({**m, "society": None}),
                         "bad_citizens": json.dumps({**m, "society": {"citizens": "many"}}),
                         "bad_baseline": json.dumps({**m, "baseline": "../../etc"})}[damage])
    listed = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
    assert listed.exit_code == 0, listed.output
    ids = {r["run_id"] for r in json.loads(listed.stdout)}
    assert RUN not in ids and len(ids) == 4
    assert f"warning: {RUN}" in listed.output or f"{RUN}/manifest.json" in listed.output
    table = runner.invoke(app, ["runs", "--runs", str(runs)])
    assert table.exit_code == 0 and "none-400x10-s2" in table.output
    for command in (["summary", RUN], ["explain", RUN, "3"], ["stories", RUN]):
        one_line_error(runner.invoke(app, [*command, "--runs", str(runs)]), "damaged run folder", "manifest.json")
    # the folder still takes new runs
    assert runner.invoke(app, ["run", "none", *SMALL, "--runs", str(runs), "-q"]).exit_code == 0


def test_damaged_summary_is_recomputed(runner, runs):
    """issue 13: 'a corrupt summary.json gives a raw traceback'."""
    good = json.loads((runs / RUN / "summary.json").read_text())
    (runs / RUN / "summary.json").write_text('{"half": ')
    listed = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 5
    assert "damaged summary.json" in listed.output
    result = runner.invoke(app, ["summary", RUN, "--runs", str(runs), "--json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    for key in ("sanctions_total", "wrongful_sanction_share", "listed_share", "behaviour_change", "gini"):
        assert again[key] == good[key]
    assert json.loads((runs / RUN / "summary.json").read_text())["run_id"] == RUN  # repaired


@pytest.mark.parametrize("table", ["ledger", "measures", "citizens", "records"])
def test_damaged_table(runner, runs, table):
    """issue 13: 'a corrupt ... table ... gives a raw traceback'."""
    path = runs / RUN / f"{table}.parquet"
    path.write_bytes(path.read_bytes()[:200])
    (runs / RUN / "summary.json").unlink()
    for command in (["summary", RUN], ["explain", RUN, "3"], ["stories", RUN]):
        one_line_error(runner.invoke(app, [*command, "--runs", str(runs)]), "damaged run folder")
    if table == "measures":
        report = runner.invoke(app, ["report", RUN, "--runs", str(runs), "--out", str(runs.parent / "r.html")])
        if report.exit_code != 0:  # the report may do without a table; if it cannot, one line
            one_line_error(report, "damaged run folder")
    listed = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 5


def test_a_huge_seed_written_by_an_older_version_does_not_break_the_folder(runner, runs):
    """issue 13: 'A seed of 2^63 writes a run and then breaks every later run and runs in that folder'."""
    manifest = runs / RUN / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "seed": 2**63}))
    listed = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
    assert listed.exit_code == 0, listed.output
    assert {r["run_id"]: r["seed"] for r in json.loads(listed.stdout)}[RUN] is None
    assert runner.invoke(app, ["run", "none", *SMALL, "--runs", str(runs), "-q"]).exit_code == 0
    one_line_error(runner.invoke(app, ["run", "none", *SMALL, "--seed", str(2**63), "--runs", str(runs)]),
                   "key 'seed'", "0 to 4294967295")


def test_runs_folder_that_is_a_file_or_cannot_be_made(runner, tmp_path):
    """issue 13: '--out that is a file or unwritable ... gives a raw traceback'."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for command in (["run", "none", *SMALL], ["runs"]):
        one_line_error(runner.invoke(app, [*command, "--runs", str(afile)]), str(afile), "is a file")
    one_line_error(runner.invoke(app, ["run", "none", *SMALL, "--runs", str(afile / "sub")]),
                   "cannot create the runs folder")
    one_line_error(runner.invoke(app, ["summary", "x", "--runs", str(afile)]), "no run 'x'")
    one_line_error(runner.invoke(app, ["society", "-n", "300", "--out", str(afile / "soc")]),
                   "cannot write the society folder")
    assert afile.read_text() == "not a folder"


@pytest.fixture(scope="module")
def society_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("soc") / "soc"
    save_society(api.build_society(300, seed=5), folder)
    return folder


def _damage_society(folder: Path, damage: str) -> None:
    if damage == "no_table":
        (folder / "citizens.parquet").unlink()
    elif damage == "truncated_table":
        (folder / "citizens.parquet").write_bytes((folder / "citizens.parquet").read_bytes()[:300])
    elif damage == "truncated_graph":
        (folder / "graph.npz").write_bytes((folder / "graph.npz").read_bytes()[:300])
    elif damage == "spec_garbage":
        (folder / "spec.json").write_text("{{{")
    elif damage == "spec_wrong_size":
        spec = json.loads((folder / "spec.json").read_text())
        (folder / "spec.json").write_text(json.dumps({**spec, "citizens": 400}))
    elif damage == "graph_out_of_range":
        with np.load(folder / "graph.npz") as g:
            arrays = dict(g)
        arrays["graph_indices"] = arrays["graph_indices"] + 10_000
        np.savez(folder / "graph.npz", **arrays)
    elif damage == "a_file":
        shutil.rmtree(folder)
        folder.write_text("not a folder")


@pytest.mark.parametrize("damage", ["no_table", "truncated_table", "truncated_graph", "spec_garbage",
                                    "spec_wrong_size", "graph_out_of_range", "a_file"])
def test_damaged_society_folder(runner, society_folder, tmp_path, damage):
    """issue 13: 'a damaged --society folder gives a raw traceback'."""
    soc = tmp_path / "soc"
    shutil.copytree(society_folder, soc)
    _damage_society(soc, damage)
    result = runner.invoke(app, ["run", "none", "--days", "5", "--society", str(soc), "--runs", str(tmp_path / "r")])
    one_line_error(result, str(soc), "society")
    assert not [p for p in (tmp_path / "r").iterdir() if p.is_dir()] if (tmp_path / "r").exists() else True


def test_run_on_a_society_takes_its_seed(runner, society_folder, tmp_path):
    """issue 14.4: '`scorelab society --seed 3` then `run --society` gives a run with seed 0'."""
    result = runner.invoke(app, ["run", "none", "--days", "5", "--society", str(society_folder), "--runs",
                                 str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()).name == "none-300x5-s5"
    assert api.describe_run(result.stdout.strip())["seed"] == 5


def test_quiet_prints_only_the_path_and_reuse_is_announced(runner, tmp_path):
    """issue 14.4: '-q still prints the summary table'; 'Re-running a command silently makes a -2 copy'."""
    args = ["run", "none", *SMALL, "--runs", str(tmp_path)]
    first = runner.invoke(app, [*args, "-q"])
    assert first.exit_code == 0 and first.output == f"{tmp_path / 'none-300x5-s0'}\n"
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert "reusing run none-300x5-s0" in again.output and "run reused" in again.output
    forced = runner.invoke(app, [*args, "--force", "-q"])
    assert forced.output == f"{tmp_path / 'none-300x5-s0-rerun2'}\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "none-300x5-s0", "none-300x5-s0--baseline-none", "none-300x5-s0-rerun2", "none-300x5-s0-rerun2--baseline-none"]


def test_out_as_runs_folder_still_works_with_a_warning(runner, tmp_path):
    """issue 14.4: --out as the runs folder keeps working for one release, with a deprecation warning."""
    made = runner.invoke(app, ["run", "none", *SMALL, "--out", str(tmp_path), "-q"])
    assert made.exit_code == 0
    assert "deprecated" in made.stderr and made.stdout.strip().endswith("none-300x5-s0")
    for command in (["summary", "none-300x5-s0", "--json"], ["runs", "--json"], ["stories", "none-300x5-s0"],
                    ["explain", "none-300x5-s0", "1"]):
        result = runner.invoke(app, [*command, "--out", str(tmp_path)])
        assert result.exit_code == 0, (command, result.output)
        assert "use --runs" in result.stderr
        plain = runner.invoke(app, [*command, "--runs", str(tmp_path)])
        assert plain.exit_code == 0 and "deprecated" not in plain.output and plain.stdout == result.stdout
    one_line_error(runner.invoke(app, ["runs", "--runs", str(tmp_path), "--out", str(tmp_path / "x")]),
                   "name different runs folders")


def test_runs_fits_80_columns_with_headline_measures(runner, folder_of_runs):
    """issue 14.4: '`runs` in 80 columns cuts every id to `unified-100...`, and the catalogue holds no
    measures'."""
    runs = folder_of_runs.parent / "long"
    long_regime = folder_of_runs.parent / "long.yaml"
    from _support import preset_text

    long_regime.write_text(preset_text("unified").replace("name: unified", "name: " + "a-very-long-regime-name" * 2))
    api.run(str(long_regime), citizens=400, days=10, seed=4_000_000_000, runs=runs)
    api.run("unified", citizens=400, days=10, seed=1, runs=runs)
    result = runner.invoke(app, ["runs", "--runs", str(runs)], terminal_width=200)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, lines
    text = result.output
    assert "unified-400x10-s1" in text and "x10-s4000000000" in text and "↳ baseline-none" in text
    assert "sanctions/1k" in text and "wrongful" in text and "listed" in text
    wide = runner.invoke(app, ["runs", "--runs", str(runs), "--wide"])
    assert "a-very-long-regime-namea-very-long-regime-name-400x10-s4000000000--baseline-none" in wide.output
    rows = json.loads(runner.invoke(app, ["runs", "--runs", str(runs), "--json"]).stdout)
    s = api.summary("unified-400x10-s1", runs)
    row = {r["run_id"]: r for r in rows}["unified-400x10-s1"]
    assert row["sanctions_per_1000"] == pytest.approx(sum(s["sanctions_per_1000"].values()))
    assert row["wrongful_sanction_share"] == s["wrongful_sanction_share"]
    assert 0 <= row["listed_share"] <= 1 and row["sanctions_total"] == s["sanctions_total"]


def test_catalogue_ranks_runs_with_duckdb(runner, folder_of_runs):
    """issue 14.4: 'which run had the most wrongful sanctions' is a query."""
    con = api.catalogue(folder_of_runs)
    try:
        ranked = con.execute("SELECT run_id, rewards_per_1000 FROM runs WHERE baseline_of IS NULL "
                             "ORDER BY rewards_per_1000 DESC, run_id").fetchall()
        measures = dict(con.execute("SELECT measure, value FROM measures WHERE run_id = ?", [RUN]).fetchall())
    finally:
        con.close()
    rows = [r for r in api.list_runs(folder_of_runs) if not r["baseline_of"]]
    expected = sorted(rows, key=lambda r: (-r["rewards_per_1000"], r["run_id"]))
    assert [r[0] for r in ranked] == [r["run_id"] for r in expected] and ranked[0][1] > 0
    s = api.summary(RUN, folder_of_runs)
    assert measures["events"] == s["events"]
    assert measures["network.collateral_share"] == s["network"]["collateral_share"]
    by_cli = runner.invoke(app, ["runs", "--runs", str(folder_of_runs), "--sort", "rewards_per_1000", "--json"])
    assert [r["run_id"] for r in json.loads(by_cli.stdout)][:1] == [r[0] for r in ranked][:1]
    one_line_error(runner.invoke(app, ["runs", "--runs", str(folder_of_runs), "--sort", "nonsense"]),
                   "unknown column 'nonsense'", "wrongful_sanction_share")


@pytest.mark.parametrize("args", [["run", "unified", "--seed", "abc"], ["run", "unified", "--citizens", "1e9"],
                                  ["frobnicate"], ["run"], ["summary"], ["run", "unified", "--bogus"],
                                  ["explain", "x", "not-a-number"]])
def test_console_script_usage_errors_are_one_line(tmp_path, args):
    """issue 13: bad command-line inputs, as the installed command answers them."""
    proc = subprocess.run([sys.executable, "-c", "from scorelab.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "runs").exists()


def test_society_command_bad_input(runner, society_folder, tmp_path):
    """Seeds out of range and folders that exist are one line, before anything is drawn or written."""
    one_line_error(runner.invoke(app, ["society", "-n", "300", "--seed", str(2**63), "--out", str(tmp_path / "s")]),
                   "key 'seed'", "0 to 4294967295")
    one_line_error(runner.invoke(app, ["society", "-n", "300", "--out", str(society_folder)]), "already exists")
    assert not (tmp_path / "s").exists()
