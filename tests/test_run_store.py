"""Issue 13: the run store under concurrency and crashes.

- two runs into one folder at once both land, with distinct ids (ids are reserved with mkdir);
- a run killed (SIGKILL) while writing its tables, its manifest, while publishing its baseline or
  while refreshing the catalogue publishes nothing half-written, leaves the catalogue readable, and
  the folder still works: partial folders and orphan baselines are cleaned up, and an orphan is
  never "claimed" by the next identical run;
- a damaged or locked catalogue is rebuilt from the manifests.

Crashes are deterministic: SCORELAB_CRASH_AT=<point> makes the process kill itself there
(scorelab/store/faults.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from scorelab import api
from scorelab.store.catalogue import CATALOGUE
from scorelab.store.faults import CRASH_ENV, POINTS
from scorelab.store.runfolder import read_manifest, run_folders
from scorelab.store.writing import OWNER, PARTIAL

SMALL = ["-n", "300", "-d", "5"]


def scorelab(*args: str, env: dict | None = None, cwd: Path | None = None, wait: bool = True):
    """The command line in a fresh process, as a user (or a crash) sees it."""
    cmd = [sys.executable, "-c", "from scorelab.cli import main; main()", *args]
    full_env = {**os.environ, **(env or {})}
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, cwd=cwd)


def assert_complete(folder: Path) -> None:
    """A published run: readable manifest and summary, every table with the rows the manifest says."""
    m = read_manifest(folder)
    assert json.loads((folder / "summary.json").read_text())["run_id"] == folder.name
    for table, rows in m["rows"].items():
        assert pq.read_metadata(folder / f"{table}.parquet").num_rows == rows, (folder, table)
    assert (folder / "citizens.parquet").is_file() and (folder / "regime.yaml").is_file()
    assert not (folder / OWNER).exists()


def assert_pairs_consistent(runs: Path) -> None:
    """Every baseline belongs to a run that names it, and every run's baseline names it back."""
    ids = {f.name: read_manifest(f) for f in run_folders(runs)}
    for run_id, m in ids.items():
        if m.get("baseline"):
            assert ids[m["baseline"]]["baseline_of"] == run_id
        if m.get("baseline_of"):
            assert ids[m["baseline_of"]]["baseline"] == run_id, f"{run_id} claims to belong to {m['baseline_of']}"


