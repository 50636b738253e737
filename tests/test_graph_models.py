"""Graph models (issue 10): homophilous (default), Erdos-Renyi and a configuration model, each with
the mean degree exact in expectation and the degree spread of its distribution; same seed, same graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from pydantic import ValidationError
from scipy import stats

from scorelab.society.graph import contact_graph
from scorelab.society.model import SocietySpec, build_society

N = 20_000
SEEDS = range(1, 6)


@pytest.fixture(scope="module")
def people():
    soc = build_society(SocietySpec(citizens=N, seed=2))
    return soc.cols["region"], soc.cols["age"]


def graph(people, seed, **kw):
    region, age = people
    mean = kw.pop("mean", 10.0)
    return contact_graph(region, age, mean, kw.pop("homophily", 0.8), 400, seed, **kw)


def degrees(g) -> np.ndarray:
    return np.diff(g[0])


def simple(g, n=N) -> bool:
    """Symmetric, no self-loops, no repeated ties (a repeat would show as an entry of 2)."""
    indptr, indices = g
    rows = np.repeat(np.arange(n), np.diff(indptr))
    a = sp.coo_matrix((np.ones(len(indices)), (rows, indices)), shape=(n, n)).tocsr()
    return (a != a.T).nnz == 0 and a.diagonal().sum() == 0 and a.max() == 1


MODELS = [dict(model="homophilous"), dict(model="erdos_renyi"), dict(model="configuration"),
          dict(model="configuration", distribution="negative_binomial", dispersion=2.0),
          dict(model="homophilous", distribution="negative_binomial", dispersion=2.0)]


@pytest.mark.parametrize("kw", MODELS, ids=lambda kw: "-".join(str(v) for v in kw.values()))
@pytest.mark.parametrize("mean", [3.0, 4.0, 5.0, 10.0])
def test_mean_degree_is_exact_in_expectation(people, kw, mean):
    """The mean of the realised mean degree over 5 seeds is within 4 standard errors of the target
    (sum of N independent degrees: SE of one mean = sqrt(variance / N)); 3, 4 and 5 stay apart."""
    means = [degrees(graph(people, s, mean=mean, **kw)).mean() for s in SEEDS]
    var = mean + (mean**2 / kw["dispersion"] if "dispersion" in kw else 0.0)
    se = np.sqrt(var / N / len(SEEDS))
    assert abs(np.mean(means) - mean) < 4 * se + 1e-3, (means, mean)


@pytest.mark.parametrize("kw", MODELS, ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_graphs_are_simple_and_undirected(people, kw):
    g = graph(people, 7, **kw)
    assert simple(g)
    region, age = people
    small = contact_graph(region[:3000], age[:3000], 10.0, 0.8, 400, 7, **kw)
    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(range(3000))
    rows = np.repeat(np.arange(3000), degrees(small))
    nx_graph.add_edges_from(zip(rows.tolist(), small[1].tolist(), strict=True))
    assert nx.number_of_selfloops(nx_graph) == 0 and 2 * nx_graph.number_of_edges() == len(small[1])
    assert np.array_equal(np.array([d for _, d in sorted(nx_graph.degree())]), degrees(small))


def test_poisson_degrees_fit_a_poisson_law(people):
    """Homophilous and configuration graphs with Poisson degrees (and Erdos-Renyi, binomial ~ Poisson):
    a chi-square test of the degree histogram against Poisson(10), fixed seed, at the 0.1% level."""
    for kw in MODELS[:3]:
        d = degrees(graph(people, 3, **kw))
        ks = np.arange(3, 19)  # bins 0-3, 4, ..., 17, 18+
        observed = np.array([(d <= 3).sum(), *[(d == k).sum() for k in ks[1:-1]], (d >= 18).sum()])
        p = np.array([stats.poisson.cdf(3, 10), *stats.poisson.pmf(ks[1:-1], 10), stats.poisson.sf(17, 10)])
        chi2 = stats.chisquare(observed, p * N)
        assert chi2.pvalue > 1e-3, (kw, chi2)


def test_negative_binomial_degrees_are_overdispersed(people):
    d = degrees(graph(people, 3, model="configuration", distribution="negative_binomial", dispersion=2.0))
    # variance mean + mean^2 / k = 10 + 50 = 60; the sample variance of 20,000 draws is within ~5%
    assert d.var() == pytest.approx(60.0, rel=0.1)


def test_a_degree_pmf_gives_those_degrees(people):
    pmf = (0.1, 0.0, 0.3, 0.0, 0.6)  # mean 3.0
    d = degrees(graph(people, 4, model="configuration", pmf=pmf, mean=0.0))
    assert set(np.unique(d)) <= {0, 1, 2, 3, 4, 5}  # an odd total moves one end
    assert (d == 4).mean() == pytest.approx(0.6, abs=0.02)
    assert d.mean() == pytest.approx(3.0, abs=0.05)


def test_homophily_only_in_the_homophilous_model(people):
    region, _ = people
    for kw, low, high in ((dict(model="homophilous"), 0.5, 1.0), (dict(model="erdos_renyi"), 0.0, 0.1),
                          (dict(model="configuration"), 0.0, 0.1)):
        indptr, indices = graph(people, 5, **kw)
        rows = np.repeat(np.arange(N), np.diff(indptr))
        same = (region[rows] == region[indices]).mean()
        assert low < same < high, (kw, same)


@pytest.mark.parametrize("kw", MODELS, ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_same_seed_same_graph(people, kw):
    a, b, c = graph(people, 9, **kw), graph(people, 9, **kw), graph(people, 10, **kw)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1][:1000], c[1][:1000])


def test_society_spec_selects_the_model():
    er = build_society(SocietySpec(citizens=3000, seed=1, graph_model="erdos_renyi", mean_degree=6))
    default = build_society(SocietySpec(citizens=3000, seed=1, mean_degree=6))
    region = er.cols["region"]
    same = [(region[np.repeat(np.arange(3000), np.diff(s.graph_indptr))] == region[s.graph_indices]).mean()
            for s in (er, default)]
    assert same[0] < 0.15 < same[1]
    assert er.spec.graph_model == "erdos_renyi"


@pytest.mark.parametrize("bad", [dict(graph_model="erdos_renyi", degree_distribution="poisson"),
                                 dict(degree_distribution="negative_binomial"),
                                 dict(degree_dispersion=2.0),
                                 dict(degree_pmf=(0.5, 0.2)),
                                 dict(degree_pmf=(0.5, 0.5), mean_degree=3),
                                 dict(graph_model="small_world")])
def test_impossible_graph_specs_are_refused(bad):
    with pytest.raises(ValidationError):
        SocietySpec(citizens=100, seed=1, **bad)
