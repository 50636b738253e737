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
    random. Degrees stay as drawn, up to the few ends left after the last round.

    Which ties are bad is found once over all ties, then round by round only for the few new ones
    (issue 12): the ties kept are distinct and no self-loops, so a kept tie turns bad only if a new
    tie repeats it, and a new tie is bad if it is a self-loop, repeats another new tie or a kept one.
    The masks are those a full scan of the whole array gives each round (tests/test_graph_sorting.py)."""
    mult = int(max(a.max(initial=0), b.max(initial=0))) + 1
    key = _pair_key(a, b, mult)
    keys = np.sort(key)  # every tie's key, sorted
    bad = (a == b) | _members(key, _repeated(keys))  # self-loops and repeated ties, from the keys sorted once
    for _ in range(REPAIR_ROUNDS):
        if not bad.any():
            break
        good = np.flatnonzero(~bad)
        redo = bad.copy()
        redo[good[rng.integers(0, len(good), min(len(good), max(16, int(bad.sum()))))]] = True
        ends = np.concatenate([a[redo], b[redo]])
        keys = _without(keys, np.unique(key[redo]))
        a, b, key = a[~redo], b[~redo], key[~redo]
        ra, rb = _pair_at_random(ends, rng)
        new = _pair_key(ra, rb, mult)
        new_sorted = np.sort(new)
        in_kept = _members(new, keys)
        bad_new = (ra == rb) | _members(new, _repeated(new_sorted)) | in_kept
        bad_kept = _members(key, np.unique(new[in_kept]))
        a, b, key = np.concatenate([a, ra]), np.concatenate([b, rb]), np.concatenate([key, new])
        keys = np.insert(keys, np.searchsorted(keys, new_sorted), new_sorted)
        bad = np.concatenate([bad_kept, bad_new])
    return a[~bad], b[~bad]


def _pair_key(a: np.ndarray, b: np.ndarray, mult: int) -> np.ndarray:
    """One integer per undirected pair (the same for (a, b) and (b, a)); `mult` exceeds every id."""
    return np.minimum(a, b).astype(np.int64) * mult + np.maximum(a, b)


def _repeated(sorted_keys: np.ndarray) -> np.ndarray:
    """The distinct values that occur more than once in a sorted array."""
    return np.unique(sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]])


def _members(x: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """np.isin(x, sorted_values) for sorted distinct values, by binary search (no sort of x)."""
    if not len(sorted_values) or not len(x):
        return np.zeros(len(x), bool)
    if len(x) > 64 * len(sorted_values):  # few values: a 64 KB table of their low bits rules most of x out
        table = np.zeros(1 << 16, bool)
        table[sorted_values & 0xFFFF] = True
        out = np.zeros(len(x), bool)
        maybe = np.flatnonzero(table[x & 0xFFFF])
        out[maybe] = _members(x[maybe], sorted_values) if len(maybe) <= 64 * len(sorted_values) else \
            sorted_values[np.minimum(np.searchsorted(sorted_values, x[maybe]), len(sorted_values) - 1)] == x[maybe]
        return out
    at = np.minimum(np.searchsorted(sorted_values, x), len(sorted_values) - 1)
    return sorted_values[at] == x


def _without(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A sorted array without any occurrence of the sorted distinct `values`."""
    lo, hi = np.searchsorted(sorted_keys, values, "left"), np.searchsorted(sorted_keys, values, "right")
    keep = np.ones(len(sorted_keys), bool)
    counts = hi - lo
    keep[np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)] = False
    return sorted_keys[keep]


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
