"""The shared tables the pipeline stages pass each other (architecture principle 8).

Citizens are columns (struct of arrays); a day's events and records are batches of parallel
arrays. Stages import these definitions, not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# Citizen attribute columns written by society and read by behaviour, regime and metrics.
CITIZEN_COLUMNS: dict[str, type] = {
    "age": np.int16,
    "sex": np.int8,            # 0 female, 1 male
    "region": np.int16,
    "urban": np.bool_,
    "college": np.bool_,
    "income": np.float32,      # yuan per year
    "income_decile": np.int8,  # 0..9 within the society
    "sector": np.int8,         # index into SECTORS
    "household": np.int32,
    "conscientiousness": np.float32,
    "impulsivity": np.float32,
    "civic_mindedness": np.float32,
    "outspokenness": np.float32,
    "aware": np.bool_,
    "has_loan": np.bool_,
    "loan_due_day": np.int8,   # 0..29: day of the month the instalment is due
    "cashless": np.float32,    # this citizen's share of purchases paid digitally
    "dog_owner": np.bool_,
}

SECTORS: tuple[str, ...] = (
    "child", "student", "agriculture", "manufacturing", "services", "finance", "public",
    "security_linked", "unemployed", "inactive", "retired",
)
SECTOR_INDEX = {s: i for i, s in enumerate(SECTORS)}
WHITE_COLLAR = ("finance", "public", "security_linked")


@dataclass
class EventBatch:
    """True events of one day: what citizens really did (never read by a regime directly)."""

    etype: np.ndarray    # int16, index into the catalogue
    citizen: np.ndarray  # int32, the actor
    digital: np.ndarray  # bool, paid digitally (only matters for purchases)
    event_id: np.ndarray  # int64, unique in the run

    def __len__(self) -> int:
        return len(self.etype)

    def take(self, mask_or_idx: np.ndarray) -> EventBatch:
        return EventBatch(*(getattr(self, f.name)[mask_or_idx] for f in fields(self)))


@dataclass
class RecordBatch:
    """What a scorer's channels wrote down. `true` is the truth flag the regime never reads."""

    record_id: np.ndarray  # int64
    event_id: np.ndarray   # int64, -1 for invented reports
    citizen: np.ndarray    # int32, the citizen the record is attributed to
    actor: np.ndarray      # int32, who really did it (-1 for invented)
    etype: np.ndarray      # int16
    channel: np.ndarray    # int8
    day_event: np.ndarray  # int16
    day_recorded: np.ndarray  # int16
    true: np.ndarray       # bool: attributed to the real actor of a real event

    def __len__(self) -> int:
        return len(self.etype)

    def take(self, mask_or_idx: np.ndarray) -> RecordBatch:
        return RecordBatch(*(getattr(self, f.name)[mask_or_idx] for f in fields(self)))

    @staticmethod
    def concat(batches: list[RecordBatch]) -> RecordBatch:
        if not batches:
            return RecordBatch.empty()
        return RecordBatch(*(np.concatenate([getattr(b, f.name) for b in batches])
                             for f in fields(RecordBatch)))

    @staticmethod
    def empty() -> RecordBatch:
        return RecordBatch(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32),
                           np.empty(0, np.int32), np.empty(0, np.int16), np.empty(0, np.int8),
                           np.empty(0, np.int16), np.empty(0, np.int16), np.empty(0, np.bool_))


def symmetric_csr(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An undirected graph from pairs (a[k], b[k]) as (indptr, indices): duplicates merged,
    columns sorted within each row (the Network's reverse-edge search relies on that)."""
    import scipy.sparse as sp

    src = np.concatenate([a, b]).astype(np.int64)
    dst = np.concatenate([b, a]).astype(np.int64)
    mat = sp.csr_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n))
    mat.sum_duplicates()
    mat.sort_indices()
    return mat.indptr.astype(np.int64), mat.indices.astype(np.int32)


def csr_edges(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the stored entries of many CSR rows: (origin, position).

    origin[k] is the index in `rows` whose entry is at position[k]. Work is proportional to
    the entries touched, not to the matrix size.
    """
    starts = indptr[rows]
    counts = (indptr[rows + 1] - starts).astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    origin = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    position = np.arange(total, dtype=np.int64) - np.repeat(first, counts) + np.repeat(starts, counts)
    return origin, position


def csr_gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of many rows of a CSR matrix at once: (origin, neighbour)."""
    origin, position = csr_edges(indptr, rows)
    return origin, indices[position]
