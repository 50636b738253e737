"""Reforms (issue 11 part 2): `--set PATH=VALUE`, `overrides=` in the API, the scenario runner's `set:`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from _support import preset_text
from scorelab import api
from scorelab.behaviour.catalogue import CHANNELS
from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.reform import Reform, field_kind, parse_assignments
from scorelab.regime.loader import load_regime, validate_regime
from scorelab.scenario.model import Scenario
from scorelab.scenario.runner import scenario_regime

CAMERAS = "scorers.state.channels.cameras.misattribution"


def test_paths_walk_mappings_by_key_and_lists_by_name_or_index():
    r = Reform.of({CAMERAS: 0.01, "scorers.state.association.contact_share": 0.3,
                   "scorers.state.sanctions.flight_ban.probability": 0.25, "scorers.state.rules.0.points": -7,
                   "deterrence.certainty_exponent": 2})
    regime = r.load_regime("unified").regime
    s = regime.scorers[0]
    assert s.channels["cameras"].misattribution == 0.01
    assert s.association.contact_share == 0.3
    assert next(m for m in s.sanctions if m.name == "flight_ban").probability == 0.25
    assert s.rules[0].points == -7
    assert regime.deterrence.certainty_exponent == 2
    # everything else is as in the preset
    base = load_regime("unified").regime.scorers[0]
    assert s.channels["police"] == base.channels["police"] and s.rules[1:] == base.rules[1:]


def test_a_missing_block_the_schema_allows_is_created():
    r = Reform.of({"scorers.state.rules.theft.remediation.days": 7,
                   "scorers.state.rules.theft.remediation.probability": 0.5})
    rule = next(x for x in r.load_regime("unified").regime.scorers[0].rules if x.name == "theft")
    assert rule.remediation.days == 7 and rule.remediation.probability == 0.5


@pytest.mark.parametrize("path, value, key, allowed", [
    ("scorers.stat.channels.cameras.misattribution", 0.1, "scorers.stat", "state"),
    ("scorers.state.channels.camera.miss", 0.1, "scorers.state.channels.camera", "cameras"),
    ("scorers.state.sanctions.flight_bann.probability", 0.1, "scorers.state.sanctions.flight_bann", "flight_ban"),
    ("scorers.state.association.contact_shar", 0.1, "scorers.state.association.contact_shar", "contact_share"),
    (CAMERAS, 2, CAMERAS, "a number from 0 to 1"),
    ("scorers.state.sanctions.flight_ban.domain", "sky", "scorers.state.sanctions.flight_ban.domain", "travel"),
    ("scorers.state.score.initial.x", 1, "scorers.state.score.initial.x", "set scorers.state.score.initial"),
    ("society.mean_degree", -1, "society.mean_degree", "a number from 0 to 200"),
    ("society.citizens", 10, "society.citizens", "mean_degree"),
    ("world.events.theft_mischef.rate", 0.1, "world.events.theft_mischef", "theft_mischief"),
    ("world.events.theft_mischief.rate", -1, "world.events.theft_mischief.rate", "a number from 0 to 10"),
    ("world.events.theft_mischief.traits.greed", 1, "world.events.theft_mischief.traits.greed", "impulsivity"),
    ("world.behaviour.college_apply", 2, "world.behaviour.college_apply", "a number from 0 to 1"),
    ("world.economy.min_balanc", 1, "world.economy.min_balanc", "min_balance"),
    ("world.nowhere", 1, "world.nowhere", "events"),
])
def test_a_bad_path_or_value_names_the_path_and_what_is_allowed(path, value, key, allowed):
    with pytest.raises(ScorelabError) as exc:
        r = Reform.of({path: value})
        r.load_regime("unified")
        r.society()
        r.world()
    assert exc.value.key == key
    assert allowed in (exc.value.allowed or "")


def test_world_paths_change_the_world_and_nothing_else():
    r = Reform.of({"world.events.theft_mischief.rate": 0.001, "world.economy.min_balance": 400,
                   "world.behaviour.college_apply": 0.6})
    w, base = r.world(), Reform().world()
    assert w.spec.events.theft_mischief.rate == 0.001 and base.spec.events.theft_mischief.rate == 0.00008
    assert w.spec.events.theft_mischief.traits == base.spec.events.theft_mischief.traits  # the rest is kept
    assert w.spec.economy.min_balance == 400 and w.spec.behaviour.college_apply == 0.6
    assert w.sha256 != base.sha256 and "--set world.economy.min_balance=400" in w.text
    assert r.load_regime("unified").sha256 == Reform().load_regime("unified").sha256


@given(channel=st.sampled_from(sorted(set(CHANNELS) & {"payments", "bank", "courts", "police", "cameras"})),
       key=st.sampled_from(["coverage", "miss", "misattribution"]),
       value=st.floats(0, 1, allow_nan=False))
def test_a_reform_equals_editing_the_file(channel, key, value):
    """Property: setting a path is the same as editing the YAML by hand and validating it."""
    data = yaml.safe_load(preset_text("unified"))
    data["scorers"][0]["channels"][channel][key] = value
    by_hand = validate_regime(data, "by hand")
    reformed = Reform.of({f"scorers.state.channels.{channel}.{key}": value}).load_regime("unified").regime
    assert reformed == by_hand


def test_values_parse_as_yaml_scalars():
    assert parse_assignments(["a.b=0.01", "a.c=true", "a.d=black", "a.e=null", "a.f=-3", "a.b=0.02"]) == {
        "a.b": 0.02, "a.c": True, "a.d": "black", "a.e": None, "a.f": -3}
    with pytest.raises(ScorelabError, match="PATH=VALUE"):
        parse_assignments(["no-equals-sign"])
    assert field_kind("scorers.state.channels.cameras.delay_days") == "int"
    assert field_kind(CAMERAS) == "float"
    assert field_kind("society.mean_degree") == "float"


def test_run_ids_name_the_reform_readably_or_by_hash():
    assert Reform.of({CAMERAS: 0.01}).suffix() == "+cameras.misattribution=0.01"
    assert Reform.of({"society.mean_degree": 12}).suffix() == "+society.mean_degree=12"
    long = Reform.of({f"scorers.state.channels.{c}.misattribution": 0.001 for c in ("payments", "bank", "courts",
                                                                                    "police", "cameras")})
    other = Reform.of({f"scorers.state.channels.{c}.misattribution": 0.002 for c in ("payments", "bank", "courts",
                                                                                     "police", "cameras")})
    assert long.suffix().startswith("+reform-") and long.suffix() != other.suffix()
    assert Reform.of({}).suffix() == ""


def test_api_run_with_overrides_changes_what_happens_and_records_the_reform(tmp_path):
    out = tmp_path / "runs"
    plain = api.run("unified", citizens=2000, days=30, seed=3, baseline=None, out=out)
    reformed = api.run("unified", citizens=2000, days=30, seed=3, baseline=None, out=out,
                       overrides={CAMERAS: 0.5, "society.mean_degree": 4})
    assert reformed.name == "unified-2000x30-s3+cameras.misattribution=0.5+society.mean_degree=4"
    m = json.loads((reformed / "manifest.json").read_text())
    assert m["overrides"] == [{"path": CAMERAS, "value": 0.5}, {"path": "society.mean_degree", "value": 4}]
    assert m["society"]["mean_degree"] == 4
    effective = yaml.safe_load((reformed / "regime.yaml").read_text())
    assert effective["scorers"][0]["channels"]["cameras"]["misattribution"] == 0.5
    assert load_regime(str(reformed / "regime.yaml")).sha256 == m["regime"]["sha256"]
    # a consequence: half of the camera records land on the wrong citizen
    def camera_false(folder: Path) -> float:
        rec = pq.read_table(folder / "records.parquet").to_pandas()
        cam = rec[rec.channel.astype(str) == "cameras"]
        return float((~cam.record_true).mean())
    assert camera_false(plain) < 0.05 < 0.3 < camera_false(reformed)
    deg_plain = pq.read_table(plain / "citizens.parquet").column("degree_initial").to_numpy().mean()
    deg_reformed = pq.read_table(reformed / "citizens.parquet").column("degree_initial").to_numpy().mean()
    assert deg_reformed < deg_plain


def test_cli_set_errors_are_one_line_with_exit_2(runner, tmp_path):
    for args in (["--set", "scorers.state.channels.cameras.misattribution=3"], ["--set", "nonsense"],
                 ["--set", "scorers.state.nope=1"], ["--set", "world.x=1"]):
        result = runner.invoke(app, ["run", "unified", "-n", "500", "-d", "5", "--out", str(tmp_path), "-q", *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "error:" in result.output
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_scenario_set_accepts_both_forms_through_the_one_walker(tmp_path):
    base = {"name": "s", "regime": "unified", "days": 3, "citizens": [{"id": 0}],
            "expect": [{"citizen": 0, "records": 0}]}
    short = Scenario.model_validate({**base, "set": {"state.rules.barking_dog.points": -9}})
    full = Scenario.model_validate({**base, "set": {"scorers.state.rules.barking_dog.points": -9}})
    path = tmp_path / "s.yaml"
    a, b = scenario_regime(short, path), scenario_regime(full, path)
    assert a == b
    assert next(r for r in a.scorers[0].rules if r.name == "barking_dog").points == -9
    bad = Scenario.model_validate({**base, "set": {"state.rules.bark.points": 0}})
    with pytest.raises(ScorelabError) as exc:
        scenario_regime(bad, path)
    assert "barking_dog" in exc.value.allowed
