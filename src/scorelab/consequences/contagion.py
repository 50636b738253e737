"""Contagion on the contact graph: spill-over, shunning and pile-ons as network processes.

Three textbook processes on a graph stored as CSR arrays (`indptr` int64 of length n + 1,
`indices` int32; row i lists the nodes that i reaches, an undirected tie is stored both ways):

- `independent_cascade`: each newly active node gets one chance to pass activation to each
  inactive neighbour (S1-M7 shunning that spreads from contact to contact; rumours);
- `threshold_cascade`: a node activates once a large enough share of its neighbours is
  active (S1-M11 pile-ons, where joining depends on how many others already joined);
- `geometric_spillover`: a penalty passes share^h along every walk of length h (S1-M7
  association, the truncated Katz series).

All three work on whole frontiers with numpy: the only Python loop is over generations (or
hops), and each generation's work is proportional to the CSR entries it touches. They are
the reference processes the validation tests check against analytic results
(tests/test_network_validation.py); `cascade_sizes`, the same independent cascade run for
many acts at once, is what the engine's crowd channels use for pile-ons that spread.
"""

from __future__ import annotations

import numpy as np

from scorelab.tables import csr_edges, csr_gather


def _node_mask(nodes: np.ndarray, n: int) -> np.ndarray:
    """A fresh boolean mask of length n from either a mask or an array of node indices."""
    nodes = np.asarray(nodes)
    if nodes.dtype == np.bool_:
        if nodes.shape != (n,):
            raise ValueError(f"a node mask must have length {n}, got shape {nodes.shape}")
        return nodes.copy()
    mask = np.zeros(n, bool)
    mask[nodes.astype(np.int64)] = True
    return mask


