"""The shared tables the pipeline stages pass each other (architecture principle 8).

Citizens are columns (struct of arrays); a day's events and records are batches of parallel
arrays. Stages import these definitions, not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from scorelab.vocabulary import (  # noqa: F401  (SECTORS and friends are re-exported for older imports)
    ACCOUNT_OPEN,
    DIGITAL,
    MADE,
    SECTOR_INDEX,
    SECTORS,
    SUBSTITUTED,
    WHITE_COLLAR,
)

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
    "online": np.bool_,        # has internet access at the start
    "account": np.int8,        # bank account state at the start (ACCOUNT_STATES)
    "seller": np.bool_,        # sells on online platforms (self-employed, merchants)
}
# Columns a society folder written before a column existed may lack, with their defaults.
CITIZEN_DEFAULTS: dict[str, object] = {"online": True, "account": ACCOUNT_OPEN, "seller": False}


@dataclass
class CitizenState:
    """Circumstances that change during a run; the society's own columns stay as drawn.

    Behaviour reads it (who may do what), consequences write it (what decisions did).
    """

    sector: np.ndarray           # int8, SECTORS
    has_loan: np.ndarray         # bool
    unpaid_judgment: np.ndarray  # bool
    missed_streak: np.ndarray    # int8
    aware: np.ndarray            # bool
    belief: np.ndarray           # float32: multiplier on the perceived chance of being recorded
    online: np.ndarray           # bool: internet access now
    online_back: np.ndarray      # int32: day a cut ends (-1: not cut)
    account: np.ndarray          # int8, ACCOUNT_STATES
    college: np.ndarray          # bool: college education (changes when a school leaver is admitted)
    household: np.ndarray        # int32: a member who breaks with the family leaves it
    seller: np.ndarray           # bool
    next_event_id: int = 0
    rate_mod: dict[int, np.ndarray] = field(default_factory=dict)  # per-citizen rate factors by event type
    rate_bounds: dict[int, tuple[float, float]] = field(default_factory=dict)  # the clip last applied to all

    @staticmethod
    def of(cols: dict[str, np.ndarray]) -> CitizenState:
        n = len(cols["age"])
        return CitizenState(cols["sector"].copy(), cols["has_loan"].copy(), np.zeros(n, bool), np.zeros(n, np.int8),
                            cols["aware"].copy(), np.ones(n, np.float32), cols["online"].copy(),
                            np.full(n, -1, np.int32), cols["account"].copy(), cols["college"].copy(),
                            cols["household"].copy(), cols["seller"].copy())

    def modify_rate(self, etype: int, citizens: np.ndarray, factor: float, low: float = 0.0,
                    high: float = 2.0) -> None:
        """A citizen's future rate of one act changes (advice, coupons, learning from refusals)."""
        if etype not in self.rate_mod:
            self.rate_mod[etype] = np.ones(len(self.belief), np.float32)
        mod = self.rate_mod[etype]
        np.multiply.at(mod, citizens, np.float32(factor))
        if self.rate_bounds.get(etype) == (low, high):  # the others are within these bounds already
            mod[citizens] = np.clip(mod[citizens], low, high)
        else:  # bounds unlike the last ones: clip every citizen (what every call did before issue 12)
            np.clip(mod, low, high, out=mod)
            self.rate_bounds[etype] = (low, high)

    @property
    def banked(self) -> np.ndarray:
        return self.account == ACCOUNT_OPEN


@dataclass
class EventBatch:
    """True events of one day: what citizens really did or tried (never read by a regime directly).

    `outcome` says whether an attempt was made, refused, replaced by a slower substitute, or
    turned away because the place was full (OUTCOMES); acts other than attempts are always made.
    """

    etype: np.ndarray    # int16, index into the vocabulary's EVENTS
    citizen: np.ndarray  # int32, the actor
    paid: np.ndarray     # int8: UNPAID, CASH or DIGITAL (S1-M3)
    event_id: np.ndarray  # int64, unique in the run
    target: np.ndarray   # int8: a job application's sector (-1 elsewhere)
    outcome: np.ndarray  # int8: OUTCOMES

    def __len__(self) -> int:
        return len(self.etype)

    @property
    def digital(self) -> np.ndarray:
        return self.paid == DIGITAL

    @property
    def made(self) -> np.ndarray:
        """Acts that happened: made attempts, and trips made by a substitute."""
        return (self.outcome == MADE) | (self.outcome == SUBSTITUTED)

    def take(self, mask_or_idx: np.ndarray) -> EventBatch:
        return EventBatch(*(getattr(self, f.name)[mask_or_idx] for f in fields(self)))

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        return EventBatch(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(EventBatch)))

    @staticmethod
    def of(etype, citizen, paid, first_id: int, target=None) -> EventBatch:
        k = len(etype)
        return EventBatch(np.asarray(etype, np.int16), np.asarray(citizen, np.int32), np.asarray(paid, np.int8),
                          np.arange(first_id, first_id + k, dtype=np.int64),
                          np.full(k, -1, np.int8) if target is None else np.asarray(target, np.int8),
                          np.zeros(k, np.int8))


