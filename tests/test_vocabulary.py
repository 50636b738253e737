"""The vocabulary names every behaviour of the issues, each traced to a mechanism id, with the
attributes that say how it meets the system; the world's rates cover every drawn act."""

from __future__ import annotations

import re

import pytest
import yaml

from _support import MECHANISMS_MD, preset_text
from scorelab.behaviour.catalogue import RATES, rate_of
from scorelab.regime.schema import Measure, Regime
from scorelab.vocabulary import (
    CHANNELS,
    CHECKS,
    EFFECT_TABLE,
    EFFECTS,
    ELIGIBILITY,
    EVENT_INDEX,
    PURPOSES,
    channel_observes,
)
from scorelab.vocabulary import EVENTS as CATALOGUE
from scorelab.vocabulary import event_kind as event_type

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
    assert e.polarity in (-1, 0, 1)
    assert 0 <= e.min_age <= e.max_age
    assert e.check in CHECKS and e.purpose in PURPOSES
    assert e.eligible is None or e.eligible in ELIGIBILITY
    assert set(e.needs) <= {"account", "internet"} and 0 <= e.online_share <= 1
    if e.schedule is None:
        assert rate_of(e.name).per_day > 0, f"{e.name} would never happen"
    if e.antisocial:
        assert e.polarity < 0
    if e.category == "attempt":
        assert e.check != "none", f"attempt {e.name} must say how a gate recognises the citizen"
    if e.check == "payment":
        assert e.paid, f"{e.name}: a gate can check a payment only where there is one"
    if e.substitute:
        assert e.purpose == "trip" and e.substitute_hours > 0


def test_rates_name_only_events_of_the_vocabulary():
    assert set(RATES) <= set(EVENT_INDEX)
    assert all(r.per_day > 0 for r in RATES.values())


def test_purchases_are_seen_by_payments_only_through_digital_payment():
    for name in ("junk_food_purchase", "alcohol_purchase", "gaming_purchase"):
        e = event_type(name)
        assert e.paid and e.check == "payment" and e.channels == ("payments",)


def test_id_checked_gates_are_the_ones_the_issue_names():
    """Tickets, flights, hotels, enrolment, hiring, loans and account opening cannot be escaped."""
    for name in ("flight_purchase", "rail_purchase", "rental", "college_application", "school_enrolment",
                 "job_application", "loan_application", "account_opening"):
        assert event_type(name).check == "id", name
    for name in ("restaurant_visit", "venue_visit", "large_purchase"):
        assert event_type(name).check == "payment", name


def test_schema_literals_come_from_the_vocabulary():
    """One home: the regime language allows exactly the vocabulary's effects, domains and list kinds."""
    from typing import get_args

    assert set(get_args(Measure.model_fields["effect"].annotation)) == set(EFFECTS)
    from scorelab.regime.schema import ListDef
    from scorelab.vocabulary import DOMAINS, LIST_KINDS

    assert set(get_args(Measure.model_fields["domain"].annotation)) == set(DOMAINS)
    assert set(get_args(ListDef.model_fields["kind"].annotation)) == set(LIST_KINDS)
    assert Regime  # the schema imports cleanly from the vocabulary


def test_every_effect_has_a_handler():
    from scorelab.consequences import registry

    registry._load()
    assert set(registry.HANDLERS) == set(EFFECTS) == {e.name for e in EFFECT_TABLE}


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
