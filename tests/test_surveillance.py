"""Surveillance: coverage, misattribution (false matches) and cash invisibility (S1-M3, S1-M4)."""

from __future__ import annotations

import numpy as np
import pytest

from _support import compiled, read, regime_dict, run_sim
from scorelab.society.model import SocietySpec, build_society
from scorelab.surveillance.observe import observe as _observe_split
from scorelab.tables import EventBatch
from scorelab.vocabulary import CASH, CHANNEL_INDEX, DIGITAL, EVENT_INDEX

N_CITIZENS = 1000


def _events(name: str, k: int, digital: bool = True, seed: int = 0) -> EventBatch:
    rng = np.random.default_rng(seed)
    return EventBatch.of(np.full(k, EVENT_INDEX[name], np.int16), rng.integers(0, N_CITIZENS, k).astype(np.int32),
                         np.full(k, DIGITAL if digital else CASH, np.int8), 0)


class _Seen:
    """The regime's records and the audit's truth of one observation, side by side."""

    def __init__(self, rec, truth) -> None:
        self.__dict__.update(rec.__dict__)
        self.true, self.actor, self.event_id = truth.true, truth.actor, truth.event_id

    def __len__(self) -> int:
        return len(self.citizen)


def observe(*args, **kw) -> _Seen:
    rec, truth = _observe_split(*args, **kw)
    assert np.array_equal(rec.record_id, truth.record_id)
    return _Seen(rec, truth)


def _scorer(channels: dict, event: str = "traffic_violation"):
    return compiled(regime_dict(channels=channels, rules=[{"name": "r", "event": event, "points": -5}])).scorers[0]


def _ch(**kw) -> dict:
    return {"assumption": True, **kw}


def test_full_coverage_records_every_event_truthfully():
    ev = _events("traffic_violation", 500)
    rec = observe(ev, _scorer({"cameras": _ch(coverage=1.0)}), day=3, seed=1, n_citizens=N_CITIZENS,
                  next_record_id=10)
    assert len(rec) == len(ev)
    assert rec.true.all() and np.array_equal(rec.citizen, rec.actor)
    assert np.array_equal(np.sort(rec.event_id), ev.event_id)
    assert np.array_equal(rec.record_id, np.arange(10, 10 + len(ev)))
    assert np.all(rec.channel == CHANNEL_INDEX["cameras"]) and np.all(rec.day_recorded == 3)


def test_zero_coverage_records_nothing():
    ev = _events("traffic_violation", 2000)
    scorer = _scorer({"cameras": _ch(coverage=0.0), "police": _ch(coverage=0.0)})
    for day in range(5):
        assert len(observe(ev, scorer, day=day, seed=1, n_citizens=N_CITIZENS, next_record_id=0)) == 0


def test_partial_coverage_records_about_its_share():
    ev = _events("traffic_violation", 20_000)
    rec = observe(ev, _scorer({"cameras": _ch(coverage=0.25)}), day=0, seed=1, n_citizens=N_CITIZENS,
                  next_record_id=0)
    # binomial(20000, 0.25): SD 61 records (0.003 as a share); tolerance 0.015 is 5 SD
    assert len(rec) / len(ev) == pytest.approx(0.25, abs=0.015)


def test_full_misattribution_makes_every_record_false_and_someone_elses():
    ev = _events("traffic_violation", 3000)
    rec = observe(ev, _scorer({"cameras": _ch(coverage=1.0, misattribution=1.0)}), day=0, seed=4,
                  n_citizens=N_CITIZENS, next_record_id=0)
    assert len(rec) == len(ev)
    assert not rec.true.any()
    assert np.all(rec.citizen != rec.actor)
    assert np.all((rec.citizen >= 0) & (rec.citizen < N_CITIZENS))
    # the actor is still known (the truth flag the regime never reads)
    by_id = dict(zip(ev.event_id.tolist(), ev.citizen.tolist(), strict=True))
    assert all(by_id[e] == a for e, a in zip(rec.event_id.tolist(), rec.actor.tolist(), strict=True))


def test_invented_reports_are_false_and_have_no_actor():
    ev = _events("traffic_violation", 0)
    rec = observe(ev, _scorer({"police": _ch(coverage=1.0, invented_per_million=50_000)}), day=0, seed=4,
                  n_citizens=N_CITIZENS, next_record_id=0)
    assert len(rec) > 0  # Poisson mean 50
    assert not rec.true.any() and np.all(rec.actor == -1) and np.all(rec.event_id == -1)


def test_channel_delay_sets_day_recorded():
    rec = observe(_events("traffic_violation", 50), _scorer({"cameras": _ch(coverage=1.0, delay_days=7)}),
                  day=10, seed=1, n_citizens=N_CITIZENS, next_record_id=0)
    assert np.all(rec.day_event == 10) and np.all(rec.day_recorded == 17)


def test_cash_purchases_are_invisible_to_payments():
    scorer = _scorer({"payments": _ch(coverage=1.0)}, event="junk_food_purchase")
    cash = observe(_events("junk_food_purchase", 1000, digital=False), scorer, day=0, seed=1,
                   n_citizens=N_CITIZENS, next_record_id=0)
    assert len(cash) == 0
    paid = observe(_events("junk_food_purchase", 1000, digital=True), scorer, day=0, seed=1,
                   n_citizens=N_CITIZENS, next_record_id=0)
    assert len(paid) == 1000


def test_coverage_zero_run_has_no_records_and_no_points(tmp_path):
    soc = build_society(SocietySpec(citizens=2000, seed=1))
    regime = regime_dict(channels={"cameras": _ch(coverage=0.0), "police": _ch(coverage=0.0)},
                         rules=[{"name": "r", "event": "traffic_violation", "points": -5}])
    res = run_sim(soc, regime, 30, 1, tmp_path)
    assert res.event_counts[:, EVENT_INDEX["traffic_violation"]].sum() > 0
    assert len(read(tmp_path, "records.parquet")) == 0
    assert len(read(tmp_path, "ledger.parquet")) == 0
    assert np.all(res.runtimes[0].score == 1000)


def test_cashless_share_zero_gives_no_purchase_records(tmp_path):
    """S1-M3: in an all-cash society the payments channel sees no purchase at all."""
    society = build_society(SocietySpec(citizens=3000, seed=2, cashless_share=0.0))
    assert np.all(society.cols["cashless"] == 0)
    data = regime_dict(channels={"payments": _ch(coverage=1.0)},
                       rules=[{"name": "junk", "event": "junk_food_purchase", "points": -1}])
    run_sim(society, data, days=40, seed=2, folder=tmp_path)
    assert len(read(tmp_path, "records.parquet")) == 0
    # the purchases did happen (events.parquet keeps 'notable' acts only, so count them here)
    counts = read(tmp_path, "event_counts.parquet")
    assert counts[counts.event_type == "junk_food_purchase"]["count"].sum() > 0


def test_cashless_share_one_is_accepted():
    society = build_society(SocietySpec(citizens=500, seed=2, cashless_share=1.0))
    assert np.all(society.cols["cashless"] == 1)


def test_misattribution_in_a_one_citizen_society_does_not_crash():
    """With nobody else to mistake them for, a false match cannot happen: records stay true."""
    ev = EventBatch.of(np.full(5, EVENT_INDEX["traffic_violation"], np.int16), np.zeros(5, np.int32),
                       np.zeros(5, np.int8), 0)
    rec = observe(ev, _scorer({"cameras": _ch(coverage=1.0, misattribution=1.0)}), day=0, seed=1, n_citizens=1,
                  next_record_id=0)
    assert len(rec) == 5 and rec.true.all() and np.all(rec.citizen == 0)
