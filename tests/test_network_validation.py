"""Contagion primitives (scorelab.consequences.contagion) against analytic results and networkx.

- independent cascade = bond percolation: final size on Erdos-Renyi graphs vs S = 1 - exp(-z T S),
  and vs the largest connected component of the percolated graph found by networkx;
- threshold cascade (S1-M11 pile-ons) vs the tree-like analytic of Gleeson & Cahalane (2007);
- geometric spill-over (S1-M7) vs Katz centrality (networkx) and (I - alpha A)^-1 - I (numpy), and
  the engine's association rows (scenario runner) vs one- and three-hop spill-over.

Every graph and seed set is drawn from a fixed seed, so the numbers are the same on every run; the
tolerances are stated where they are used, with the spread they must cover.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import yaml
from scipy.optimize import brentq
from scipy.special import comb

from scorelab.consequences.contagion import geometric_spillover, independent_cascade, threshold_cascade
from scorelab.scenario.runner import run_scenario


def csr(G: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """CSR arrays (indptr int64, indices int32) of a networkx graph whose nodes are 0..n-1."""
    A = nx.to_scipy_sparse_array(G, nodelist=range(G.number_of_nodes()), format="csr")
    A.sort_indices()
    return A.indptr.astype(np.int64), A.indices.astype(np.int32)


# ---------------------------------------------------------------------------- bond percolation
N_ER, Z_ER = 20_000, 4.0
GRAPH_SEEDS = (11, 12, 13)
LARGE = 0.05  # an outbreak reaching 5% of the nodes is large: small ones stay O(1) nodes for z T > 1


def er_final_size(z: float, t: float, rho0: float = 0.0) -> float:
    """Root S in (0, 1] of S = 1 - (1 - rho0) exp(-z T S): the giant component for rho0 = 0 (z T > 1)."""
    return brentq(lambda s: s - 1 + (1 - rho0) * np.exp(-z * t * s), 1e-9, 1.0)


@pytest.fixture(scope="module")
def er_graphs():
    return [nx.fast_gnp_random_graph(N_ER, Z_ER / N_ER, seed=s) for s in GRAPH_SEEDS]


@pytest.mark.parametrize("t", [0.5, 0.75])
def test_independent_cascade_matches_percolation_on_erdos_renyi(er_graphs, t):
    s_giant = er_final_size(Z_ER, t)            # 0.7968 for z T = 2, 0.9405 for z T = 3
    s_seeded = er_final_size(Z_ER, t, 0.01)     # 0.8002 and 0.9412 with 1% of nodes seeded
    large, seeded, lcc = [], [], []
    for g, G in zip(GRAPH_SEEDS, er_graphs, strict=True):
        indptr, indices = csr(G)
        rng = np.random.default_rng(1000 + g)
        for _ in range(6):  # single random seeds; keep the outbreaks that take off
            size = independent_cascade(indptr, indices, rng.integers(0, N_ER, 1), t, rng).mean()
            if size > LARGE:
                large.append(size)
        seeds = rng.choice(N_ER, N_ER // 100, replace=False)
        seeded.append(independent_cascade(indptr, indices, seeds, t, rng).mean())
        # networkx: keep each edge with probability T, then the largest connected component
        edges = np.array(G.edges())
        kept = edges[rng.random(len(edges)) < t]
        H = nx.empty_graph(N_ER)
        H.add_edges_from(map(tuple, kept))
        lcc.append(max(len(c) for c in nx.connected_components(H)) / N_ER)
    # Each value is the giant component of a G(n, zT/n) (percolating G(n, z/n) with T gives G(n, zT/n)).
    # Its fraction has sd sqrt(S(1-S) / (n (1 - zT(1-S))^2)): 0.0048 for zT = 2 and 0.0020 for zT = 3 at
    # n = 20,000; finite-size bias is O(1/n). Means of >= 3 values: 0.012 is over 4 sd of a mean.
    # Measured at these seeds, zT = 2: large outbreaks 0.7957 (14 of 18), 1% seeded 0.8006 (analytic 0.8002),
    # networkx LCC 0.7939 (analytic 0.7968); zT = 3: 0.9401 (17 of 18), 0.9412 (0.9412), 0.9394 (0.9405).
    # from one seed a large outbreak happens with probability S (0.80, 0.94): 14.3 of 18 expected, sd 1.7
    assert len(large) >= 9
    assert np.mean(large) == pytest.approx(s_giant, abs=0.012)
    assert np.mean(seeded) == pytest.approx(s_seeded, abs=0.012)
    assert np.mean(lcc) == pytest.approx(s_giant, abs=0.012)
    # individual runs: within 0.03 (over 6 sd of one run for zT = 2)
    assert np.all(np.abs(np.array(large) - s_giant) < 0.03)
    assert np.all(np.abs(np.array(lcc) - s_giant) < 0.03)


def test_independent_cascade_extremes():
    G = nx.path_graph(50)
    indptr, indices = csr(G)
    rng = np.random.default_rng(0)
    assert independent_cascade(indptr, indices, np.array([10]), 1.0, rng).all()
    assert np.flatnonzero(independent_cascade(indptr, indices, np.array([10]), 0.0, rng)).tolist() == [10]
    # per-tie transmissibility: only the ties stored from nodes < 20 transmit
    per_tie = (np.repeat(np.arange(50), np.diff(indptr)) < 20).astype(float)
    active = independent_cascade(indptr, indices, np.array([0]), per_tie, rng)
    assert np.flatnonzero(active).tolist() == list(range(21))


# ---------------------------------------------------------------------------- threshold cascade
def gleeson_cahalane(pk: np.ndarray, phi: float, rho0: float) -> float:
    """Final active fraction on a tree-like random graph with degree distribution pk (Gleeson & Cahalane 2007).

    q_{n+1} = rho0 + (1 - rho0) sum_k (k / z) p_k sum_{m<k} C(k-1, m) q_n^m (1 - q_n)^{k-1-m} F(m / k),
    rho     = rho0 + (1 - rho0) sum_k p_k sum_{m<=k} C(k, m) q^m (1 - q)^{k-m} F(m / k),
    F(x) = 1 if x >= phi, q_0 = rho0, iterated to the fixed point. Nodes of degree 0 never activate.
    """
    k = np.arange(len(pk), dtype=float)[:, None]
    m = np.arange(len(pk), dtype=float)[None, :]
    z = float(np.sum(k[:, 0] * pk))
    fires = (k > 0) & (m / np.maximum(k, 1) >= phi)   # F(m / k), the same float comparison as the code
    child = np.where((m < k) & fires, k / z * pk[:, None] * comb(k - 1, m), 0.0)
    whole = np.where((m <= k) & fires, pk[:, None] * comb(k, m), 0.0)

    def binomial_sum(weight: np.ndarray, q: float, trials: np.ndarray) -> float:
        return float(np.sum(weight * q**m * (1 - q) ** np.maximum(trials - m, 0)))

    q = rho0
    for _ in range(100_000):
        q_next = rho0 + (1 - rho0) * binomial_sum(child, q, k - 1)
        if abs(q_next - q) < 1e-13:
            q = q_next
            break
        q = q_next
    return rho0 + (1 - rho0) * binomial_sum(whole, q, k)


N_TH = 20_000


@pytest.fixture(scope="module")
def threshold_graphs():
    from scipy.stats import poisson

    regular = np.zeros(6)
    regular[5] = 1.0
    return {
        "5-regular": (csr(nx.random_regular_graph(5, N_TH, seed=21)), regular),
        "poisson-4": (csr(nx.fast_gnp_random_graph(N_TH, 4.0 / N_TH, seed=22)), poisson.pmf(np.arange(60), 4.0)),
    }


# (graph, phi, rho0, side): z = 5 with phi = 0.35 needs 2 active neighbours of 5; the analytic cascade
# transition (rho jumps to 1) is at rho0 = 0.0508. Poisson z = 4 with phi = 0.3: transition at rho0 = 0.0337.
THRESHOLD_POINTS = [
    ("5-regular", 0.35, 0.03, "below"),
    ("5-regular", 0.35, 0.10, "above"),
    ("poisson-4", 0.30, 0.01, "below"),
    ("poisson-4", 0.30, 0.10, "above"),
]


@pytest.mark.parametrize(("graph", "phi", "rho0", "side"), THRESHOLD_POINTS)
def test_threshold_cascade_matches_gleeson_cahalane(threshold_graphs, graph, phi, rho0, side):
    (indptr, indices), pk = threshold_graphs[graph]
    analytic = gleeson_cahalane(pk, phi, rho0)
    assert (analytic < 0.1) if side == "below" else (analytic > 0.9)  # the point is on the stated side
    rng = np.random.default_rng(7)
    sizes = [threshold_cascade(indptr, indices, phi, rng.choice(N_TH, round(rho0 * N_TH), replace=False)).mean()
             for _ in range(3)]
    # Below the transition the cascade stays local: one run's fraction has sd 0.0012 (5-regular) and 0.0016
    # (Poisson) over seed sets (measured over 30 sets), so the mean of 3 has sd <= 0.001. Above it all but
    # the isolated nodes (e^-4 = 1.8% of a Poisson graph, graph-to-graph sd 0.001) and a few trapped
    # low-degree ones activate. The tree-like approximation errs by O(short cycles / n), far less.
    # 0.005 is about 5 sd; the two sides differ by > 0.8, so a point on the wrong side cannot pass.
    # Measured: 0.0430 vs 0.0430, 1.0 vs 1.0, 0.0267 vs 0.0272, 0.9811 vs 0.9823 (simulated vs analytic).
    assert np.mean(sizes) == pytest.approx(analytic, abs=0.005)


def test_threshold_cascade_rule_is_fraction_of_neighbours():
    # a star: the hub has 4 leaves; with threshold 0.5 the hub needs 2 active leaves, a leaf needs its hub
    G = nx.star_graph(4)
    indptr, indices = csr(G)
    one = threshold_cascade(indptr, indices, 0.5, np.array([1]))
    assert np.flatnonzero(one).tolist() == [1]
    two = threshold_cascade(indptr, indices, 0.5, np.array([1, 2]))
    assert two.all()
    # the same via a boolean mask, and per-node thresholds: leaf 4 never joins
    thr = np.array([0.5, 0.5, 0.5, 0.5, 1.1])
    mask = np.zeros(5, bool)
    mask[[1, 2]] = True
    assert np.flatnonzero(threshold_cascade(indptr, indices, thr, mask)).tolist() == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- geometric spill-over
HOPS_LONG = 60


def _alpha(G) -> float:
    """Half the convergence radius: the truncated series after 60 hops errs by (1/2)^61 / (1/2) ~ 1e-18."""
    lam = np.max(np.abs(np.linalg.eigvals(nx.to_numpy_array(G, nodelist=range(G.number_of_nodes())))))
    return 0.5 / lam


@pytest.mark.parametrize("directed", [False, True])
def test_spillover_from_every_node_is_katz_centrality(directed):
    G = nx.gnp_random_graph(200, 0.05, seed=31, directed=directed)
    alpha = _alpha(G)
    indptr, indices = csr(G)
    got = geometric_spillover(indptr, indices, np.arange(200), 1.0, alpha, HOPS_LONG)
    katz = nx.katz_centrality_numpy(G, alpha=alpha, beta=1.0, normalized=False)
    expected = np.array([katz[i] for i in range(200)]) - 1.0
    # truncation error <= 1e-18 relative (see _alpha) and round-off ~1e-14: rtol 1e-6 is loose on purpose
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_spillover_from_one_source_is_a_row_of_the_resolvent():
    G = nx.connected_watts_strogatz_graph(40, 4, 0.3, seed=32)
    A = nx.to_numpy_array(G, nodelist=range(40))
    alpha = _alpha(G)
    indptr, indices = csr(G)
    resolvent = np.linalg.inv(np.eye(40) - alpha * A) - np.eye(40)
    for s in (0, 17):
        got = geometric_spillover(indptr, indices, np.array([s]), 1.0, alpha, HOPS_LONG)
        np.testing.assert_allclose(got, resolvent[s], rtol=1e-6, atol=1e-12)  # same bound as above
    # short series: exactly sum_{h=1..3} alpha^h A^h, amounts add over sources
    amount = np.array([2.0, -1.0, 0.5])
    src = np.array([3, 9, 3])
    series = sum(alpha**h * np.linalg.matrix_power(A, h) for h in (1, 2, 3))
    a = np.zeros(40)
    np.add.at(a, src, amount)
    np.testing.assert_allclose(geometric_spillover(indptr, indices, src, amount, alpha, 3), a @ series,
                               rtol=1e-12, atol=1e-15)


# The engine's association (ScorerRuntime._associate, S1-M7) through the scenario runner: offenders 0 and 4
# drive drunk (-100 points each); household_share 0, contact_share 0.1. With one hop a contact's
# association points are -100 x the geometric spill-over. With more hops the engine charges each citizen
# once per offender, at the share of the shortest path (share^distance), not once per walk: checked here
# against networkx's BFS distances (an independent implementation).
CONTACTS = [(0, 1), (0, 2), (1, 2), (0, 3), (3, 4), (4, 5), (5, 6), (2, 7)]
N_SC = 9  # citizen 8 has no ties
OFFENDERS = {0: 1, 4: 2}  # citizen: day of the offence
REGIME = {
    "name": "spill",
    "title": "drunk driving with association through contacts",
    "description": "one rule and contact association only (validation test)",
    "topology": "unified",
    "scorers": [{
        "name": "state",
        "score": {"assumption": True, "initial": 1000, "min": -1.0e6, "max": 1.0e6},
        "channels": {"police": {"assumption": True, "coverage": 1.0}},
        "rules": [{"name": "drunk", "event": "drunk_driving", "points": -100, "assumption": True}],
        "association": {"assumption": True, "household_share": 0.0, "contact_share": 0.1, "hops": 1,
                        "min_points": 0},
    }],
}


@pytest.mark.parametrize("hops", [1, 3])
def test_engine_association_is_geometric_spillover(tmp_path, hops):
    G = nx.empty_graph(N_SC)
    G.add_edges_from(CONTACTS)
    indptr, indices = csr(G)
    expected = np.zeros(N_SC)
    reached: dict[int, list[int]] = {c: [] for c in range(N_SC)}
    for s in OFFENDERS:
        if hops == 1:
            spill = geometric_spillover(indptr, indices, np.array([s]), -100.0, 0.1, hops)
            spill[s] = 0.0  # the engine writes no row for a walk back to its own offender
        else:
            spill = np.zeros(N_SC)
            for c, dist in nx.single_source_shortest_path_length(G, s, cutoff=hops).items():
                if dist >= 1:
                    spill[c] = -100.0 * 0.1**dist
        expected += spill
        for c in np.flatnonzero(spill):
            reached[int(c)].append(s)
    if hops == 1:
        assert expected[[1, 2, 5]].tolist() == [-10.0, -10.0, -10.0] and expected[3] == -20.0  # -100 x 0.1
    regime = dict(REGIME)
    regime["scorers"] = [dict(REGIME["scorers"][0], association=dict(REGIME["scorers"][0]["association"],
                                                                      hops=hops))]
    (tmp_path / "regime.yaml").write_text(yaml.safe_dump(regime, sort_keys=False))
    scenario = {
        "name": f"association over {hops} hop(s) is the geometric spill-over",
        "regime": "regime.yaml",
        "mechanisms": ["S1-M7"],
        "days": 5,
        "citizens": [{"id": i} for i in range(N_SC)],
        "contacts": [list(c) for c in CONTACTS],
        "events": [{"day": d, "citizen": c, "event": "drunk_driving"} for c, d in OFFENDERS.items()],
        "expect": [{"citizen": c, "tolerance": 1e-9, "points": {"state:assoc:drunk": float(expected[c])},
                    "association_from": reached[c]} for c in range(N_SC)],
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    result = run_scenario(path)
    assert len(result.checks) == 2 * N_SC
    failed = [(c.citizen, c.what, c.expected, c.actual) for c in result.checks if not c.ok]
    assert not failed, failed
