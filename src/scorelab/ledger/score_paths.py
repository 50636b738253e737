"""Score paths read back from a run's ledger: each citizen's net change per scorer at the end of
every day it moved.

Stories ask who fell below the initial score and came back, and who spent longest in the bottom
tier. Both are running sums per (citizen, scorer) over the ledger's days. DuckDB's window functions
took 10 of the 17 seconds of a first 1M-citizen report (issue 12: 11.6M ledger rows, a million
partitions), so the ledger is read with Arrow, grouped by one counting sort and summed in one
compiled pass instead.

Within a day the deltas are summed in the ledger's row order (the engine's order) and the days in
turn; the sums are those of the SQL they replace up to float rounding (stories allow 1e-9 points).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit


@dataclass(frozen=True)
class ScorePaths:
    """One row per (citizen, scorer, day on which the citizen had ledger rows of that scorer),
    grouped by citizen and scorer with days ascending."""

    citizen: np.ndarray   # int32
    scorer: np.ndarray    # int16 code into `scorers`
    day: np.ndarray       # int32
    net: np.ndarray       # float64: the sum of the scorer's deltas to the end of that day
    low: np.ndarray       # float64: the lowest `net` so far
    next_day: np.ndarray  # int32: the citizen's next such day for the scorer, or the run's length
    scorers: tuple[str, ...]

    def code(self, scorer: str) -> int:
        """The code of a scorer's rows (-1 if it has none)."""
        return self.scorers.index(scorer) if scorer in self.scorers else -1


@dataclass(frozen=True)
class LedgerColumns:
    """The ledger columns stories need, as arrays in the file's row order (labels as codes)."""

    citizen: np.ndarray  # int32
    day: np.ndarray      # int16
    scorer: np.ndarray   # int16 code into `scorers`
    channel: np.ndarray  # int16 code into `channels`; -1 where null
    delta: np.ndarray    # float64
    scorers: tuple[str, ...]
    channels: tuple[str, ...]

    @classmethod
    def read(cls, ledger: Path) -> LedgerColumns:
        table = pq.read_table(ledger, columns=["citizen", "day", "scorer", "channel", "delta"]).unify_dictionaries()

        def codes(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
            col = table.column(name).combine_chunks()
            indices = pc.fill_null(col.indices, -1) if col.null_count else col.indices
            return (indices.to_numpy(zero_copy_only=False).astype(np.int16, copy=False),
                    tuple(str(v) for v in col.dictionary.to_pylist()))

        (scorer, scorers), (channel, channels) = codes("scorer"), codes("channel")
        return cls(table.column("citizen").to_numpy(), table.column("day").to_numpy(), scorer, channel,
                   table.column("delta").to_numpy(), scorers, channels)

    def channel_is(self, name: str) -> np.ndarray:
        return self.channel == (self.channels.index(name) if name in self.channels else -2)


def score_paths(ledger: LedgerColumns, days: int) -> ScorePaths:
    """The score paths of a run of `days` days from its ledger."""
    citizen, day, codes, delta = ledger.citizen, ledger.day, ledger.scorer, ledger.delta
    if not len(citizen):
        none = np.zeros(0, np.int32)
        return ScorePaths(none, none.astype(np.int16), none, np.zeros(0), np.zeros(0), none, ledger.scorers)
    if (day[1:] < day[:-1]).any():  # the engine writes days in turn; keep it right for any file
        order = np.argsort(day, kind="stable")
        citizen, day, codes, delta = citizen[order], day[order], codes[order], delta[order]
    s = len(ledger.scorers)
    return ScorePaths(*_paths(citizen, codes, s, day, delta, (int(citizen.max()) + 1) * s, days), ledger.scorers)


@njit(cache=True, nogil=True)
def _paths(citizen, code, n_codes, day, delta, n_keys, days):  # pragma: no cover - compiled
    """Counting sort of the rows by (citizen, scorer) (file order kept within each), then per key one
    row per day: the running sum of the day's deltas, its running minimum and the key's next day."""
    bounds = np.zeros(n_keys + 1, np.int64)
    for i in range(len(citizen)):
        bounds[np.int64(citizen[i]) * n_codes + code[i] + 1] += 1
    for k in range(n_keys):
        bounds[k + 1] += bounds[k]
    at = bounds[:-1].copy()
    sorted_day = np.empty(len(citizen), np.int32)
    sorted_delta = np.empty(len(citizen), np.float64)
    for i in range(len(citizen)):
        k = np.int64(citizen[i]) * n_codes + code[i]
        sorted_day[at[k]] = day[i]
        sorted_delta[at[k]] = delta[i]
        at[k] += 1
    g_citizen = np.empty(len(citizen), np.int32)
    g_scorer = np.empty(len(citizen), np.int16)
    g_day = np.empty(len(citizen), np.int32)
    g_net = np.empty(len(citizen), np.float64)
    g_low = np.empty(len(citizen), np.float64)
    g_next = np.empty(len(citizen), np.int32)
    g = 0
    for k in range(n_keys):
        lo, hi = bounds[k], bounds[k + 1]
        if lo == hi:
            continue
        net = 0.0
        low = np.inf
        first = g
        i = lo
        while i < hi:
            d = sorted_day[i]
            total = 0.0
            while i < hi and sorted_day[i] == d:
                total += sorted_delta[i]
                i += 1
            net += total
            low = min(low, net)
            g_citizen[g], g_scorer[g], g_day[g], g_net[g], g_low[g] = k // n_codes, k % n_codes, d, net, low
            if g > first:
                g_next[g - 1] = d
            g += 1
        g_next[g - 1] = days
    return g_citizen[:g], g_scorer[:g], g_day[:g], g_net[:g], g_low[:g], g_next[:g]


def union_lengths(citizen: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(citizens, days covered): per citizen, the length of the union of its [start, end) spans."""
    if not len(citizen):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((start, citizen))
    return _union(citizen[order].astype(np.int64), start[order].astype(np.int64), end[order].astype(np.int64))


@njit(cache=True, nogil=True)
def _union(citizen, start, end):  # pragma: no cover - compiled
    who = np.empty(len(citizen), np.int64)
    length = np.zeros(len(citizen), np.int64)
    g = -1
    reach = 0
    for i in range(len(citizen)):
        if g < 0 or citizen[i] != who[g]:
            g += 1
            who[g] = citizen[i]
            reach = start[i]
        a, b = max(start[i], reach), end[i]
        if b > a:
            length[g] += b - a
            reach = b
    return who[:g + 1], length[:g + 1]
