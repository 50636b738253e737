"""Money (S2-N1, S2-N2, S1-M8, S1-M9, S1-M13): income, living costs, loans, savings, prices.

Each citizen's month turns over on their loan due day, so 1/30 of citizens are touched a
day: income comes in (less when out of work; without a bank account at a fee; while digital
payments are suspended only the cash share, S1-M8), living costs and a loan instalment go
out, and savings carry the rest. Too little in the account raises the chance of a missed
instalment, and a balance under the minimum is a recorded event (S2-N1).

Every yuan that moves is counted in one of the flows (`FLOWS`), per citizen, so that
savings at the end = savings at the start + the sum of the flows (the ledger of money).
Income that sanctions cost (a job lost, digital income blocked, hours at a police stop, sales
refused) is counted apart in `lost`, split by whether the sanction rested on false records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numba import njit

from scorelab.society.marginals import DEFAULT, dated_days, load_marginals, value
from scorelab.streams import stream
from scorelab.vocabulary import ACCOUNT_OPEN, EVENT_INDEX, N_EVENT_TYPES, UNEMPLOYED

# money flows per citizen: income and sales in; living, instalments, fees out; measures, deposits
# and travel either way (a deposit goes out and comes back)
MONTH_FLOWS = ("income", "fees", "living", "instalments")  # paid by Economy.month only, in this order
FLOWS: tuple[str, ...] = ("income", "sales", "living", "instalments", "measures", "fees", "deposits", "travel",
                          "frozen")
_MONTH_ROWS_OF_FLOWS = np.array([FLOWS.index(f) for f in MONTH_FLOWS])  # where the month pays into `_flows`


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
    substitute_share: float
    working_hours_per_month: float
    cash_wage_fee: float
    cash_acceptance: float
    deposit_days: int
    police_stop_hours: float
    shortage: float
    refusal_learning: float
    college_admission: float
    college_premium: float
    school_premium: float
    platform_income_share: float
    hire_probability: float = 0.08  # the world's behaviour.hire_probability
    sales_per_day: float = 0.1      # the world's events.platform_sale.rate

    @staticmethod
    def of(marginals, day: int = 0) -> EconomyParams:
        """From the society's marginals file (a name, a path, or a loaded world: scorelab.world), as
        they stand on `day` (scenario societies use the default's)."""
        m = _marginals(marginals)
        e, k = m["economy"], m["consequences"]

        def v(entry) -> float:
            return value(entry, day)

        prices = {name: v(x) for name, x in m["prices"].items() if name in EVENT_INDEX}
        return EconomyParams(v(e["consumption_share"]), v(e["unemployed_income"]), v(e["initial_savings_months"]),
                             v(e["instalment_share"]), v(e["min_balance"]), v(e["loan_approval"]),
                             int(v(e["loan_months"])), v(e["new_ties_per_year"]), int(v(e["tie_candidates"])), prices,
                             v(k["substitute_share"]), v(k["working_hours_per_month"]), v(k["cash_wage_fee"]),
                             v(k["cash_acceptance"]), int(v(k["deposit_days"])), v(k["police_stop_hours"]),
                             v(k["shortage"]), v(k["refusal_learning"]), v(k["college_admission"]),
                             v(m["income"]["college_premium"]), v(k["school_premium"]), v(k["platform_income_share"]),
                             hire_probability=v(m["behaviour"]["hire_probability"]),
                             sales_per_day=float(m["events"]["platform_sale"]["rate"]))

    def price_vector(self) -> np.ndarray:
        """Base price per event type (0 where none), for measures' money effects."""
        out = np.zeros(N_EVENT_TYPES)
        for k, v in self.prices.items():
            out[EVENT_INDEX[k]] = v
        return out


def _marginals(marginals) -> dict:
    if hasattr(marginals, "data"):  # a loaded world (scorelab.world)
        return marginals.data
    try:
        return load_marginals(marginals)
    except Exception:  # a hand-made society names no marginals file
        return load_marginals(DEFAULT)


def economy_breakpoints(marginals) -> set[int]:
    """Days on which the society's dated values (economy, cashless share) change."""
    return set(dated_days(_marginals(marginals)))


def cashless_scale(spec, day: int, world=None) -> float:
    """Today's cash share relative to day 0's (S1-M3): each citizen's cash share shrinks in proportion.

    A society whose spec fixes the cashless share keeps it (no growth)."""
    if getattr(spec, "cashless_share", None) is not None:
        return 1.0
    m = _marginals(world if world is not None else spec.marginals)
    start, now = value(m["cashless_share"], 0), value(m["cashless_share"], day)
    return (1.0 - now) / (1.0 - start) if start < 1.0 else 0.0


class Economy:
    def __init__(self, cols: dict[str, np.ndarray], seed: int, params: EconomyParams) -> None:
        self.p = params
        self.seed = seed
        n = len(cols["age"])
        self.n = n
        self.monthly = (cols["income"] / 12.0).astype(np.float64)
        self.cashless = cols["cashless"]
        self.adult = cols["age"] >= 18
        self.seller = cols["seller"]
        self.prices = params.price_vector()
        rng = stream(seed, "economy.init")
        self.savings = self.monthly * params.initial_savings_months * rng.exponential(1.0, n)
        if "savings" in cols:  # a hand-made society (scenario) may give its citizens' savings
            self.savings = cols["savings"].astype(np.float64).copy()
        self.savings_initial = self.savings.copy()
        self.instalment = np.where(cols["has_loan"], self.monthly * params.instalment_share, 0.0)
        self._flows = np.zeros((len(FLOWS), n), np.float64)
        # The month's four flows, paid to the citizens due each day, kept in the behaviour's due
        # order (a day's citizens are one contiguous slice): the same sums, without four scattered
        # writes a day into rows of a million (issue 12). See `flows`.
        self._month_flows = np.zeros((len(MONTH_FLOWS), n), np.float64)
        self._month_order: np.ndarray | None = None
        self.lost = np.zeros(n, np.float64)           # income sanctions cost, rightly
        self.lost_wrongful = np.zeros(n, np.float64)  # ... and on false records
        # S1-M8 payment suspension: digital money frozen until the day it ends
        self.suspended_until = np.full(n, -1, np.int32)
        self.suspension_wrongful = np.zeros(n, bool)
        self.suspended_first = np.full(n, -1, np.int32)
        self.frozen = np.zeros(n, np.float64)
        self._thaw: dict[int, list[np.ndarray]] = defaultdict(list)
        # how suspended citizens fared: the first day their accessible money ran out
        self.broke_first = np.full(n, -1, np.int32)
        self.broke_after_suspension = np.full(n, -1, np.int32)
        # job losses that sanctions caused, until the next job
        self.dismissed = np.zeros(n, bool)
        self.dismissed_wrongful = np.zeros(n, bool)
        self._deposits: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        self.money_in = 0.0   # totals of measures' money effects, for the manifest
        self.money_out = 0.0

    @property
    def flows(self) -> np.ndarray:
        """Money moved per flow (FLOWS) and citizen. The month's flows are paid by nothing else, so
        adding their due-ordered sums to zeros gives each citizen's sum exactly as paid."""
        if self._month_order is None:
            return self._flows
        out = self._flows.copy()
        for j, flow in enumerate(MONTH_FLOWS):
            out[FLOWS.index(flow), self._month_order] += self._month_flows[j]
        return out

    # ------------------------------------------------------------------ moving money
    def pay(self, citizens: np.ndarray, amount: np.ndarray | float, flow: str, day: int) -> None:
        """Money into (+) or out of (-) citizens' accounts, counted under `flow`."""
        if not len(citizens):
            return
        amount = np.broadcast_to(np.asarray(amount, np.float64), citizens.shape)
        np.add.at(self.savings, citizens, amount)
        np.add.at(self._flows[FLOWS.index(flow)], citizens, amount)
        if flow == "measures":
            self.money_in += float(amount[amount > 0].sum())
            self.money_out += float(-amount[amount < 0].sum())
        self._note_broke(citizens, day)

    def lose(self, citizens: np.ndarray, amount: np.ndarray | float, wrongful: np.ndarray | bool) -> None:
        """Income a sanction cost (already missing from the flows), rightly or on false records."""
        amount = np.broadcast_to(np.asarray(amount, np.float64), citizens.shape)
        wrongful = np.broadcast_to(np.asarray(wrongful, bool), citizens.shape)
        np.add.at(self.lost, citizens[~wrongful], amount[~wrongful])
        np.add.at(self.lost_wrongful, citizens[wrongful], amount[wrongful])

    def _note_broke(self, citizens: np.ndarray, day: int) -> None:
        broke = citizens[self.savings[citizens] <= 0.0]
        if not len(broke):
            return
        first = broke[self.broke_first[broke] < 0]
        self.broke_first[first] = day
        after = broke[(self.suspended_first[broke] >= 0) & (self.broke_after_suspension[broke] < 0)]
        self.broke_after_suspension[after] = day - self.suspended_first[after]

    # ------------------------------------------------------------------ the month
    def hourly(self, citizens: np.ndarray) -> np.ndarray:
        return self.monthly[citizens] / self.p.working_hours_per_month

    def month(self, day: int, due: np.ndarray, state, paid: np.ndarray, cashless: np.ndarray,
              order: np.ndarray | None = None, span: tuple[int, int] | None = None) -> np.ndarray:
        """Turn over the month of the citizens due today; return those under the minimum balance.

        `paid` marks which of them paid their instalment (on time or late) today; `cashless`
        is each due citizen's share of money that moves digitally today (it grows, S1-M3).
        `order` and `span`, when given, say that `due` is order[span[0]:span[1]] (the behaviour's
        due order, the same array every day).
        """
        if not len(due):
            return due
        if order is not None:
            if self._month_order is None:
                self._month_order = order
            if order is not self._month_order:
                raise ValueError("the month's due order changed during the run")
        else:
            span = None
        p = self.p
        if span is not None:  # the month's flows, in due order (see `flows`)
            flows, rows, at = self._month_flows, np.arange(len(MONTH_FLOWS)), span[0]
        else:
            flows, rows, at = self._flows, _MONTH_ROWS_OF_FLOWS, -1
        # loans run their course: about 1/loan_months of them end each month
        u_end = stream(self.seed, "economy.loan_end", day).random(len(due))
        below = _turn_over(
            day, due, paid, cashless, u_end, state.sector, state.account, state.has_loan, self.monthly, self.seller,
            self.adult, self.dismissed, self.dismissed_wrongful, self.suspended_until, self.suspension_wrongful,
            self.instalment, self.savings, self.lost, self.lost_wrongful, flows, rows, at, self.broke_first,
            self.suspended_first, self.broke_after_suspension, 1.0 - p.platform_income_share, p.unemployed_income,
            p.cash_wage_fee, p.consumption_share, 1.0 / p.loan_months, p.min_balance, UNEMPLOYED, ACCOUNT_OPEN)
        return due[below]

    def shortfall(self, cit: np.ndarray) -> np.ndarray:
        """Whether the account cannot cover the instalment (raises missed payments)."""
        return self.savings[cit] < self.instalment[cit]

    def step(self, day: int) -> None:
        """What falls due today: suspensions that end (frozen money returns), deposits returned."""
        for cit in self._thaw.pop(day, []):
            back = cit[self.suspended_until[cit] < day]  # not suspended again since
            self.pay(back, self.frozen[back], "frozen", day)
            self.frozen[back] = 0.0
        for cit, amount in self._deposits.pop(day, []):
            self.pay(cit, amount, "deposits", day)

    # ------------------------------------------------------------------ what decisions do to money
    def grant_loans(self, applicants: np.ndarray, price_factor: np.ndarray, state, day: int) -> np.ndarray:
        """Loan applications that were made are granted with a fixed chance (S2-N1); a priced
        loan's instalment carries the price factor for the loan's life (S1-M9)."""
        if not len(applicants):
            return applicants
        u = stream(self.seed, "economy.loan_grant", day).random(len(applicants))
        ok = (u < self.p.loan_approval) & ~state.has_loan[applicants]
        granted = applicants[ok]
        state.has_loan[granted] = True
        self.instalment[granted] = self.monthly[granted] * self.p.instalment_share * price_factor[ok]
        return granted

    def suspend(self, citizens: np.ndarray, day: int, duration: np.ndarray, wrongful: np.ndarray,
                cashless: np.ndarray) -> None:
        """S1-M8: digital payments and digital income cut off; the digital share of savings is frozen."""
        fresh = self.suspended_until[citizens] < day
        until = day + duration.astype(np.int32)
        self.suspended_until[citizens] = np.maximum(self.suspended_until[citizens], until)
        self.suspension_wrongful[citizens] = wrongful
        first = citizens[self.suspended_first[citizens] < 0]
        self.suspended_first[first] = day
        c = citizens[fresh]
        freeze = np.maximum(self.savings[c], 0.0) * cashless[fresh]
        self.frozen[c] += freeze
        self.pay(c, -freeze, "frozen", day)
        for end in np.unique(until):
            self._thaw[int(end) + 1].append(citizens[until == end])
        self._note_broke(citizens, day)

    def lock_deposits(self, citizens: np.ndarray, amount: np.ndarray, day: int) -> None:
        """A rental's deposit leaves savings and returns after deposit_days."""
        self.pay(citizens, -amount, "deposits", day)
        self._deposits[day + self.p.deposit_days].append((citizens, amount))

    def is_suspended(self, citizens: np.ndarray, day: int) -> np.ndarray:
        return self.suspended_until[citizens] >= day


@njit(cache=True, nogil=True)
def _turn_over(day, due, paid, cashless, u_end, sector, account, has_loan, monthly, seller, adult, dismissed,
               dismissed_wrongful, suspended_until, suspension_wrongful, instalment, savings, lost, lost_wrongful,
               flows, rows, at, broke_first, suspended_first, broke_after_suspension, seller_work_share,
               unemployed_income, cash_wage_fee, consumption_share, end_chance, min_balance, unemployed_code,
               open_code):  # pragma: no cover - compiled
    """Economy.month for distinct citizens `due`, in one pass (issue 12): income (less when out of
    work or while digital income is suspended, S1-M8; a fee without an account), living costs and
    the instalment paid in turn into savings and the month's flows (row rows[j] of `flows`, at
    at + i, or at the citizen when at < 0); income a sanction cost into lost / lost_wrongful;
    who went broke; the loans that end (u_end < end_chance). Returns who is under the minimum
    balance (adults with an account). The same operations, in the same order and precision, as
    the NumPy expressions it replaced, so the same bits."""
    below = np.zeros(len(due), np.bool_)
    for i in range(len(due)):
        c = due[i]
        unemployed = sector[c] == unemployed_code
        work = monthly[c] * (seller_work_share if seller[c] else 1.0)
        income = monthly[c] * unemployed_income if unemployed else work
        if dismissed[c] and unemployed:  # a job a sanction took: what work would have paid, less benefits
            if dismissed_wrongful[c]:
                lost_wrongful[c] += work - monthly[c] * unemployed_income
            else:
                lost[c] += work - monthly[c] * unemployed_income
        if suspended_until[c] >= day:
            blocked = income * cashless[i]
            if suspension_wrongful[c]:
                lost_wrongful[c] += blocked
            else:
                lost[c] += blocked
            income -= blocked
        banked = account[c] == open_code
        fee = 0.0 if banked else income * cash_wage_fee
        pay = (income, -fee, -(monthly[c] * consumption_share), -(instalment[c] if paid[i] else 0.0))
        pos = at + i if at >= 0 else c
        s = savings[c]
        for j in range(4):
            s += pay[j]
            flows[rows[j], pos] += pay[j]
        savings[c] = s
        if s <= 0.0:  # Economy._note_broke
            if broke_first[c] < 0:
                broke_first[c] = day
            if suspended_first[c] >= 0 and broke_after_suspension[c] < 0:
                broke_after_suspension[c] = day - suspended_first[c]
        if has_loan[c] and u_end[i] < end_chance:
            has_loan[c] = False
            instalment[c] = 0.0
        below[i] = s < min_balance and adult[c] and banked  # children share the household's account
    return below
