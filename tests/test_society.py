"""society: determinism, census marginals, households, the contact graph, save and load."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.metrics.inequality import gini
from scorelab.society.model import Society, SocietySpec, build_society, load_society, save_society

# Census 2020 figures (NBS, 7th national census; NBS 2020 income) that the society targets.
CENSUS_URBAN_SHARE = 0.6389
CENSUS_HOUSEHOLD_SIZE = 2.62
CENSUS_UNDER_15 = 0.1795
NBS_INCOME_GINI = 0.47
N_REGIONS = 31
N = 20_000


@pytest.fixture(scope="module")
def society() -> Society:
    return build_society(SocietySpec(citizens=N, seed=11))


def _same_society(a: Society, b: Society) -> bool:
    return (a.cols.keys() == b.cols.keys()
            and all(np.array_equal(a.cols[k], b.cols[k]) and a.cols[k].dtype == b.cols[k].dtype for k in a.cols)
            and np.array_equal(a.graph_indptr, b.graph_indptr) and np.array_equal(a.graph_indices, b.graph_indices)
            and np.array_equal(a.household_indptr, b.household_indptr)
            and np.array_equal(a.household_members, b.household_members))


def test_same_spec_same_society():
    spec = SocietySpec(citizens=3000, seed=5)
    assert _same_society(build_society(spec), build_society(spec))


def test_different_seed_different_society():
    a = build_society(SocietySpec(citizens=3000, seed=5))
    b = build_society(SocietySpec(citizens=3000, seed=6))
    assert not np.array_equal(a.cols["age"], b.cols["age"])
    assert not np.array_equal(a.cols["income"], b.cols["income"])
    assert not np.array_equal(a.graph_indices[:1000], b.graph_indices[:1000])


def test_urban_share_near_census(society):
    # Urban/rural is drawn per household (~7,600 households): the sampling SD of the share is
    # about 0.0055, and clustering by household inflates it a little; 0.03 is over 4 SD.
    assert abs(society.cols["urban"].mean() - CENSUS_URBAN_SHARE) < 0.03


def test_mean_household_size_by_construction(society):
    n_households = len(np.unique(society.cols["household"]))
    # the number of households is round(n / 2.62), so the mean size is 2.62 up to rounding
    assert abs(N / n_households - CENSUS_HOUSEHOLD_SIZE) < 0.01


def test_under_15_share_near_census(society):
    # binomial SD at n = 20,000 is 0.0027; 0.01 is over 3.5 SD
    assert abs((society.cols["age"] < 15).mean() - CENSUS_UNDER_15) < 0.01


def test_income_gini_near_nbs(society):
    # The within-group sigma is solved for a Gini of 0.47 before the college premium and a 10%
    # personal term are added, which push the realised Gini up by about 0.01; the sampling SD at
    # n = 20,000 is under 0.005. Tolerance 0.02 covers both.
    assert abs(gini(society.cols["income"]) - NBS_INCOME_GINI) < 0.02


def test_gini_function_on_known_distributions():
    assert gini(np.ones(100)) == pytest.approx(0.0)
    one_has_all = np.zeros(1000)
    one_has_all[0] = 1.0
    assert gini(one_has_all) == pytest.approx(1.0, abs=0.002)
    # uniform on [0, 1] has Gini 1/3
    assert gini(np.linspace(0, 1, 100_001)) == pytest.approx(1 / 3, abs=1e-3)


def test_contact_graph_symmetric_without_self_loops(society):
    n = society.n
    a = sp.csr_matrix((np.ones(len(society.graph_indices)), society.graph_indices, society.graph_indptr),
                      shape=(n, n))
    assert (a != a.T).nnz == 0
    assert a.diagonal().sum() == 0
    assert a.max() == 1  # no duplicate edges


def test_contact_graph_mean_degree_near_10(society):
    n = society.n
    g = nx.Graph()
    g.add_nodes_from(range(n))
    rows = np.repeat(np.arange(n), np.diff(society.graph_indptr))
    g.add_edges_from(zip(rows.tolist(), society.graph_indices.tolist(), strict=True))
    assert nx.number_of_selfloops(g) == 0
    # every edge appears in both rows of the CSR
    assert 2 * g.number_of_edges() == len(society.graph_indices)
    degrees = np.array([d for _, d in g.degree()])
    assert np.array_equal(degrees, society.degree())
    # Poisson(10) contacts each: the mean of 20,000 degrees has a standard error of 0.022
    assert degrees.mean() == pytest.approx(10.0, abs=0.1)


def test_contact_graph_homophily_by_region(society):
    region = society.cols["region"]
    rows = np.repeat(np.arange(society.n), np.diff(society.graph_indptr))
    same = (region[rows] == region[society.graph_indices]).mean()
    # random ties would share a region 1 time in 31; 80% of ties are drawn among near
    # neighbours in the region-age ordering, so the share must be several times higher
    assert same > 5 / N_REGIONS


def test_households_csr_covers_everyone_once(society):
    indptr, members = society.household_indptr, society.household_members
    assert indptr[0] == 0 and indptr[-1] == society.n
    assert np.array_equal(np.sort(members), np.arange(society.n))
    h = society.cols["household"]
    for hh in (0, len(indptr) // 2, len(indptr) - 2):
        assert np.all(h[members[indptr[hh]:indptr[hh + 1]]] == hh)
    owner = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    assert np.array_equal(h[members], owner)
    assert np.all(np.diff(indptr) >= 1)  # no empty household


def test_households_share_region_and_urban(society):
    h = society.cols["household"]
    for col in ("region", "urban"):
        v = society.cols[col]
        first = np.full(h.max() + 1, -1, np.int64)
        first[h] = v
        assert np.array_equal(first[h], v.astype(np.int64))


def test_save_and_load_round_trip(tmp_path):
    soc = build_society(SocietySpec(citizens=2000, seed=3))
    save_society(soc, tmp_path / "soc")
    back = load_society(tmp_path / "soc")
    assert back.spec == soc.spec
    assert _same_society(soc, back)


def test_save_onto_existing_folder_raises(tmp_path):
    soc = build_society(SocietySpec(citizens=500, seed=3))
    (tmp_path / "taken").mkdir()
    with pytest.raises(ScorelabError, match="already exists"):
        save_society(soc, tmp_path / "taken")
    save_society(soc, tmp_path / "soc")
    with pytest.raises(ScorelabError, match="already exists"):
        save_society(soc, tmp_path / "soc")


def test_load_society_from_non_society_folder(tmp_path):
    with pytest.raises(ScorelabError, match="not a society folder"):
        load_society(tmp_path)


def test_cli_society_then_exists(tmp_path):
    runner = CliRunner()
    out = tmp_path / "soc"
    first = runner.invoke(app, ["society", "--citizens", "800", "--seed", "2", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert _same_society(load_society(out), build_society(SocietySpec(citizens=800, seed=2)))
    again = runner.invoke(app, ["society", "--citizens", "800", "--seed", "2", "--out", str(out)])
    assert again.exit_code == 2
    assert "Traceback" not in again.output
    assert "already exists" in " ".join(again.output.split())


def test_awareness_override_only_changes_awareness():
    aware = build_society(SocietySpec(citizens=2000, seed=4, awareness=1.0))
    unaware = build_society(SocietySpec(citizens=2000, seed=4, awareness=0.0))
    assert aware.cols["aware"].all() and not unaware.cols["aware"].any()
    for k in aware.cols:
        if k != "aware":
            assert np.array_equal(aware.cols[k], unaware.cols[k]), k
