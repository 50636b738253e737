"""The audit (scorelab.audit): wrongful flags answer a counterfactual question, and ways back undo
what a false record caused. Records and their truth are handed to a real scorer and its auditor
(the engine's own pieces) so that which records are false is under the test's control.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from _support import compiled, regime_dict
from scorelab.audit.auditor import Auditor
from scorelab.consequences.network import Households, Network
from scorelab.ledger.recorder import Recorder
from scorelab.regime.scorer import Scorer
from scorelab.society.graph import household_groups
from scorelab.tables import CitizenState, Records, RecordTruth, symmetric_csr
from scorelab.vocabulary import CHANNEL_INDEX, EVENT_INDEX

N = 8


class Bench:
    """A scorer, its auditor and a recorder over N citizens; households and contacts by hand."""

    def __init__(self, data: dict, folder, household=None, contacts=()):
        self.cr = compiled(data)
        cs = self.cr.scorers[0]
        cols = {"age": np.full(N, 40, np.int16), "sector": np.full(N, 4, np.int8), "has_loan": np.zeros(N, bool),
                "aware": np.zeros(N, bool), "online": np.ones(N, bool), "account": np.ones(N, np.int8),
                "college": np.zeros(N, bool), "seller": np.zeros(N, bool),
                "household": np.asarray(household if household is not None else np.arange(N), np.int32)}
        self.state = CitizenState.of(cols)
        hi, hm = household_groups(cols["household"])
        a = np.array([p[0] for p in contacts], np.int64)
        b = np.array([p[1] for p in contacts], np.int64)
        gi, gx = symmetric_csr(N, a, b) if contacts else (np.zeros(N + 1, np.int64), np.empty(0, np.int32))
        self.folder = folder
        self.recorder = Recorder(folder, [cs.name], self.cr.labels, [f"{cs.name}:{lst.name}" for lst in cs.lists])
        self.auditor = Auditor(cs, N, self.recorder, 1, 0)
        self.scorer = Scorer(cs, N, Households(self.state.household, hi, hm), Network(gi, gx), self.state,
                             cols["age"], 1, self.auditor, self.auditor, 0, 1000)
        self.auditor.scorer = self.scorer
        self.next_id = 0

    def records(self, day: int, citizens, event: str, true) -> None:
        k = len(citizens)
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        rec = Records(ids, np.asarray(citizens, np.int32), np.full(k, EVENT_INDEX[event], np.int16),
                      np.full(k, CHANNEL_INDEX["police"], np.int8), np.full(k, day, np.int16),
                      np.full(k, day, np.int16))
        truth = RecordTruth(ids, np.arange(k, dtype=np.int64), np.asarray(citizens, np.int32),
                            np.broadcast_to(np.asarray(true, bool), (k,)).copy())
        self.auditor.learn(truth)
        self.scorer.receive(rec)

    def run(self, first: int, last: int) -> None:
        for day in range(first, last + 1):
            self.scorer.process_day(day)
            for dec in self.auditor.take_decisions():  # as the engine does, once effects are applied
                self.recorder.decisions(dec)

    def table(self, name: str):
        self.recorder.close()
        df = pq.read_table(self.folder / f"{name}.parquet").to_pandas()
        for c in df.columns:
            if str(df[c].dtype) == "category":
                df[c] = df[c].astype(str)
        return df


def _no_fly(min_count: int) -> dict:
    return regime_dict(rules=[{"name": "trip", "event": "undesirable_trip", "points": -1}],
                       lists=[{"name": "nofly", "kind": "no_fly",
                               "entry": {"records": ["undesirable_trip"], "min_count": min_count}}],
                       sanctions=[{"name": "grounded", "domain": "travel", "on_list_entry": "nofly",
                                   "effect": "dismiss"}])


@pytest.mark.parametrize(("truths", "wrongful"), [
    ((False, False, True), True),   # listed by the third record, but only one of three is true
    ((True, True, False), True),    # two true records are not three
    ((True, True, True), False),    # the truth alone lists them
    ((False, True, True), True),    # order does not matter: two true of three
])
def test_min_count_listing_is_wrongful_when_true_records_alone_would_not_list(tmp_path, truths, wrongful):
    b = Bench(_no_fly(3), tmp_path)
    for day, true in enumerate(truths):
        b.records(day, [0], "undesirable_trip", true)
    b.run(0, len(truths))
    lists = b.table("list_events")
    enter = lists[lists.action == "enter"]
    assert len(enter) == 1 and bool(enter.wrongful.iloc[0]) == wrongful
    dec = pq.read_table(tmp_path / "measures.parquet").to_pandas()
    assert len(dec) == 1 and bool(dec.wrongful.iloc[0]) == wrongful  # the listing's measure inherits it


def _appeals(**association) -> dict:
    data = regime_dict(rules=[{"name": "theft", "event": "theft_mischief", "points": -100}],
                       lists=[{"name": "black", "kind": "black", "entry": {"records": ["theft_mischief"]}}],
                       association={"household_share": 0.5, "contact_share": 0.1, **association})
    data["scorers"][0]["appeals"] = {"assumption": True, "probability": 1.0, "success_if_false": 1.0,
                                     "success_if_true": 0.0, "delay_days": 10}
    return data


def test_a_won_appeal_undoes_what_the_false_record_caused(tmp_path):
    """Own points, the household's and contacts' association points, and the listing it rested on."""
    b = Bench(_appeals(), tmp_path, household=[0, 0, 1, 2, 3, 4, 5, 6], contacts=[(0, 2), (0, 3)])
    b.records(1, [0], "theft_mischief", False)   # a false match puts a theft on citizen 0
    b.records(1, [4], "theft_mischief", True)    # citizen 4 really stole: appealed, not won
    b.run(1, 5)
    assert b.scorer.score[[0, 1, 2, 3]].tolist() == [900, 950, 990, 990]
    assert b.scorer.member[0, 0] and b.scorer.member[0, 4]
    b.run(6, 12)  # decided on day 11
    assert b.scorer.score[[0, 1, 2, 3]].tolist() == [1000, 1000, 1000, 1000]
    assert not b.scorer.member[0, 0] and b.scorer.member[0, 4] and b.scorer.score[4] == 900
    ledger = b.table("ledger")
    back = ledger[ledger.rule.str.contains(":appeal:")]
    assert sorted(back.citizen.tolist()) == [0, 1, 2, 3]
    assert (ledger.groupby("citizen").delta.sum().reindex([0, 1, 2, 3]) == 0).all()
    lists = pq.read_table(tmp_path / "list_events.parquet").to_pandas()
    exit_ = lists[(lists.citizen == 0) & (lists.action.astype(str) == "exit")]
    assert exit_.reason.astype(str).tolist() == ["appeal"] and exit_.day.tolist() == [11]


def _tier_list(success_if_true: float) -> dict:
    data = regime_dict(rules=[{"name": "theft", "event": "theft_mischief", "points": -500},
                              {"name": "ticket", "event": "traffic_violation", "points": -5},
                              {"name": "help", "event": "helping_elderly", "points": 5}],
                       tiers=[{"name": "A", "min": 800}, {"name": "D", "min": 0}],
                       lists=[{"name": "black", "kind": "black", "entry": {"tiers": ["D"]},
                               "exit": {"appeal": {"probability": 1.0, "success_if_false": 1.0,
                                                   "success_if_true": success_if_true, "delay_days": 5}}}])
    return data


def test_a_won_list_appeal_holds_until_a_new_penalty(tmp_path):
    """Won on appeal, the tier listing ends and stays ended at the next score change; a new penalty
    is a new cause and lists the citizen again."""
    b = Bench(_tier_list(1.0), tmp_path)
    b.records(1, [0], "theft_mischief", True)  # 1000 - 500 = 500: tier D, listed; the appeal will win
    b.run(1, 6)
    assert not b.scorer.member[0, 0]           # out on day 6
    b.records(8, [0], "helping_elderly", True)  # a score change that is no new cause
    b.run(7, 9)
    assert not b.scorer.member[0, 0]
    b.records(10, [0], "traffic_violation", True)  # a new penalty: listed again
    b.run(10, 10)
    assert b.scorer.member[0, 0]


def test_a_lost_list_appeal_keeps_the_listing(tmp_path):
    b = Bench(_tier_list(0.0), tmp_path)
    b.records(1, [0], "theft_mischief", True)
    b.run(1, 10)
    assert b.scorer.member[0, 0]


def test_ties_formed_during_a_run_can_be_cut():
    net = Network(np.zeros(5, np.int64), np.empty(0, np.int32))  # four citizens, no ties at first
    net.add_ties(np.array([0, 0]), np.array([1, 2]))
    assert net.degree().tolist() == [2, 1, 1, 0]
    target, contact = net.avoid(np.array([0]), 1.0, seed=1, key=0, day=3)
    assert sorted(contact.tolist()) == [1, 2] and target.tolist() == [0, 0]
    assert net.degree().tolist() == [0, 0, 0, 0]
    net.add_ties(np.array([3]), np.array([2]))  # later ties rebuild the CSR; the cut ones stay cut
    assert net.degree().tolist() == [0, 0, 1, 1]
    net.add_ties(np.array([1]), np.array([0]))  # a tie formed again lives again
    assert net.degree().tolist() == [1, 1, 1, 1]
    _, nb = net.neighbours(np.array([0]))
    assert nb.tolist() == [1]
