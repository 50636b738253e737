"""The contact graph and the households as they change: ties cut when contacts avoid a listed
citizen, members who break with their family (S1-M7), new ties formed (Wei et al. 2016).

The society's CSR arrays are never written: an `alive` flag per directed edge records cut
ties, and a cut kills the edge and its reverse (found by binary search in the neighbour's
sorted row), so it is mutual. Ties formed during the run live in a second CSR with flags of
their own, so they can be cut as well. Gathers skip dead edges.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scorelab.society.graph import household_groups
from scorelab.streams import stream
from scorelab.tables import csr_edges, symmetric_csr


class Network:
    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = indptr
        self.indices = indices
        self.n = len(indptr) - 1
        self.alive: np.ndarray | None = None   # bool per directed edge; None while nothing is cut
        # ties formed during the run, as a small CSR with its own flags
        self._new_a = np.empty(0, np.int64)
        self._new_b = np.empty(0, np.int64)
        self._new_dead: set[int] = set()  # keys min*n+max of formed ties later cut
        self.new_indptr: np.ndarray | None = None
        self.new_indices: np.ndarray | None = None
        self.new_alive: np.ndarray | None = None

    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(origin, neighbour) pairs over live ties; origin indexes `rows`."""
        origin, edge = csr_edges(self.indptr, rows)
        if self.alive is not None:
            live = self.alive[edge]
            origin, edge = origin[live], edge[live]
        if self.new_indptr is None:
            return origin, self.indices[edge]
        o2, e2 = csr_edges(self.new_indptr, rows)
        live = self.new_alive[e2]
        return np.concatenate([origin, o2[live]]), np.concatenate([self.indices[edge], self.new_indices[e2[live]]])

    def degree(self) -> np.ndarray:
        """Live ties per citizen."""
        return _live_degree(self.indptr, self.alive) + self.new_degree()

    def new_degree(self) -> np.ndarray:
        """Live ties formed during the run, per citizen."""
        if self.new_indptr is None:
            return np.zeros(self.n, np.int32)
        return _live_degree(self.new_indptr, self.new_alive)

    def add_ties(self, a: np.ndarray, b: np.ndarray) -> None:
        """New mutual ties; a tie formed, cut and formed again lives again."""
        keep = a != b
        a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
        if self._new_dead:
            keys = np.minimum(a, b) * self.n + np.maximum(a, b)
            self._new_dead -= set(keys.tolist())
        self._new_a = np.concatenate([self._new_a, a])
        self._new_b = np.concatenate([self._new_b, b])
        self.new_indptr, self.new_indices = symmetric_csr(self.n, self._new_a, self._new_b)
        self.new_alive = np.ones(len(self.new_indices), bool)
        if self._new_dead:
            rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.new_indptr))
            cols = self.new_indices.astype(np.int64)
            keys = np.minimum(rows, cols) * self.n + np.maximum(rows, cols)
            self.new_alive = ~np.isin(keys, np.fromiter(self._new_dead, np.int64, len(self._new_dead)))

    def avoid(self, targets: np.ndarray, probability, seed: int, key: int, day: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """Each live contact of each target cuts the tie with `probability` (one value, or one per target).

        Returns (target, contact) for the ties cut; both directions die. Ties formed during the
        run are cut like the others.
        """
        probability = np.broadcast_to(np.asarray(probability, np.float64), (len(targets),))
        if not len(targets) or not (probability > 0).any():
            return np.empty(0, np.int32), np.empty(0, np.int32)
        rng = stream(seed, "network.avoid", key, day)
        t1, c1 = self._cut(self.indptr, self.indices, "alive", targets, probability, rng)
        if self.new_indptr is None:
            return t1, c1
        t2, c2 = self._cut(self.new_indptr, self.new_indices, "new_alive", targets, probability, rng)
        if len(t2):
            self._new_dead |= set((np.minimum(t2, c2).astype(np.int64) * self.n
                                   + np.maximum(t2, c2)).tolist())
        return np.concatenate([t1, t2]), np.concatenate([c1, c2])

    def _cut(self, indptr, indices, flags: str, targets, probability, rng) -> tuple[np.ndarray, np.ndarray]:
        if not len(indices):
            return np.empty(0, np.int32), np.empty(0, np.int32)
        if getattr(self, flags) is None:
            setattr(self, flags, np.ones(len(indices), bool))
        alive = getattr(self, flags)
        origin, edge = csr_edges(indptr, targets.astype(np.int64))
        live = alive[edge]
        origin, edge = origin[live], edge[live]
        cut = rng.random(len(edge)) < probability[origin]
        origin, edge = origin[cut], edge[cut]
        back = _reverse_edges(indptr, indices, edge, targets[origin].astype(np.int64))
        # two targets who are contacts may both cut their tie: count it once
        _, first = np.unique(np.minimum(edge, back), return_index=True)
        origin, edge, back = origin[first], edge[first], back[first]
        alive[edge] = False
        alive[back] = False
        return targets[origin].astype(np.int32), indices[edge].astype(np.int32)


def _live_degree(indptr: np.ndarray, alive: np.ndarray | None) -> np.ndarray:
    if alive is None:
        return np.diff(indptr).astype(np.int32)
    return _count_alive(indptr, alive)


@njit(cache=True, nogil=True)
def _count_alive(indptr, alive):  # pragma: no cover - compiled
    """Live edges per row: one pass over the flags (a cumulative sum of every edge made a
    temporary eight times their size)."""
    n = len(indptr) - 1
    out = np.zeros(n, np.int32)
    for i in range(n):
        k = 0
        for j in range(indptr[i], indptr[i + 1]):
            k += alive[j]
        out[i] = k
    return out


class Households:
    """Who lives with whom, as CSR (members of household h: members[indptr[h]:indptr[h+1]]).

    A member who breaks with the family moves out into a household of their own (S1-M7,
    "radioactive, even to family"); the CSR is rebuilt when that happens (rarely).
    """

    def __init__(self, household: np.ndarray, indptr: np.ndarray, members: np.ndarray) -> None:
        self.household = household  # int32 per citizen (the circumstances' own copy)
        self.indptr = indptr
        self.members = members

    def leave(self, citizens: np.ndarray) -> None:
        if not len(citizens):
            return
        top = int(self.household.max()) + 1 if len(self.household) else 0
        if len(np.unique(citizens)) < len(citizens) or len(self.indptr) != top + 1:
            self.household[citizens] = top + np.arange(len(citizens), dtype=np.int32)
            self.indptr, self.members = household_groups(self.household)
            return
        # Update the CSR in place of a full re-sort: the same arrays household_groups would give
        # (members by household, then by citizen), since leavers only drop out of their old
        # households and each opens a new one at the end.
        self.indptr, self.members = _move_out(self.indptr, self.members, citizens.astype(self.members.dtype),
                                              self.household[citizens].astype(np.int64))
        self.household[citizens] = top + np.arange(len(citizens), dtype=np.int32)

    def others(self, citizens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(origin, member) pairs: the other members of each citizen's household."""
        o, m = csr_edges(self.indptr, self.household[citizens].astype(np.int64))
        member = self.members[m]
        other = member != citizens[o]
        return o[other], member[other]


@njit(cache=True)
def _move_out(indptr, members, citizens, old_household):  # pragma: no cover - compiled
    """Households' CSR after `citizens` (distinct) leave, each into a new household at the end:
    the members array copied around the few places that empty (a leaver is found by a scan of
    its own small household), the row pointers shifted by the leavers before them."""
    top = len(indptr) - 1
    k = len(citizens)
    drop = np.empty(k, np.int64)
    for i in range(k):
        for j in range(indptr[old_household[i]], indptr[old_household[i] + 1]):
            if members[j] == citizens[i]:
                drop[i] = j
                break
    drop.sort()
    new_members = np.empty(len(members), members.dtype)
    w = 0
    prev = 0
    for d in drop:
        new_members[w:w + d - prev] = members[prev:d]
        w += d - prev
        prev = d + 1
    new_members[w:w + len(members) - prev] = members[prev:]
    new_members[len(members) - k:] = citizens
    left = np.sort(old_household)
    new_indptr = np.empty(top + k + 1, np.int64)
    new_indptr[0] = 0
    removed = 0
    p = 0
    for h in range(top):
        while p < k and left[p] == h:
            removed += 1
            p += 1
        new_indptr[h + 1] = indptr[h + 1] - removed
    for i in range(k):
        new_indptr[top + i + 1] = new_indptr[top + i] + 1
    return new_indptr, new_members


@njit(cache=True)
def _reverse_edges(indptr, indices, edge, row):  # pragma: no cover - compiled
    """Position of the reverse of each edge (row -> indices[edge]), by binary search in the
    neighbour's sorted row: work for the edges cut only, no index over the whole graph."""
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