def catalogue_ids(runs: Path) -> set[str]:
    con = duckdb.connect(str(runs / CATALOGUE), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()


def hidden(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_publishes_nothing_half_written(tmp_path, point):
    runs = tmp_path / "runs"
    first = api.run("none", citizens=300, days=5, seed=1, runs=runs)
    before = catalogue_ids(runs)
    assert before == {first.name, f"{first.name}--baseline-none"}

    proc = scorelab("run", "unified", *SMALL, "-s", "2", "--runs", str(runs), "-q", env={CRASH_ENV: point}, wait=False)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, stderr)
    new_id = "unified-300x5-s2"

    # nothing half-written is published, and the catalogue is never left empty or broken
    published = {f.name for f in run_folders(runs)}
    for folder in run_folders(runs):
        assert_complete(folder)
    if point == "catalogue":
        assert published == before | {new_id, f"{new_id}--baseline-none"}
        assert catalogue_ids(runs) == before  # the old catalogue, whole
        assert [n for n in hidden(runs) if n.startswith(".catalogue-")], hidden(runs)
    elif point == "baseline-published":
        assert published == before | {f"{new_id}--baseline-none"}  # an orphan, for now
        assert catalogue_ids(runs) == before
    else:
        assert published == before
        assert catalogue_ids(runs) == before
    if point in ("tables", "manifest", "publish", "baseline-published"):
        owner = json.loads((runs / f"{PARTIAL}{new_id}" / OWNER).read_text())
        assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()

    # the folder still works: listing cleans up, the identical run is made afresh, never claims an orphan
    listed = {r["run_id"] for r in api.list_runs(runs)}
    assert hidden(runs) == []
    assert_pairs_consistent(runs)
    if point == "catalogue":
        assert listed == before | {new_id, f"{new_id}--baseline-none"}
        return
    assert listed == before
    again = api.run("unified", citizens=300, days=5, seed=2, runs=runs)
    assert again.name == new_id
    assert read_manifest(again)["baseline"] == f"{new_id}--baseline-none"
    assert_complete(again)
    assert_pairs_consistent(runs)
    assert catalogue_ids(runs) == before | {new_id, f"{new_id}--baseline-none"}


def test_two_runs_into_one_folder_both_land(tmp_path):
    """issue 13: 'two runs into one --out at the same time: a run lost, or a DuckDB lock traceback'."""
    runs = tmp_path / "runs"
    procs = [scorelab("run", "none", *SMALL, "-s", "3", "--runs", str(runs), "-q", wait=False) for _ in range(2)]
    procs.append(scorelab("run", "unified", *SMALL, "-s", "3", "--runs", str(runs), "-q", wait=False))
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    paths = [Path(out.strip()) for out, _ in outputs]
    assert len(set(paths)) == 3, paths
    for p in paths:
        assert_complete(p)
    assert {p.name for p in paths[:2]} == {"none-300x5-s3", "none-300x5-s3-2"}
    assert_pairs_consistent(runs)
    names = {f.name for f in run_folders(runs)}
    assert len(names) == 6 and catalogue_ids(runs) == names
    assert hidden(runs) == []


def test_reservations_are_atomic_across_processes(tmp_path):
    """Two processes reserving the same id 40 times each, at once, never get the same id."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from scorelab.store.writing import reserve
        ids = [reserve(Path({str(tmp_path)!r}), "stem").run_id for _ in range(40)]
        print(" ".join(ids))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    ids = [i for p in procs for i in p.communicate(timeout=120)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(ids) == 80 and len(set(ids)) == 80


def test_partial_folders_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    """issue 13: '.partial-* folders stay for ever'."""
    runs = tmp_path / "runs"
    api.run("none", citizens=300, days=5, seed=1, runs=runs, baseline=None)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        for name, pid in (("alive", sleeper.pid), ("dead", int(dead.stdout))):
            folder = runs / f"{PARTIAL}{name}"
            folder.mkdir()
            (folder / OWNER).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
        elsewhere = runs / f"{PARTIAL}other-host"
        elsewhere.mkdir()
        (elsewhere / OWNER).write_text(json.dumps({"pid": 1, "host": "another-machine"}))
        legacy = runs / f"{PARTIAL}old-run-{int(dead.stdout)}"  # the old naming: pid in the name, no owner.json
        legacy.mkdir()
        old = time.time() - 3600
        os.utime(legacy, (old, old))
        api.list_runs(runs)
        assert hidden(runs) == [f"{PARTIAL}alive", f"{PARTIAL}other-host"]
    finally:
        sleeper.kill()
        sleeper.wait()
    api.list_runs(runs)
    assert hidden(runs) == [f"{PARTIAL}other-host"]


def test_orphan_baselines_of_older_versions_are_removed_not_claimed(tmp_path):
    """issue 13: 'orphan baselines were later claimed by the next identical run'. An older version
    published the baseline first and left it when killed; the next identical run then named its own
    baseline `-2`, while the orphan still said it belonged to that run."""
    runs = tmp_path / "runs"
    run = api.run("none", citizens=300, days=5, seed=4, runs=runs)
    base = runs / f"{run.name}--baseline-none"
    orphan = runs / f"{run.name}--baseline-none-2"  # as an older version's second baseline would be named
    orphan.mkdir()
    for f in base.iterdir():
        (orphan / f.name).write_bytes(f.read_bytes())
    m = read_manifest(orphan)
    (orphan / "manifest.json").write_text(json.dumps({**m, "run_id": orphan.name}))
    lost = runs / "gone-300x5-s1--baseline-none"  # the baseline of a run that was never published
    lost.mkdir()
    for f in base.iterdir():
        (lost / f.name).write_bytes(f.read_bytes())
    (lost / "manifest.json").write_text(json.dumps({**m, "run_id": lost.name, "baseline_of": "gone-300x5-s1"}))
    ids = {r["run_id"] for r in api.list_runs(runs)}
    assert ids == {run.name, base.name}
    assert_pairs_consistent(runs)


def test_damaged_catalogue_is_rebuilt(runner, tmp_path):
    """issue 13: 'a corrupt ... catalogue.duckdb ... gives a raw traceback'."""
    from scorelab.cli import app

    runs = tmp_path / "runs"
    run = api.run("none", citizens=300, days=5, seed=1, runs=runs, baseline=None)
    (runs / CATALOGUE).write_bytes(b"this is not a DuckDB file" * 100)
    result = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.stdout)] == [run.name]
    assert catalogue_ids(runs) == {run.name}
    (runs / CATALOGUE).write_bytes(b"")
    assert api.run("unified", citizens=300, days=5, seed=1, runs=runs, baseline=None).is_dir()
    assert len(catalogue_ids(runs)) == 2


def test_catalogue_held_open_by_another_process(runner, tmp_path):
    """issue 13: 'a catalogue held open by another process gives a raw traceback (in run only after the
    run was written)'. The refresh replaces the file instead of writing into it."""
    from scorelab.cli import app

    runs = tmp_path / "runs"
    first = api.run("none", citizens=300, days=5, seed=1, runs=runs, baseline=None)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, duckdb
        con = duckdb.connect({str(runs / CATALOGUE)!r})
        con.execute("CREATE TABLE mine AS SELECT 1 AS x")
        print("holding", flush=True)
        time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.Error):  # the file really is locked
            duckdb.connect(str(runs / CATALOGUE), read_only=True)
        result = runner.invoke(app, ["run", "unified", *SMALL, "--runs", str(runs), "--no-baseline", "-q"])
        assert result.exit_code == 0, result.output
        listed = runner.invoke(app, ["runs", "--runs", str(runs), "--json"])
        assert listed.exit_code == 0, listed.output
        assert {r["run_id"] for r in json.loads(listed.stdout)} == {first.name, "unified-300x5-s0"}
        con = api.catalogue(runs)
        try:
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        finally:
            con.close()
    finally:
        holder.kill()
        holder.wait()


