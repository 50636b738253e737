"""Issue 12: the month's turnover (Economy.month, one compiled pass) gives, bit for bit, what the
NumPy expressions it replaced gave: savings, the four month flows, income lost rightly and on false
records, who went broke, which loans ended, who is under the minimum balance.

`numpy_month` below is those expressions, kept here as the independent reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.consequences.economy import FLOWS, MONTH_FLOWS, Economy, EconomyParams
from scorelab.society.model import SocietySpec, build_society
from scorelab.streams import stream
from scorelab.tables import CitizenState
from scorelab.vocabulary import ACCOUNT_OPEN, NO_ACCOUNT, UNEMPLOYED

N = 3000


@pytest.fixture(scope="module")
def society():
    return build_society(SocietySpec(citizens=N, seed=9))


def numpy_month(e: Economy, day: int, due: np.ndarray, state, paid: np.ndarray, cashless: np.ndarray) -> np.ndarray:
    """The NumPy expressions of Economy.month before issue 12's kernel (flows by citizen)."""
    p = e.p
    unemployed = state.sector[due] == UNEMPLOYED
    work = e.monthly[due] * np.where(e.seller[due], 1.0 - p.platform_income_share, 1.0)
    income = np.where(unemployed, e.monthly[due] * p.unemployed_income, work)
    cost = e.dismissed[due] & unemployed
    if cost.any():
        c = due[cost]
        e.lose(c, work[cost] - e.monthly[c] * p.unemployed_income, e.dismissed_wrongful[c])
    suspended = e.suspended_until[due] >= day
    if suspended.any():
        blocked = income[suspended] * cashless[suspended]
        e.lose(due[suspended], blocked, e.suspension_wrongful[due[suspended]])
        income[suspended] -= blocked
    banked = state.account[due] == ACCOUNT_OPEN
    fee = np.where(banked, 0.0, income * p.cash_wage_fee)
    savings = e.savings[due]
    for flow, amount in (("income", income), ("fees", -fee), ("living", -e.monthly[due] * p.consumption_share),
                         ("instalments", -np.where(paid, e.instalment[due], 0.0))):
        savings += amount
        row = e._flows[FLOWS.index(flow)]
        row[due] += amount
    e.savings[due] = savings
    broke = due[e.savings[due] <= 0.0]
    e.broke_first[broke[e.broke_first[broke] < 0]] = day
    after = broke[(e.suspended_first[broke] >= 0) & (e.broke_after_suspension[broke] < 0)]
    e.broke_after_suspension[after] = day - e.suspended_first[after]
    ends = state.has_loan[due] & (stream(e.seed, "economy.loan_end", day).random(len(due)) < 1.0 / p.loan_months)
    state.has_loan[due[ends]] = False
    e.instalment[due[ends]] = 0.0
    return due[(e.savings[due] < p.min_balance) & e.adult[due] & banked]


def _world(society, seed: int):
    """An economy and state with every branch in play: the unemployed, dismissed, suspended (some
    wrongly), unbanked, broke and in debt, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    e = Economy(society.cols, 5, EconomyParams.of("census2020"))
    state = CitizenState.of(society.cols)
    state.sector[rng.random(N) < 0.2] = UNEMPLOYED
    state.account[rng.random(N) < 0.2] = NO_ACCOUNT
    e.dismissed[:] = rng.random(N) < 0.3
    e.dismissed_wrongful[:] = rng.random(N) < 0.5
    e.suspended_until[:] = rng.integers(-1, 40, N)
    e.suspension_wrongful[:] = rng.random(N) < 0.5
    e.suspended_first[:] = np.where(rng.random(N) < 0.3, rng.integers(0, 20, N), -1)
    e.savings[:] = rng.normal(0.0, 3.0, N) * e.monthly  # many broke, some under the minimum
    return e, state


def _snapshot(e: Economy, state) -> dict[str, np.ndarray]:
    return {"savings": e.savings, "flows": e.flows, "lost": e.lost, "lost_wrongful": e.lost_wrongful,
            "broke_first": e.broke_first, "broke_after_suspension": e.broke_after_suspension,
            "instalment": e.instalment, "has_loan": state.has_loan}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=st.integers(0, 35), share=st.floats(0.0, 1.0),
       in_due_order=st.booleans())
def test_month_kernel_is_the_numpy_expressions_bit_for_bit(society, seed, day, share, in_due_order):
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random(N)).astype(np.int32)  # a due order: every citizen once
    start = int(rng.integers(0, N // 2))
    span = (start, start + int(rng.integers(0, N // 2)))
    due = order[span[0]:span[1]]
    paid = rng.random(len(due)) < 0.7
    cashless = (1.0 - (1.0 - society.cols["cashless"][due]) * np.float32(share)).astype(np.float32)
    (kernel, k_state), (reference, r_state) = _world(society, seed), _world(society, seed)
    if in_due_order:  # the engine's way: flows kept in the due order, summed by citizen on reading
        below = kernel.month(day, due, k_state, paid, cashless, order, span)
    else:
        below = kernel.month(day, due, k_state, paid, cashless)
    expected = numpy_month(reference, day, due, r_state, paid, cashless)
    assert np.array_equal(below, expected)
    mine, theirs = _snapshot(kernel, k_state), _snapshot(reference, r_state)
    for name, value in theirs.items():
        assert value.dtype == mine[name].dtype and np.array_equal(value, mine[name]), name
    # the month's flows moved money whenever someone was due
    assert np.abs(theirs["flows"][[FLOWS.index(f) for f in MONTH_FLOWS]]).sum() > 0 or not len(due)


def test_the_reference_world_takes_every_branch(society):
    """The drawn world puts due citizens in each branch (else the bit-for-bit test proves little)."""
    e, state = _world(society, 1)
    due = np.arange(N // 2, dtype=np.int32)
    paid = np.ones(len(due), bool)
    cashless = society.cols["cashless"][due]
    below = e.month(10, due, state, paid, cashless)
    assert (e.lost > 0).sum() > 20 and (e.lost_wrongful > 0).sum() > 20
    assert (e.broke_first == 10).sum() > 20 and (e.broke_after_suspension >= 0).sum() > 5
    assert len(below) > 20 and (e.flows[FLOWS.index("fees")] < 0).sum() > 20
