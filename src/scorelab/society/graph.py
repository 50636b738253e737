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

from scorelab.society.sorting import homophilous_ends, keep_and_append, lexsort_small_key, member_mask
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
    degree = _even(degrees(n, mean_degree, distribution, dispersion, pmf, rng), rng)
    if model == "configuration":
        a, b = _pair_at_random(np.repeat(np.arange(n, dtype=np.int64), degree), rng)
    else:
        a, b = _pair_homophilous(degree, region, age, homophily, window, n, rng)
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


def _pair_homophilous(degree: np.ndarray, region: np.ndarray, age: np.ndarray, homophily: float, window: int,
                      n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Near ends are sorted by position in the (region, age) ordering plus a jitter of up to
    `window` places and paired with the next in that order; the other ends pair at random.

    The tie ends are `np.repeat(arange(n), degree)` (each citizen's ends in a row); the compiled
    kernels take them by citizen without building that array (issue 12)."""
    key = region.astype(np.int64) * 256 + age.astype(np.int64)
    order = lexsort_small_key(rng.random(n), key, int(key.max(initial=0)) + 1)  # = np.lexsort((random, key))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    draw = rng.random(int(degree.sum()))  # an end is near if its draw is below the homophily
    jitter = rng.random(int(np.count_nonzero(draw < homophily)))
    # near_ends sorted by position + jitter * window (stable), far_ends in order
    near_ends, far_ends = homophilous_ends(degree, draw, homophily, position, jitter,
                                           float(max(1, min(window, n - 1))))
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
    Membership is looked up in a hash set of the few keys, one pass over the many. The masks are
    those a full scan of the whole array gives each round (tests/test_graph_sorting.py)."""
    mult = int(max(a.max(initial=0), b.max(initial=0))) + 1
    key = _pair_key(a, b, mult)
    bad = (a == b) | member_mask(key, _repeated(np.sort(key)))  # self-loops and repeated ties
    for _ in range(REPAIR_ROUNDS):
        if not bad.any():
            break
        good = np.flatnonzero(~bad)
        redo = bad.copy()
        redo[good[rng.integers(0, len(good), min(len(good), max(16, int(bad.sum()))))]] = True
        ends = np.concatenate([a[redo], b[redo]])
        ra, rb = _pair_at_random(ends, rng)
        new = _pair_key(ra, rb, mult)
        a, b, key = keep_and_append(a, b, key, redo, ra, rb, new)  # the kept ties, then the new ones
        kept = len(key) - len(new)
        bad_kept = member_mask(key[:kept], new)  # a kept tie that a new one repeats
        in_kept = member_mask(new, key[:kept][bad_kept])  # a new tie that repeats a kept one
        bad_new = (ra == rb) | member_mask(new, _repeated(np.sort(new))) | in_kept
        bad = np.concatenate([bad_kept, bad_new])
    return a[~bad], b[~bad]


def _pair_key(a: np.ndarray, b: np.ndarray, mult: int) -> np.ndarray:
    """One integer per undirected pair (the same for (a, b) and (b, a)); `mult` exceeds every id."""
    return np.minimum(a, b).astype(np.int64) * mult + np.maximum(a, b)


def _repeated(sorted_keys: np.ndarray) -> np.ndarray:
    """The distinct values that occur more than once in a sorted array."""
    return np.unique(sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]])


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
