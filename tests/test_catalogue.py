"""The event catalogue names every behaviour of the issue, each traced to a mechanism id."""

from __future__ import annotations

import re

import pytest
import yaml

from _support import MECHANISMS_MD, preset_text
from scorelab.behaviour.catalogue import CATALOGUE, CHANNELS, EVENT_INDEX, channel_observes, event_type

# The behaviours issue 2 lists, by their catalogue names.
ISSUE_BEHAVIOURS = [
    "loan_on_time", "loan_late", "loan_missed", "loan_default", "min_balance_breach", "court_judgment_unpaid",
    "traffic_violation", "drunk_driving", "theft_mischief", "embezzlement", "volunteering", "helping_elderly",
    "blood_donation", "heroic_act", "dog_fouling", "noise_complaint", "junk_food_purchase", "alcohol_purchase",
    "gaming_purchase", "foreign_trip", "undesirable_trip", "online_benign", "illegal_site_visit", "antigov_post",
    "antigov_site_visit", "snarky_comment", "restricted_place", "against_crowd",
]


@pytest.fixture(scope="module")
def mechanism_ids() -> set[str]:
    if not MECHANISMS_MD.is_file():
        pytest.skip(f"{MECHANISMS_MD} is not available on this machine")
    ids = set(re.findall(r"^\|\s*(S\d-[MN]\d+)\s*\|", MECHANISMS_MD.read_text(), flags=re.M))
    assert len(ids) >= 20  # the table was parsed
    return ids


@pytest.mark.parametrize("name", ISSUE_BEHAVIOURS)
def test_issue_behaviour_exists(name):
    assert name in EVENT_INDEX
    e = event_type(name)
    assert e.name == name and e.description


def test_names_are_unique_and_indexed():
    assert len(EVENT_INDEX) == len(CATALOGUE)
    assert all(CATALOGUE[i].name == n for n, i in EVENT_INDEX.items())


@pytest.mark.parametrize("e", CATALOGUE, ids=lambda e: e.name)
def test_event_type_is_traced_to_a_mechanism(e, mechanism_ids):
    assert e.mechanisms, f"{e.name} names no mechanism"
    unknown = set(e.mechanisms) - mechanism_ids
    assert not unknown, f"{e.name} names mechanisms not in mechanisms.md: {unknown}"


@pytest.mark.parametrize("e", CATALOGUE, ids=lambda e: e.name)
def test_event_type_is_well_formed(e):
    assert e.channels and set(e.channels) <= set(CHANNELS)
    assert e.rate >= 0 and e.polarity in (-1, 0, 1)
    assert 0 <= e.min_age <= e.max_age
    if e.schedule is None and e.category != "attempt":
        assert e.rate > 0, f"{e.name} would never happen"
    if e.antisocial:
        assert e.polarity < 0


def test_purchases_are_seen_by_payments_only_through_digital_payment():
    for name in ("junk_food_purchase", "alcohol_purchase", "gaming_purchase"):
        e = event_type(name)
        assert e.purchase and e.channels == ("payments",)


def test_channel_observes_matrix():
    m = channel_observes()
    assert len(m) == len(CHANNELS) and all(len(row) == len(CATALOGUE) for row in m)
    for ci, ch in enumerate(CHANNELS):
        for ei, e in enumerate(CATALOGUE):
            assert m[ci][ei] == (ch in e.channels)


def test_preset_mechanisms_exist(mechanism_ids):
    for preset in ("unified", "none"):
        listed = yaml.safe_load(preset_text(preset)).get("mechanisms") or []
        assert set(listed) <= mechanism_ids
