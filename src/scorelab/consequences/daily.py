"""The consequences stage: what follows from the day's decisions, applied to circumstances.

Jobs (S1-M6, S2-N2, S1-M12), money (S2-N1, S1-M8, S1-M9), learning (S2-N8) and new ties
(Wei et al. 2016). The engine calls `step` once a day after the regime has acted.
"""

from __future__ import annotations

import numpy as np

from scorelab.behaviour.catalogue import EVENT_INDEX
from scorelab.consequences.economy import Economy
from scorelab.consequences.employment import apply_employment
from scorelab.consequences.network import Network
from scorelab.streams import stream

JOB = EVENT_INDEX["job_application"]
LOAN = EVENT_INDEX["loan_application"]


class Consequences:
    def __init__(self, economy: Economy, network: Network, seed: int, learning: tuple[float, float, float],
                 n: int) -> None:
        self.economy = economy
        self.network = network
        self.seed = seed
        self.learn_p, self.learn_step, self.learn_max = learning
        self.n = n
        self.learned = 0

    def step(self, day: int, events, target: np.ndarray, refused: np.ndarray, runtimes, state) -> None:
        dismissed = [rt.take_dismissed() for rt in runtimes]
        sanctioned = []
        for rt in runtimes:
            for etype, who, factor in rt.rate_changes:
                state.modify_rate(etype, who, factor)
            rt.rate_changes = []
            money, suspended, hit = rt.take_day()
            for cit, amount in money:
                self.economy.charge(cit, amount)
            for cit in suspended:
                self.economy.suspend(cit, day)
            sanctioned += hit
        apply_employment(state, events.citizen, events.etype == JOB, target, refused, dismissed, self.seed, day)
        loans = np.flatnonzero(events.etype == LOAN)
        self.economy.grant_loans(events.citizen[loans], refused[loans], state, day)
        if self.learn_p > 0 and sanctioned:
            self._learn(np.concatenate(sanctioned), state, day)
        if day % 30 == 29:
            self._new_ties(day, runtimes)

    def _learn(self, sanctioned: np.ndarray, state, day: int) -> None:
        """S2-N8: contacts who see a sanction become aware and believe detection likelier."""
        _, contact = self.network.neighbours(np.unique(sanctioned).astype(np.int64))
        if not len(contact):
            return
        u = stream(self.seed, "consequences.learning", day).random(len(contact))
        who = np.unique(contact[u < self.learn_p])
        self.learned += int((~state.aware[who]).sum())
        state.aware[who] = True
        state.belief[who] = np.minimum(state.belief[who] * (1.0 + self.learn_step), self.learn_max)

    def _new_ties(self, day: int, runtimes) -> None:
        """Monthly new ties; each newcomer picks, among a few candidates, the closest in score."""
        p = self.economy.p
        count = int(round(self.n * p.new_ties_per_year * 30 / 365))
        if count <= 0 or self.n < 2:
            return
        rng = stream(self.seed, "consequences.new_ties", day)
        a = rng.integers(0, self.n, count)
        cands = rng.integers(0, self.n, (count, max(p.tie_candidates, 1)))
        if runtimes:
            score = runtimes[0].score
            pick = np.argmin(np.abs(score[cands] - score[a][:, None]), axis=1)
        else:
            pick = np.zeros(count, np.int64)
        self.network.add_ties(a, cands[np.arange(count), pick])
