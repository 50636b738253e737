"""Each effect's handler alone (consequences/registry.py): decisions in, changed circumstances out.

A tiny hand-made world; every test builds the decisions a scorer would have made and checks
what the handler did to the events, money, jobs, accounts, access and habits.
"""

from __future__ import annotations

import numpy as np
import pytest

from scorelab.consequences import registry
from scorelab.consequences.economy import FLOWS, Economy, EconomyParams
from scorelab.consequences.network import Households, Network
from scorelab.consequences.world import World
from scorelab.society.model import SocietySpec, build_society
from scorelab.tables import CitizenState, Decisions, EventBatch
from scorelab.vocabulary import (
    ACCOUNT_CLOSED,
    ACCOUNT_OPEN,
    CASH,
    DIGITAL,
    EFFECTS,
    EVENT_INDEX,
    MADE,
    REFUSED,
    SECTOR_INDEX,
    SUBSTITUTED,
    UNEMPLOYED,
    UNPAID,
)


@pytest.fixture()
def world():
    soc = build_society(SocietySpec(citizens=400, seed=3))
    params = EconomyParams.of("census2020")
    state = CitizenState.of(soc.cols)
    eco = Economy(soc.cols, 1, params)
    w = World(1, params, soc.cols, state, eco, Network(soc.graph_indptr, soc.graph_indices),
              Households(state.household, soc.household_indptr, soc.household_members))
    return w


def _events(world: World, names: list[str], citizens: list[int], paid=None) -> EventBatch:
    etype = [EVENT_INDEX[n] for n in names]
    ev = EventBatch.of(etype, citizens, paid if paid is not None else [UNPAID] * len(names), 100)
    world.begin_day(5, ev)
    return ev


def _decisions(effect: str, citizens, ev: EventBatch | None = None, positions=None, *, price_factor=1.0,
               duration=30, rate_factor=1.0, wrongful=False, event_type=-1) -> Decisions:
    k = len(citizens)
    event_id = ev.event_id[positions] if ev is not None else np.full(k, -1)
    etype = ev.etype[positions] if ev is not None else np.full(k, event_type)
    return Decisions(np.full(k, 5, np.int16), np.asarray(citizens, np.int32), np.zeros(k, np.int16),
                     np.zeros(k, np.int16), np.zeros(k, np.int8), np.full(k, EFFECTS.index(effect), np.int8),
                     np.zeros(k, np.int8), np.asarray(event_id, np.int64), np.asarray(etype, np.int16),
                     np.full(k, -1, np.int64), np.asarray(citizens, np.int32), np.full(k, price_factor),
                     np.full(k, duration, np.int16), np.full(k, rate_factor), np.zeros(k),
                     np.broadcast_to(np.asarray(wrongful, bool), (k,)).copy())


def test_refuse_stops_the_attempt_and_a_trip_may_be_replaced(world):
    world.params = world.params.__class__(**{**world.params.__dict__, "substitute_share": 1.0})
    ev = _events(world, ["rail_purchase", "restaurant_visit", "rail_purchase"], [1, 2, 3])
    registry.apply(_decisions("refuse", [1, 2], ev, [0, 1], wrongful=[True, False]), world)
    assert ev.outcome.tolist() == [SUBSTITUTED, REFUSED, MADE]  # a trip has a slower way; a meal does not
    assert world.wrongful.tolist() == [True, False, False]


def test_refuse_is_rightful_when_any_refusal_is(world):
    ev = _events(world, ["restaurant_visit"], [7])
    registry.apply(Decisions.concat([_decisions("refuse", [7], ev, [0], wrongful=True),
                                     _decisions("refuse", [7], ev, [0], wrongful=False)]), world)
    assert ev.outcome[0] == REFUSED and not world.wrongful[0]


def test_price_charges_a_made_purchase_and_carries_a_loan_factor(world):
    ev = _events(world, ["flight_purchase", "loan_application", "flight_purchase"], [4, 5, 6])
    before = world.economy.savings.copy()
    dec = Decisions.concat([_decisions("refuse", [6], ev, [2]),
                            _decisions("price", [4, 5, 6], ev, [0, 1, 2], price_factor=1.2)])
    registry.apply(dec, world)
    fare = world.economy.prices[EVENT_INDEX["flight_purchase"]]
    assert world.economy.savings[4] - before[4] == pytest.approx(-0.2 * fare)
    assert world.economy.savings[6] == before[6]  # refused: no surcharge
    assert world.loan_factor[1] == pytest.approx(1.2) and world.economy.savings[5] == before[5]
    assert dec.money[1] == pytest.approx(-0.2 * fare) and dec.money[3] == 0.0


def test_priority_and_waived_deposit_mark_the_attempt(world):
    ev = _events(world, ["venue_visit", "rental"], [8, 9])
    registry.apply(Decisions.concat([_decisions("priority", [8], ev, [0]),
                                     _decisions("waive_deposit", [9], ev, [1])]), world)
    assert world.priority.tolist() == [True, False] and world.waived.tolist() == [False, True]


def test_suspend_freezes_digital_savings_and_blocks_digital_payments(world):
    who = 10
    world.economy.savings[who] = 1000.0
    world.cols["cashless"][who] = 0.8
    ev = _events(world, ["large_purchase"], [who], paid=[DIGITAL])
    registry.apply(_decisions("suspend", [who], duration=30, wrongful=True), world)
    assert world.economy.savings[who] == pytest.approx(200.0)
    assert world.economy.frozen[who] == pytest.approx(800.0) and world.economy.suspension_wrongful[who]
    world.params = world.params.__class__(**{**world.params.__dict__, "cash_acceptance": 0.0})
    from scorelab.consequences.payments import block_digital_payments

    block_digital_payments(world)
    assert ev.outcome[0] == REFUSED and world.wrongful[0]