def test_replication_sets_are_catalogued_with_mean_headline_measures(tmp_path):
    """The catalogue holds the headline measures of every set too (store/sets.py, when present)."""
    sets = pytest.importorskip("scorelab.store.sets")
    if not hasattr(sets, "write_set") or not hasattr(sets, "list_sets"):
        pytest.skip("store/sets.py has no write_set/list_sets")
    runs = tmp_path / "runs"
    ids = [api.run("unified", citizens=500, days=10, seed=s, runs=runs).name for s in (1, 2)]
    sets.write_set(runs, ids, society_shared=False)
    rows = {r["run_id"]: r for r in api.list_runs(runs)}
    con = api.catalogue(runs)
    try:
        (replications, found, mean) = con.execute("SELECT replications, runs_found, rewards_per_1000 FROM sets"
                                                  ).fetchone()
    finally:
        con.close()
    assert replications == 2 and found == 2
    assert mean == pytest.approx(sum(rows[i]["rewards_per_1000"] for i in ids) / 2)


def test_a_society_changed_in_memory_is_not_taken_for_the_same_run(tmp_path):
    """Reuse compares what determines a run: a society made in memory is compared by its data."""
    soc = api.build_society(300, seed=6)
    a = api.run("none", days=5, runs=tmp_path, society=soc, baseline=None)
    assert api.run("none", days=5, runs=tmp_path, society=soc, baseline=None) == a
    soc.cols["aware"][0] = not soc.cols["aware"][0]
    b = api.run("none", days=5, runs=tmp_path, society=soc, baseline=None)
    assert b != a and b.name == f"{a.name}-2"
