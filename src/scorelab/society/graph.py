"""The social graph (contacts) and the household groups, stored as CSR arrays.

Three graph models, chosen in the society spec (`graph_model`):

- `homophilous` (the default): each citizen's number of contacts is drawn from the degree
  distribution; a share `homophily` of each citizen's tie ends joins a citizen near in the
  (region, age) ordering (within about `window` places), the rest join anyone;
- `erdos_renyi`: every pair of citizens is tied with probability mean_degree / (n - 1), G(n, p);
- `configuration`: the degrees are drawn from the degree distribution and the tie ends are
  paired at random (the erased configuration model, with the erased ends paired again).

The degree distribution (`homophilous` and `configuration`) is Poisson with the mean degree, a
negative binomial with the mean degree and a dispersion k (variance mean + mean^2 / k, for the
overdispersed contact counts of surveys), or any probability mass function over 0, 1, 2, ...
contacts. In every model the mean degree is exact in expectation: the number of tie ends is
drawn with the right mean (an odd total loses or gains one end with equal chance) and ends that
would make a self-loop or a duplicate tie are paired again, so almost none are lost (tests:
tests/test_graph_models.py). Same seed, same graph.
"""

from __future__ import annotations

import numpy as np

from scorelab.society.sorting import argsort_jittered, lexsort_small_key
from scorelab.streams import stream
from scorelab.tables import symmetric_csr

GRAPH_MODELS = ("homophilous", "erdos_renyi", "configuration")
DEGREE_DISTRIBUTIONS = ("poisson", "negative_binomial")
REPAIR_ROUNDS = 20  # rounds of re-pairing erased ends; each leaves a small fraction of the last


def contact_graph(region: np.ndarray, age: np.ndarray, mean_degree: float, homophily: float,
                  window: int, seed: int, model: str = "homophilous", distribution: str = "poisson",
                  dispersion: float | None = None, pmf: tuple[float, ...] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """An undirected simple graph as (indptr, indices); see the module docstring for the models."""
    n = len(region)
    rng = stream(seed, "society.graph")
    if model not in GRAPH_MODELS:
        raise ValueError(f"unknown graph model {model!r}")
    if n < 2 or (mean_degree <= 0 and pmf is None):
        return np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32)
    if model == "erdos_renyi":
        a, b = _erdos_renyi(n, mean_degree, rng)
        return symmetric_csr(n, a, b)
    owner = np.repeat(np.arange(n, dtype=np.int64), _even(degrees(n, mean_degree, distribution, dispersion, pmf,
                                                                  rng), rng))
    if model == "configuration":
        a, b = _pair_at_random(owner, rng)
    else:
        a, b = _pair_homophilous(owner, region, age, homophily, window, n, rng)
    a, b = _repair(a, b, rng)
    return symmetric_csr(n, a, b)


def degrees(n: int, mean_degree: float, distribution: str = "poisson", dispersion: float | None = None,
            pmf: tuple[float, ...] | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Each citizen's number of tie ends, drawn from the degree distribution."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if pmf is not None:
        p = np.asarray(pmf, np.float64)
        return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)
    if distribution == "negative_binomial":
        if dispersion is None or dispersion <= 0:
            raise ValueError("a negative binomial degree distribution needs a dispersion > 0")
        return rng.negative_binomial(dispersion, dispersion / (dispersion + mean_degree), n).astype(np.int64)
    if distribution != "poisson":
        raise ValueError(f"unknown degree distribution {distribution!r}")
    return rng.poisson(mean_degree, n).astype(np.int64)


