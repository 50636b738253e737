"""The social graph (contacts) and the household groups, stored as CSR arrays."""

from __future__ import annotations

import numpy as np

from scorelab.streams import stream
from scorelab.tables import symmetric_csr


def contact_graph(region: np.ndarray, age: np.ndarray, mean_degree: float, homophily: float,
                  window: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An undirected graph with homophily by region and age, as (indptr, indices).

    Citizens are ordered by (region, age) with random tie-breaking; a share `homophily` of
    each citizen's stubs joins a citizen within `window` places in that ordering (same region,
    similar age), the rest join anyone. Duplicate edges and self-loops are dropped, so the
    realised mean degree is slightly below `mean_degree`.
    """
    n = len(region)
    rng = stream(seed, "society.graph")
    if n < 2 or mean_degree <= 0:
        return np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32)
    key = region.astype(np.int64) * 256 + age.astype(np.int64)
    order = np.lexsort((rng.random(n), key))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    stubs = max(1, int(round(mean_degree / 2)))
    src = np.repeat(np.arange(n, dtype=np.int64), stubs)
    near = rng.random(len(src)) < homophily
    w = max(1, min(window, n - 1))
    offset = rng.integers(1, w + 1, len(src)) * np.where(rng.random(len(src)) < 0.5, -1, 1)
    near_pos = np.clip(position[src] + offset, 0, n - 1)
    dst = np.where(near, order[near_pos], rng.integers(0, n, len(src)))
    keep = dst != src
    return symmetric_csr(n, src[keep], dst[keep])


def household_groups(household: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members of each household as CSR: members[indptr[h]:indptr[h+1]]."""
    order = np.argsort(household, kind="stable").astype(np.int32)
    counts = np.bincount(household, minlength=int(household.max()) + 1 if len(household) else 0)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, order
