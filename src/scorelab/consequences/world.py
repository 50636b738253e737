"""What the consequences act on: the citizens' circumstances, money, ties and households,
and today's events. One object, handed to every effect handler (consequences/registry.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from scorelab.consequences.economy import Economy, EconomyParams
from scorelab.consequences.network import Households, Network
from scorelab.tables import CitizenState, EventBatch
from scorelab.vocabulary import EVENTS, PURPOSES

PURPOSE = np.array([PURPOSES.index(e.purpose) for e in EVENTS], np.int8)


def purpose_code(name: str) -> int:
    return PURPOSES.index(name)


@dataclass
class World:
    seed: int
    params: EconomyParams
    cols: dict[str, np.ndarray]      # the society's own columns (as drawn)
    state: CitizenState              # circumstances that change
    economy: Economy
    network: Network
    households: Households
    cashless_scale: float = 1.0      # today's cash share relative to the start (S1-M3, a dated parameter)
    day: int = 0
    events: EventBatch | None = None
    wrongful: np.ndarray | None = None     # per event: its outcome rested on false records
    loan_factor: np.ndarray | None = None  # per event: price factor of a loan's instalment
    priority: np.ndarray | None = None     # per event: preferred access (S1-M9)
    waived: np.ndarray | None = None       # per event: deposit waived
    police_due: dict[int, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    counters: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # per citizen: education lost to a bar (places the child would have had), by wrongfulness
    education_lost: np.ndarray | None = None
    education_lost_wrongful: np.ndarray | None = None
    expected_income: np.ndarray | None = None  # yuan a year the citizen can expect as an adult
    police_contacts: np.ndarray | None = None
    police_contacts_wrongful: np.ndarray | None = None
    accounts_closed_wrongful: np.ndarray | None = None
    accounts_closed: np.ndarray | None = None
    internet_cut_wrongful: np.ndarray | None = None
    _calls: int = 0

    def __post_init__(self) -> None:
        n = len(self.cols["age"])
        for name in ("education_lost", "education_lost_wrongful", "police_contacts", "police_contacts_wrongful"):
            setattr(self, name, np.zeros(n, np.int32))
        self.accounts_closed = np.zeros(n, bool)
        self.accounts_closed_wrongful = np.zeros(n, bool)
        self.internet_cut_wrongful = np.zeros(n, bool)
        self.expected_income = self.cols["income"].astype(np.float64).copy()

    def next_call(self) -> int:
        """A key for a random stream used more than once a day."""
        self._calls += 1
        return self._calls

    def begin_day(self, day: int, events: EventBatch) -> None:
        k = len(events)
        self.day = day
        self._calls = 0
        self.events = events
        self.wrongful = np.zeros(k, bool)
        self.loan_factor = np.ones(k, np.float64)
        self.priority = np.zeros(k, bool)
        self.waived = np.zeros(k, bool)

    def positions(self, event_id: np.ndarray) -> np.ndarray:
        """Where today's events with these ids sit in today's batch (ids count up within a day)."""
        return (event_id - self.events.event_id[0]).astype(np.int64)

    def cashless(self, citizens: np.ndarray) -> np.ndarray:
        """Each citizen's share of money that moves digitally today (grows with the cashless society)."""
        return 1.0 - (1.0 - self.cols["cashless"][citizens]) * self.cashless_scale