def independent_cascade(indptr: np.ndarray, indices: np.ndarray, seeds: np.ndarray,
                        transmissibility: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent cascade (SIR with a fixed infectious period) from `seeds`; returns the active mask.

    Mechanism: S1-M7 shunning or stigma that passes from contact to contact, each contact
    passing it on with probability T (the `transmissibility`, a scalar or one value per stored
    CSR entry). Each node, in the generation after it becomes active, tries each of its still
    inactive neighbours once; a success activates the neighbour for the next generation.

    Literature: Kempe, Kleinberg & Tardos (2003), "Maximizing the spread of influence through a
    social network" (the independent cascade model). Because every tie is tried at most once
    with probability T, the set of nodes finally active has the distribution of the seeds'
    clusters under bond percolation with occupation probability T (Grassberger 1983, Math.
    Biosci. 63, 157; Newman 2002, Phys. Rev. E 66, 016128). On Erdos-Renyi graphs G(n, z/n) the
    final fraction S of a large outbreak solves S = 1 - exp(-z T S), and with a seeded fraction
    rho0, S = 1 - (1 - rho0) exp(-z T S).

    `seeds` is a boolean mask or an array of node indices. Random draws: one uniform per tie
    tried, from `rng`, in generation order.
    """
    n = len(indptr) - 1
    active = _node_mask(seeds, n)
    per_entry = np.ndim(transmissibility) > 0
    t = np.asarray(transmissibility, dtype=np.float64)
    if per_entry and t.shape != indices.shape:
        raise ValueError("per-tie transmissibility must have one value per stored CSR entry")
    frontier = np.flatnonzero(active)
    while len(frontier):
        _, position = csr_edges(indptr, frontier)
        target = indices[position]
        open_ = ~active[target]
        position, target = position[open_], target[open_]
        hit = rng.random(len(position)) < (t[position] if per_entry else t)
        frontier = np.unique(target[hit])
        active[frontier] = True
    return active


def threshold_cascade(indptr: np.ndarray, indices: np.ndarray, thresholds: float | np.ndarray,
                      seeds: np.ndarray) -> np.ndarray:
    """Fractional-threshold cascade from `seeds`, iterated to its fixed point; returns the active mask.

    Mechanism: S1-M11 pile-ons as threshold contagion: a citizen joins once the fraction of
    their contacts who already joined reaches their own threshold (a scalar or one per node).
    A node of degree k with m active neighbours activates when m / k >= threshold; a node
    without ties never activates unless seeded. Activation is permanent.

    Literature: Granovetter (1978), "Threshold models of collective behavior", Am. J. Sociol.
    83, 1420; Watts (2002), "A simple model of global cascades on random networks", PNAS 99,
    5766 (fractional thresholds, cascade windows); Gleeson & Cahalane (2007), "Seed size strongly
    affects cascades on random networks", Phys. Rev. E 75, 056103 (analytic final size on
    tree-like graphs with a seed fraction rho0).

    The rule is monotone, so synchronous generations reach the same fixed point as any update
    order: the smallest set containing the seeds that is closed under the rule.
    `seeds` is a boolean mask or an array of node indices.
    """
    n = len(indptr) - 1
    degree = np.diff(indptr)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (n,))
    active = _node_mask(seeds, n)
    active |= (degree > 0) & (thr <= 0)   # met with no active neighbour at all
    count = np.zeros(n, np.int64)         # active neighbours so far
    frontier = np.flatnonzero(active)
    while len(frontier):
        _, neighbour = csr_gather(indptr, indices, frontier)
        touched, times = np.unique(neighbour, return_counts=True)
        count[touched] += times
        cand = touched[~active[touched]]
        frontier = cand[count[cand] / degree[cand] >= thr[cand]]
        active[frontier] = True
    return active


def geometric_spillover(indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray,
                        amount: float | np.ndarray, share: float, hops: int) -> np.ndarray:
    """What each node receives when each source's amount passes share^h along every walk of length h.

    Mechanism: S1-M7 association ("guilt by association"): a share of a penalty passes to the
    offender's contacts, share^2 to theirs, and so on for h = 1..hops. Every walk counts, so a
    node reached by two paths receives twice, and walks that come back to a source count too:

        received = sum_{h=1..hops} share^h (A^T)^h a,

    where A is the CSR adjacency (A[i, j] = 1 for a stored entry i -> j) and a holds the amounts
    at the sources (repeated sources add up). With an amount of 1 on every node this is the
    truncated Katz series, Katz centrality with beta = 1 minus beta (Katz 1953, "A new status
    index derived from sociometric analysis", Psychometrika 18, 39); it converges as hops grows
    when share < 1 / lambda_max(A). For a single source s it is row s of (I - share A)^-1 - I.

    Difference from the engine: ScorerRuntime._associate walks the same live ties with the
    same share^hop per walk, but writes no row for a walk that lands back on its own offender
    (those walks still continue to the next hop). For one source s the engine's points are
    therefore this result with entry s set to zero; a walk from one offender to another
    offender does count. The engine also adds the household share, which is not a walk.

    `sources` is an array of node indices or a boolean mask; `amount` is a scalar or one value
    per source. Returns float64[n].
    """
    n = len(indptr) - 1
    src = np.asarray(sources)
    src = np.flatnonzero(src) if src.dtype == np.bool_ else src.astype(np.int64)
    amt = np.broadcast_to(np.asarray(amount, dtype=np.float64), src.shape)
    rows, value = np.unique(src, return_inverse=True)
    value = np.bincount(value, weights=amt, minlength=len(rows))
    total = np.zeros(n, np.float64)
    for _ in range(int(hops)):
        if not len(rows):
            break
        origin, neighbour = csr_gather(indptr, indices, rows)
        rows, where = np.unique(neighbour, return_inverse=True)
        value = share * np.bincount(where, weights=value[origin], minlength=len(rows))
        total[rows] += value
    return total


def cascade_sizes(neighbours, n: int, seed_act: np.ndarray, seed_node: np.ndarray, actors: np.ndarray,
                  transmissibility: float, generations: int, rng: np.random.Generator) -> np.ndarray:
    """Many independent cascades at once, one per act; returns how many nodes each reached.

    Mechanism: S1-M11 pile-ons that spread: the first reporters (`seed_node`, each in cascade
    `seed_act`) draw in each of their own contacts with probability T, and those draw in
    theirs, for at most `generations` steps; the act's author (`actors[act]`) never reports
    on themself. Each cascade is the independent cascade of `independent_cascade` (Kempe et
    al. 2003), so its final size follows bond percolation (S = 1 - exp(-z T S) on
    Erdos-Renyi graphs when generations are unbounded); the cascades share one pass per
    generation over (cascade, node) keys, so the work grows with the reporters, not with
    cascades x citizens. `neighbours(rows) -> (origin, neighbour)` walks the live ties.
    """
    n_acts = len(actors)
    if not len(seed_node):
        return np.zeros(n_acts, np.int64)
    act = seed_act.astype(np.int64)
    keep = seed_node != actors[act]
    active = np.unique(act[keep] * n + seed_node[keep].astype(np.int64))
    frontier = active
    for _ in range(int(generations)):
        if not len(frontier) or transmissibility <= 0:
            break
        acts, nodes = frontier // n, frontier % n
        o, nb = neighbours(nodes)
        acts = acts[o]
        nb = nb.astype(np.int64)
        ok = nb != actors[acts]
        cand = acts[ok] * n + nb[ok]
        new = np.unique(cand[rng.random(len(cand)) < transmissibility])
        new = new[~np.isin(new, active, assume_unique=True)]
        active = np.union1d(active, new)
        frontier = new
    return np.bincount(active // n, minlength=n_acts)
