"""The contact graph as it changes: ties cut when contacts avoid a listed citizen (S1-M7).

The CSR arrays stay fixed; an `alive` flag per directed edge records cut ties, and a cut
kills the edge and its reverse (found by binary search in the neighbour's sorted row), so it
is mutual. Gathers skip dead edges. The flags are allocated when a regime first cuts a tie.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scorelab.streams import stream
from scorelab.tables import csr_edges, symmetric_csr


class Network:
    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = indptr
        self.indices = indices
        self.n = len(indptr) - 1
        self.alive: np.ndarray | None = None   # bool per directed edge; None while nothing is cut
        # ties formed during the run (Wei et al. 2016: fewer, more homophilous ties), as a small CSR
        self._new_pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self.new_indptr: np.ndarray | None = None
        self.new_indices: np.ndarray | None = None

    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(origin, neighbour) pairs over live ties; origin indexes `rows`."""
        origin, edge = csr_edges(self.indptr, rows)
        if self.alive is not None:
            live = self.alive[edge]
            origin, edge = origin[live], edge[live]
        if self.new_indptr is None:
            return origin, self.indices[edge]
        o2, e2 = csr_edges(self.new_indptr, rows)
        return np.concatenate([origin, o2]), np.concatenate([self.indices[edge], self.new_indices[e2]])

    def degree(self) -> np.ndarray:
        """Live ties per citizen."""
        if self.alive is None:
            base = np.diff(self.indptr).astype(np.int32)
        else:
            cum = np.concatenate([[0], np.cumsum(self.alive, dtype=np.int64)])
            base = (cum[self.indptr[1:]] - cum[self.indptr[:-1]]).astype(np.int32)
        return base + self.new_degree()

    def new_degree(self) -> np.ndarray:
        """Ties formed during the run, per citizen."""
        if self.new_indptr is None:
            return np.zeros(self.n, np.int32)
        return np.diff(self.new_indptr).astype(np.int32)

    def add_ties(self, a: np.ndarray, b: np.ndarray) -> None:
        """New mutual ties (kept apart from the fixed CSR; they are not cut again)."""
        keep = a != b
        self._new_pairs.append((a[keep], b[keep]))
        self.new_indptr, self.new_indices = symmetric_csr(self.n, np.concatenate([x for x, _ in self._new_pairs]),
                                                          np.concatenate([y for _, y in self._new_pairs]))

    def _prepare(self) -> None:
        if self.alive is None:
            self.alive = np.ones(len(self.indices), bool)

    def reverse(self, edge: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Position of the reverse of each edge (row -> indices[edge]), by binary search in the
        neighbour's sorted row: work for the edges cut only, no index over the whole graph."""
        return _reverse_edges(self.indptr, self.indices, edge, row)

    def avoid(self, targets: np.ndarray, probability, seed: int, key: int, day: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """Each live contact of each target cuts the tie with `probability` (one value, or one per target).

        Returns (target, contact) for the ties cut; both directions die.
        """
        probability = np.broadcast_to(np.asarray(probability, np.float64), (len(targets),))
        if not len(targets) or not (probability > 0).any() or not len(self.indices):
            return np.empty(0, np.int32), np.empty(0, np.int32)
        self._prepare()
        origin, edge = csr_edges(self.indptr, targets.astype(np.int64))
        live = self.alive[edge]
        origin, edge = origin[live], edge[live]
        cut = stream(seed, "network.avoid", key, day).random(len(edge)) < probability[origin]
        origin, edge = origin[cut], edge[cut]
        back = self.reverse(edge, targets[origin].astype(np.int64))
        # two targets who are contacts may both cut their tie: count it once
        _, first = np.unique(np.minimum(edge, back), return_index=True)
        origin, edge, back = origin[first], edge[first], back[first]
        self.alive[edge] = False
        self.alive[back] = False
        return targets[origin].astype(np.int32), self.indices[edge].astype(np.int32)


@njit(cache=True)
def _reverse_edges(indptr, indices, edge, row):  # pragma: no cover - compiled
    out = np.empty(len(edge), np.int64)
    for k in range(len(edge)):
        j = indices[edge[k]]
        lo = indptr[j]
        hi = indptr[j + 1]
        target = row[k]
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] < target:
                lo = mid + 1
            else:
                hi = mid
        out[k] = lo
    return out
