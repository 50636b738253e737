"""Score paths read back from the ledger (scorelab.ledger.score_paths, issue 12) against DuckDB's window
functions, the SQL the stories used before, and span unions against counting the covered days."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorelab import api
from scorelab.ledger.score_paths import LedgerColumns, score_paths, union_lengths
from scorelab.store.runfolder import read_manifest

WINDOWS = """
    with d as (select citizen, scorer, day, sum(delta) as d from '{ledger}' group by all),
    r as (select *, sum(d) over w as net, lead(day, 1, {days}) over w2 as next_day from d
          window w as (partition by citizen, scorer order by day rows between unbounded preceding and current row),
                 w2 as (partition by citizen, scorer order by day)),
    m as (select *, min(net) over w as low from r
          window w as (partition by citizen, scorer order by day rows between unbounded preceding and current row))
    select citizen, scorer, day, net, low, next_day from m order by citizen, scorer, day"""


@pytest.fixture(scope="module")
def fragmented_run(tmp_path_factory) -> Path:
    """Several scorers in one ledger (bureaus, banks, marketers), so keys are (citizen, scorer)."""
    return api.run("fragmented", citizens=1500, days=60, seed=3, baseline=None,
                   runs=tmp_path_factory.mktemp("paths") / "runs")


@pytest.mark.parametrize("which", ["demo", "fragmented"])
def test_score_paths_equal_duckdb_windows(which, demo_run, fragmented_run):
    folder = demo_run if which == "demo" else fragmented_run
    days = int(read_manifest(folder)["days"])
    paths = score_paths(LedgerColumns.read(folder / "ledger.parquet"), days)
    con = duckdb.connect()
    want = con.execute(WINDOWS.format(ledger=folder / "ledger.parquet", days=days)).fetchnumpy()
    con.close()
    names = np.array(paths.scorers, dtype=object)[paths.scorer]
    order = np.lexsort((paths.day, names, paths.citizen))  # the SQL's order: citizen, scorer name, day
    assert len(order) == len(want["day"]) > 500
    assert np.array_equal(paths.citizen[order], want["citizen"])
    assert list(names[order]) == list(want["scorer"])
    assert np.array_equal(paths.day[order], want["day"])
    assert np.array_equal(paths.next_day[order], want["next_day"])
    # float sums in another order: equal to well within the stories' 1e-9 points
    assert np.allclose(paths.net[order], want["net"], rtol=0, atol=1e-9)
    assert np.allclose(paths.low[order], want["low"], rtol=0, atol=1e-9)
    assert (paths.low < 0).any() and (paths.net[order] != paths.low[order]).any()  # the checks are not idle
    if which == "fragmented":
        assert len(paths.scorers) > 1


def test_score_paths_of_a_ledger_out_of_day_order(demo_run, tmp_path):
    """The engine writes days in turn; a ledger rewritten in another row order gives the same paths."""
    import pyarrow.parquet as pq

    table = pq.read_table(demo_run / "ledger.parquet")
    shuffled = table.take(np.random.default_rng(0).permutation(len(table)))
    pq.write_table(shuffled, tmp_path / "ledger.parquet")
    days = int(read_manifest(demo_run)["days"])
    a = score_paths(LedgerColumns.read(demo_run / "ledger.parquet"), days)
    b = score_paths(LedgerColumns.read(tmp_path / "ledger.parquet"), days)
    ka = np.lexsort((a.day, np.array(a.scorers)[a.scorer], a.citizen))
    kb = np.lexsort((b.day, np.array(b.scorers)[b.scorer], b.citizen))
    assert np.array_equal(a.citizen[ka], b.citizen[kb]) and np.array_equal(a.day[ka], b.day[kb])
    assert np.allclose(a.net[ka], b.net[kb], rtol=0, atol=1e-9)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(0, 12)), max_size=40))
def test_union_lengths_count_the_covered_days(spans):
    citizen = np.array([c for c, _, _ in spans], np.int64)
    start = np.array([a for _, a, _ in spans], np.int64)
    end = start + np.array([w for _, _, w in spans], np.int64)
    who, length = union_lengths(citizen, start, end)
    covered: dict[int, set[int]] = {}
    for c, a, w in spans:
        covered.setdefault(c, set()).update(range(a, a + w))
    assert list(who) == sorted(covered)
    assert [int(x) for x in length] == [len(covered[c]) for c in sorted(covered)]
