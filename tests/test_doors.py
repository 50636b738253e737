"""Closed doors that stay closed (issue 9): against the paired baseline, and as properties of every preset.

- A year of `unified` on 50,000 citizens with its baseline (common random numbers): refused travellers
  try fewer trips after their first refusal than the same citizens in the baseline; no flight or
  high-speed train is taken while on a list that bars it; no cash payment meets a refusal at a gate
  that checks payments.
- For every preset, on small societies and any seed: a refused attempt is never made or recorded; cash
  never meets a payment-checked refusal; every yuan that moved is in the ledger of money.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _support import read
from scorelab import api
from scorelab.consequences.economy import FLOWS
from scorelab.regime.loader import preset_names
from scorelab.vocabulary import EVENTS

PAYMENT_CHECKED = [e.name for e in EVENTS if e.check == "payment"]
TRIPS = ["flight_purchase", "rail_purchase"]


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """unified, 50,000 x 365, seed 1, with its `none` baseline; every event written."""
    out = tmp_path_factory.mktemp("doors")
    folder = api.run("unified", citizens=50_000, days=365, seed=1, out=out, events="all")
    base = out / api.describe_run(folder)["baseline"]
    return folder, base


def _trip_attempts_after(events: pd.DataFrame, first: pd.Series) -> int:
    trips = events[events.event_type.isin(TRIPS) & events.citizen.isin(first.index)]
    return int((trips.day.to_numpy() > first.loc[trips.citizen].to_numpy()).sum())


def test_refused_travellers_try_fewer_trips_than_their_baseline_selves(year):
    folder, base = year
    ev = read(folder, "events.parquet")
    refused = ev[ev.event_type.isin(TRIPS) & ev.outcome.isin(["refused", "substituted"])]
    first = refused.groupby("citizen").day.min()
    assert len(first) >= 30, "too few refused travellers to compare"
    after_run = _trip_attempts_after(ev, first)
    after_base = _trip_attempts_after(read(base, "events.parquet"), first)
    # they learn (each refusal halves their rate of trying); the same draws in the baseline keep trying
    assert after_run < 0.8 * after_base, (after_run, after_base)


def _barred_days(lists: pd.DataFrame, names: list[str], days: int) -> set[tuple[int, int]]:
    """(citizen, day) pairs on which the citizen was on one of the lists when the day's gates decided:
    from the day after entering to the day of leaving (exits come after the day's gates)."""
    rows = lists[lists.list.isin(names)].sort_values(["citizen", "list", "day", "action"])
    barred: set[tuple[int, int]] = set()
    for (cit, _), spells in rows.groupby(["citizen", "list"]):
        start = None
        for day, action in zip(spells.day, spells.action, strict=True):
            if action == "enter":
                start = day
            elif start is not None:
                barred.update((cit, d) for d in range(start + 1, day + 1))
                start = None
        if start is not None:
            barred.update((cit, d) for d in range(start + 1, days))
    return barred


def test_no_flight_or_train_is_taken_while_on_a_list_that_bars_it(year):
    folder, _ = year
    ev = read(folder, "events.parquet")
    lists = read(folder, "list_events.parquet")
    made = ev[ev.outcome == "made"]
    for trip, barring in (("flight_purchase", ["state:black", "state:no_fly"]), ("rail_purchase", ["state:black"])):
        barred = _barred_days(lists, barring, 365)
        taken = made[made.event_type == trip]
        hits = [(c, d) for c, d in zip(taken.citizen, taken.day, strict=True) if (c, d) in barred]
        assert not hits, f"{trip} taken while barred: {hits[:5]}"
        assert len(barred) > 1000  # the lists were not empty


def test_cash_never_meets_a_payment_checked_refusal(year):
    folder, _ = year
    ev = read(folder, "events.parquet").set_index("event_id")
    ms = read(folder, "measures.parquet")
    refusals = ms[(ms.effect == "refuse") & ms.event_type.isin(PAYMENT_CHECKED)]
    assert len(refusals) > 50
    paid = ev.loc[refusals.event_id, "paid"]
    assert (paid == "digital").all()
    cash_restaurants = ev[(ev.event_type == "restaurant_visit") & (ev.paid == "cash")]
    assert len(cash_restaurants) > 1000 and (cash_restaurants.outcome != "refused").sum() > 0


# ------------------------------------------------------------------ properties of every preset
PRESETS = [p for p in preset_names() if p != "none"]


@settings(max_examples=len(PRESETS) * 2, deadline=None)
@given(preset=st.sampled_from(PRESETS), seed=st.integers(0, 2**16))
def test_refused_is_never_made_cash_escapes_and_money_is_conserved(tmp_path_factory, preset, seed):
    out = tmp_path_factory.mktemp("prop")
    folder = api.run(preset, citizens=2_000, days=45, seed=seed, out=out, baseline=None, events="all")
    ev = read(folder, "events.parquet")
    not_made = set(ev.event_id[ev.outcome.isin(["refused", "substituted", "full", "unable"])])
    rec = read(folder, "records.parquet")
    assert not not_made & set(rec.event_id), "a record of an attempt that did not happen"
    ms = read(folder, "measures.parquet")
    refuse = ms[(ms.effect == "refuse") & (ms.event_id >= 0)]
    by_id = ev.set_index("event_id")
    assert by_id.loc[refuse.event_id, "outcome"].isin(["refused", "substituted"]).all()
    gated_cash = refuse[refuse.event_type.isin(PAYMENT_CHECKED)]
    assert (by_id.loc[gated_cash.event_id, "paid"] == "digital").all()
    cit = pq.read_table(folder / "citizens.parquet").to_pandas()
    flows = sum(cit[f"money_{f}"].to_numpy() for f in FLOWS)
    np.testing.assert_allclose(cit.savings.to_numpy(), cit.savings_initial.to_numpy() + flows,
                               rtol=1e-5, atol=0.05)  # float32 columns: a few cents of rounding