def _even(deg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tie ends pair up, so their total must be even: an odd total gains or loses one end with
    equal chance (the expected total is unchanged)."""
    deg = deg.copy()
    total = int(deg.sum())
    u, pick = rng.random(), rng.random()
    if total % 2:
        if u < 0.5 or total == 0:
            deg[int(pick * len(deg))] += 1
        else:  # the owner of a uniformly chosen end loses it
            deg[int(np.searchsorted(np.cumsum(deg), int(pick * total), side="right"))] -= 1
    return deg


def _pair_at_random(ends: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A uniform random matching of the tie ends (owners), as two arrays of partners."""
    shuffled = ends[rng.permutation(len(ends))]
    k = len(shuffled) // 2
    return shuffled[:k], shuffled[k:2 * k]


def _pair_homophilous(owner: np.ndarray, region: np.ndarray, age: np.ndarray, homophily: float, window: int,
                      n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Near ends are sorted by position in the (region, age) ordering plus a jitter of up to
    `window` places and paired with the next in that order; the other ends pair at random."""
    key = region.astype(np.int64) * 256 + age.astype(np.int64)
    order = lexsort_small_key(rng.random(n), key, int(key.max(initial=0)) + 1)  # = np.lexsort((random, key))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    near = rng.random(len(owner)) < homophily
    near_ends, far_ends = owner[near], owner[~near]
    jitter = rng.random(len(near_ends)) * max(1, min(window, n - 1))
    near_ends = near_ends[argsort_jittered(position[near_ends], jitter)]  # = np.argsort(pos + jitter, "stable")
    if len(near_ends) % 2:  # the last near end pairs at random instead
        far_ends = np.concatenate([far_ends, near_ends[-1:]])
        near_ends = near_ends[:-1]
    fa, fb = _pair_at_random(far_ends, rng)
    return np.concatenate([near_ends[0::2], fa]), np.concatenate([near_ends[1::2], fb])


def _repair(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Self-loops and repeated ties give their ends back; those ends, with the ends of as many
    ties picked at random (so that two ends of one citizen cannot keep meeting), pair again at
    random. Degrees stay as drawn, up to the few ends left after the last round."""
    for _ in range(REPAIR_ROUNDS):
        bad = _self_or_repeated(a, b)
        if not bad.any():
            break
        good = np.flatnonzero(~bad)
        redo = bad.copy()
        redo[good[rng.integers(0, len(good), min(len(good), max(16, int(bad.sum()))))]] = True
        ends = np.concatenate([a[redo], b[redo]])
        a, b = a[~redo], b[~redo]
        ra, rb = _pair_at_random(ends, rng)
        a, b = np.concatenate([a, ra]), np.concatenate([b, rb])
    bad = _self_or_repeated(a, b)
    return a[~bad], b[~bad]


def _self_or_repeated(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs that are self-loops or occur more than once (in either direction; every copy is marked)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (int(hi.max(initial=0)) + 1) + hi
    s = np.sort(key)
    repeated = np.unique(s[1:][s[1:] == s[:-1]])
    if not len(repeated):
        return lo == hi
    # the few repeated keys looked up by binary search (np.isin would sort every key again)
    at = np.minimum(np.searchsorted(repeated, key), len(repeated) - 1)
    return (lo == hi) | (repeated[at] == key)


def _erdos_renyi(n: int, mean_degree: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """G(n, p) with p = mean_degree / (n - 1): a binomial number of ties, then that many distinct
    pairs drawn uniformly (rejection of self-pairs and repeats), which is G(n, p) exactly."""
    pairs = n * (n - 1) // 2
    p = min(mean_degree / (n - 1), 1.0)
    m = int(rng.binomial(pairs, p))
    keys = np.empty(0, np.int64)
    while len(keys) < m:
        need = m - len(keys)
        k = need + need // 10 + 16
        x, y = rng.integers(0, n, k), rng.integers(0, n, k)
        ok = x != y
        new = np.minimum(x[ok], y[ok]) * n + np.maximum(x[ok], y[ok])
        keys = np.concatenate([keys, new])
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)][:m]  # keep the draw order, so the first m distinct pairs stand
    return keys // n, keys % n


def household_groups(household: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members of each household as CSR: members[indptr[h]:indptr[h+1]]."""
    order = np.argsort(household, kind="stable").astype(np.int32)
    counts = np.bincount(household, minlength=int(household.max()) + 1 if len(household) else 0)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, order