def test_dismiss_ends_work_and_counts_the_months_without_it(world):
    st = world.state
    who = int(np.flatnonzero(st.sector == SECTOR_INDEX["manufacturing"])[0])
    registry.apply(_decisions("dismiss", [who], wrongful=True), world)
    assert st.sector[who] == UNEMPLOYED and world.economy.dismissed[who]
    due = np.array([who])
    world.economy.month(30, due, st, np.zeros(1, bool), np.ones(1))
    p = world.params
    assert world.economy.lost_wrongful[who] == pytest.approx(world.economy.monthly[who] * (1 - p.unemployed_income))


def test_alert_is_a_stop_tomorrow_with_hours_lost(world):
    st = world.state
    who = int(np.flatnonzero(st.sector == SECTOR_INDEX["services"])[0])
    world.day = 5
    registry.apply(_decisions("alert", [who]), world)
    assert world.police_contacts[who] == 1 and world.police_due[6][0].tolist() == [who]
    assert world.economy.lost[who] == pytest.approx(3 * world.economy.monthly[who] / 174)


def test_close_account_leaves_cash(world):
    st = world.state
    who = int(np.flatnonzero(st.account == ACCOUNT_OPEN)[0])
    registry.apply(_decisions("close_account", [who], wrongful=True), world)
    assert st.account[who] == ACCOUNT_CLOSED and world.accounts_closed_wrongful[who]


def test_cut_internet_until_a_day_then_back(world):
    st = world.state
    who = int(np.flatnonzero(st.online)[0])
    world.day = 5
    registry.apply(_decisions("cut_internet", [who], duration=10), world)
    assert not st.online[who] and st.online_back[who] == 15
    from scorelab.consequences import internet

    world.day = 15
    internet.restore(world)
    assert st.online[who] and st.online_back[who] == -1


def test_advice_and_coupons_change_a_habit(world):
    k = EVENT_INDEX["junk_food_purchase"]
    registry.apply(Decisions.concat([_decisions("advice", [1], rate_factor=0.5, event_type=k),
                                     _decisions("coupon", [2], rate_factor=1.5, event_type=k)]), world)
    assert world.state.rate_mod[k][1] == pytest.approx(0.5) and world.state.rate_mod[k][2] == pytest.approx(1.5)


def test_every_flow_is_counted(world):
    """The ledger of money: whatever moves, savings = start + the flows."""
    eco = world.economy
    start = eco.savings.copy()
    cit = np.arange(50)
    eco.pay(cit, 10.0, "measures", 1)
    eco.suspend(cit[:10], 2, np.full(10, 5), np.zeros(10, bool), np.full(10, 0.5))
    eco.lock_deposits(cit[10:20], np.full(10, 300.0), 3)
    eco.month(4, cit, world.state, np.ones(50, bool), np.full(50, 0.9))
    eco.step(8)  # the suspension ends: frozen money back
    np.testing.assert_allclose(eco.savings, start + eco.flows.sum(axis=0), rtol=0, atol=1e-6)
    assert set(FLOWS) >= {"frozen", "deposits", "income", "living", "measures"}
    assert CASH != DIGITAL


@pytest.mark.parametrize("seed", [1, 2])
def test_the_offline_are_not_cut_twice(tmp_path, seed):
    """Citizens who never had internet access leave out the online share of an act when they draw it
    (behaviour/draw.py); the day's consequences must not cut that share again. Only a regime's cut
    (online_back >= 0) refuses online attempts, so with no regime no act is `unable` for want of
    internet: the only `unable` attempts are those that need a bank account the citizen lacks."""
    import duckdb

    from scorelab import api
    from scorelab.vocabulary import EVENTS

    folder = api.run("none", citizens=4000, days=40, seed=seed, runs=tmp_path, baseline=None, events="all")
    unable = duckdb.sql(f"SELECT event_type, count(*) FROM '{folder}/events.parquet' WHERE outcome = 'unable' "
                        "GROUP BY 1").fetchall()
    needs_account = {e.name for e in EVENTS if "account" in e.needs}
    assert {t for t, _ in unable} <= needs_account, unable
    offline_games = duckdb.sql(
        f"SELECT count(*) FROM '{folder}/events.parquet' e JOIN '{folder}/citizens.parquet' c USING (citizen) "
        "WHERE e.event_type = 'gaming_purchase' AND NOT c.online").fetchall()[0][0]
    assert offline_games > 0  # the offline part of gaming purchases is still made


def test_leaving_a_household_keeps_the_groups_exact():
    """issue 12: Households.leave updates its CSR in place of a re-sort of every citizen; the groups must
    be exactly those household_groups gives for the new household column, after any sequence of leavers."""
    from hypothesis import given, settings
    from hypothesis import strategies as hs

    from scorelab.society.graph import household_groups

    @settings(max_examples=150, deadline=None)
    @given(hs.lists(hs.integers(0, 12), min_size=1, max_size=40), hs.lists(hs.lists(hs.integers(0, 39), max_size=5),
                                                                            max_size=6))
    def check(ids, leavers):
        household = np.unique(np.array(ids), return_inverse=True)[1].astype(np.int32)
        indptr, members = household_groups(household)
        hh = Households(household.copy(), indptr, members)
        for group in leavers:
            cit = np.array(list(dict.fromkeys(c for c in group if c < len(household))), np.int32)  # drawn order
            hh.leave(cit)
            want_indptr, want_members = household_groups(hh.household)
            assert np.array_equal(hh.indptr, want_indptr) and np.array_equal(hh.members, want_members)

    check()
