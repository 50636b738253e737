"""Money (S2-N1, S2-N2, S1-M8, S1-M9): income, living costs, loans, savings, prices.

Each citizen's month turns over on their loan due day, so 1/30 of citizens are touched a
day: income comes in (less when out of work; only the cash share while digital payments are
suspended, S1-M8), living costs and a loan instalment go out, and savings carry the rest.
Too little in the account raises the chance of a missed instalment (behaviour reads
`savings`), and a balance under the minimum is a recorded event (S2-N1). Measures with a
price move money: a surcharge costs, a discount or waiver saves. Together with job loss and
hiring exclusion this lets a spiral happen: sanction, lost job, missed payments, lower score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorelab.behaviour.catalogue import EVENT_INDEX
from scorelab.society.marginals import DEFAULT, load_marginals, value
from scorelab.streams import stream
from scorelab.tables import SECTOR_INDEX

WORKING = np.zeros(len(SECTOR_INDEX), bool)
WORKING[[SECTOR_INDEX[s] for s in ("agriculture", "manufacturing", "services", "finance", "public",
                                   "security_linked")]] = True
UNEMPLOYED = SECTOR_INDEX["unemployed"]
SUSPENSION_DAYS = 30  # a payment suspension (S1-M8) blocks digital income for a month (assumption)


@dataclass(frozen=True)
class EconomyParams:
    consumption_share: float
    unemployed_income: float
    initial_savings_months: float
    instalment_share: float
    min_balance: float
    loan_approval: float
    loan_months: int
    new_ties_per_year: float
    tie_candidates: int
    prices: dict[str, float]

    @staticmethod
    def of(marginals: str) -> EconomyParams:
        """From the society's marginals file (scenario societies use the default's economy)."""
        try:
            m = load_marginals(marginals)
        except Exception:  # a hand-made society names no marginals file
            m = load_marginals(DEFAULT)
        e = m["economy"]
        prices = {k: float(v) for k, v in m["prices"].items() if k in EVENT_INDEX}
        return EconomyParams(value(e["consumption_share"]), value(e["unemployed_income"]),
                             value(e["initial_savings_months"]), value(e["instalment_share"]),
                             value(e["min_balance"]), value(e["loan_approval"]), int(value(e["loan_months"])),
                             value(e["new_ties_per_year"]), int(value(e["tie_candidates"])), prices)

    def price_vector(self) -> np.ndarray:
        """Base price per event type (0 where none), for measures' money effects."""
        out = np.zeros(len(EVENT_INDEX))
        for k, v in self.prices.items():
            out[EVENT_INDEX[k]] = v
        return out


class Economy:
    def __init__(self, society, seed: int, params: EconomyParams) -> None:
        self.p = params
        self.seed = seed
        c = society.cols
        self.monthly = (c["income"] / 12.0).astype(np.float64)
        self.cashless = c["cashless"]
        self.adult = c["age"] >= 18
        rng = stream(seed, "economy.init")
        self.savings = self.monthly * params.initial_savings_months * rng.exponential(1.0, society.n)
        self.instalment = np.where(c["has_loan"], self.monthly * params.instalment_share, 0.0)
        self.suspended_until = np.full(society.n, -1, np.int32)
        self.prices = params.price_vector()
        self.money_in = 0.0   # measures' money effects, for the manifest
        self.money_out = 0.0

    def month(self, day: int, due: np.ndarray, state, paid: np.ndarray) -> np.ndarray:
        """Turn over the month of the citizens due today; return those under the minimum balance.

        `paid` marks which of them paid their instalment (on time or late) today.
        """
        if not len(due):
            return due
        unemployed = state.sector[due] == UNEMPLOYED
        income = self.monthly[due] * np.where(unemployed, self.p.unemployed_income, 1.0)
        suspended = self.suspended_until[due] >= day
        income = np.where(suspended, income * (1.0 - self.cashless[due]), income)
        spend = self.monthly[due] * self.p.consumption_share
        self.savings[due] += income - spend - np.where(paid, self.instalment[due], 0.0)
        # loans run their course: about 1/loan_months of them end each month
        rng = stream(self.seed, "economy.loan_end", day)
        ends = state.has_loan[due] & (rng.random(len(due)) < 1.0 / self.p.loan_months)
        state.has_loan[due[ends]] = False
        self.instalment[due[ends]] = 0.0
        # only adults hold accounts a bank watches (children share the household's)
        return due[(self.savings[due] < self.p.min_balance) & self.adult[due]]

    def shortfall(self, cit: np.ndarray) -> np.ndarray:
        """Whether the account cannot cover the instalment (raises missed payments)."""
        return self.savings[cit] < self.instalment[cit]

    def grant_loans(self, applicants: np.ndarray, refused: np.ndarray, state, day: int) -> np.ndarray:
        """Loan applications no sanction refused are granted with a fixed chance (S2-N1)."""
        if not len(applicants):
            return applicants
        u = stream(self.seed, "economy.loan_grant", day).random(len(applicants))
        granted = applicants[(u < self.p.loan_approval) & ~refused & ~state.has_loan[applicants]]
        state.has_loan[granted] = True
        self.instalment[granted] = self.monthly[granted] * self.p.instalment_share
        return granted

    def charge(self, citizens: np.ndarray, money: np.ndarray) -> None:
        """Money effects of measures: negative costs the citizen, positive saves them money."""
        np.add.at(self.savings, citizens, money)
        self.money_in += float(money[money > 0].sum())
        self.money_out += float(-money[money < 0].sum())

    def suspend(self, citizens: np.ndarray, day: int) -> None:
        """S1-M8: digital payments cut off for a month; only cash income arrives."""
        self.suspended_until[citizens] = day + SUSPENSION_DAYS