class _Columns:
    """Batches of parallel arrays: take, concatenate, an empty batch."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def take(self, mask_or_idx: np.ndarray):
        return type(self)(*(getattr(self, f.name)[mask_or_idx] for f in fields(self)))

    @classmethod
    def concat(cls, batches: list):
        if not batches:
            return cls.empty()
        return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))

    @classmethod
    def empty(cls):
        return cls(*(np.empty(0, cls.DTYPES[f.name]) for f in fields(cls)))


@dataclass
class Records(_Columns):
    """What a scorer's channels wrote down, as the regime sees it: no truth, no actor.

    Truth is kept from decisions by type: the regime's code receives only this.
    """

    record_id: np.ndarray     # int64
    citizen: np.ndarray       # int32, the citizen the record is attributed to
    etype: np.ndarray         # int16
    channel: np.ndarray       # int8
    day_event: np.ndarray     # int16
    day_recorded: np.ndarray  # int16

    DTYPES = {"record_id": np.int64, "citizen": np.int32, "etype": np.int16, "channel": np.int8,
              "day_event": np.int16, "day_recorded": np.int16}


@dataclass
class RecordTruth(_Columns):
    """What really lies behind each record, aligned with its Records batch (the audit's view)."""

    record_id: np.ndarray  # int64
    event_id: np.ndarray   # int64, -1 for invented reports
    actor: np.ndarray      # int32, who really did it (-1 for invented)
    true: np.ndarray       # bool: attributed to the real actor of a real event

    DTYPES = {"record_id": np.int64, "event_id": np.int64, "actor": np.int32, "true": np.bool_}


@dataclass
class Decisions(_Columns):
    """The regime's decisions of one day: each a measure applied to a citizen, with its cause.

    Made by scorers (without truth); the audit fills `wrongful`; the consequences' registry
    applies each decision's effect; the recorder writes them (measures.parquet).
    """

    day: np.ndarray            # int16
    citizen: np.ndarray        # int32, whom the measure applies to
    scorer: np.ndarray         # int16
    measure: np.ndarray        # int16, label code of '<scorer>:<measure>'
    kind: np.ndarray           # int8, MEASURE_KINDS
    effect: np.ndarray         # int8, EFFECTS
    domain: np.ndarray         # int8, DOMAINS
    event_id: np.ndarray       # int64, the gated attempt (-1: none)
    event_type: np.ndarray     # int16, the gated attempt's or the triggering record's type (-1: none)
    cause_record: np.ndarray   # int64, the record that triggered it (-1: none)
    cause_citizen: np.ndarray  # int32, whose status caused it (a parent, for a child barred)
    price_factor: np.ndarray   # float64 (written as float32)
    duration: np.ndarray       # int16, days a lasting effect holds
    rate_factor: np.ndarray    # float64, advice and coupons
    money: np.ndarray          # float64, yuan moved (set by the consequences)
    wrongful: np.ndarray       # bool, rested on false records (set by the audit)

    DTYPES = {"day": np.int16, "citizen": np.int32, "scorer": np.int16, "measure": np.int16, "kind": np.int8,
              "effect": np.int8, "domain": np.int8, "event_id": np.int64, "event_type": np.int16,
              "cause_record": np.int64, "cause_citizen": np.int32, "price_factor": np.float64,
              "duration": np.int16, "rate_factor": np.float64, "money": np.float64, "wrongful": np.bool_}


def symmetric_csr(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An undirected graph from pairs (a[k], b[k]) as (indptr, indices): duplicates merged,
    columns sorted within each row (the Network's reverse-edge search relies on that)."""
    from scorelab.society.sorting import symmetric_unique_rows  # a compiled counting sort (scipy's COO->CSR was slower)

    return symmetric_unique_rows(n, np.asarray(a, np.int64), np.asarray(b, np.int64))


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
