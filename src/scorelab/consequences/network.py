"""The contact graph as it changes: ties cut when contacts avoid a listed citizen (S1-M7).

The CSR arrays stay fixed; an `alive` flag per directed edge records cut ties, and each edge
knows its reverse so that a cut is mutual. Gathers skip dead edges. The flags and the
reverse index are built only when a regime first cuts a tie.
"""

from __future__ import annotations

import numpy as np

from scorelab.streams import stream
from scorelab.tables import csr_edges


class Network:
    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = indptr
        self.indices = indices
        self.n = len(indptr) - 1
        self.alive: np.ndarray | None = None   # bool per directed edge; None while nothing is cut
        self._reverse: np.ndarray | None = None

    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(origin, neighbour) pairs over live ties; origin indexes `rows`."""
        origin, edge = csr_edges(self.indptr, rows)
        if self.alive is not None:
            live = self.alive[edge]
            origin, edge = origin[live], edge[live]
        return origin, self.indices[edge]

    def degree(self) -> np.ndarray:
        """Live ties per citizen."""
        if self.alive is None:
            return np.diff(self.indptr).astype(np.int32)
        cum = np.concatenate([[0], np.cumsum(self.alive, dtype=np.int64)])
        return (cum[self.indptr[1:]] - cum[self.indptr[:-1]]).astype(np.int32)

    def _prepare(self) -> None:
        if self.alive is None:
            self.alive = np.ones(len(self.indices), bool)
            rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
            forward = rows * self.n + self.indices  # sorted: rows in order, columns sorted in a row
            self._reverse = np.searchsorted(forward, self.indices.astype(np.int64) * self.n + rows)

    def avoid(self, targets: np.ndarray, probability: float, seed: int, key: int, day: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """Each live contact of each target cuts the tie with `probability`.

        Returns (target, contact) for the ties cut; both directions die.
        """
        if not len(targets) or probability <= 0 or not len(self.indices):
            return np.empty(0, np.int32), np.empty(0, np.int32)
        self._prepare()
        origin, edge = csr_edges(self.indptr, targets.astype(np.int64))
        live = self.alive[edge]
        origin, edge = origin[live], edge[live]
        cut = stream(seed, "network.avoid", key, day).random(len(edge)) < probability
        origin, edge = origin[cut], edge[cut]
        self.alive[edge] = False
        self.alive[self._reverse[edge]] = False
        return targets[origin].astype(np.int32), self.indices[edge].astype(np.int32)
