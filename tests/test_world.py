"""The world as data (issue 11 part 1): world files, --world, world reforms, the US world."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from scorelab import api
from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.reform import Reform
from scorelab.society.marginals import load_marginals
from scorelab.society.model import SocietySpec, build_society
from scorelab.vocabulary import EVENT_INDEX, EVENTS
from scorelab.world import DEFAULT, default_world, load_world, preset_names

# The constants the code held before the world became a file (behaviour/catalogue.py RATES,
# behaviour/draw.py, consequences/employment.py, regime/compiled.py): the default world keeps them.
FORMER_RATES = {
    "court_judgment_unpaid": (0.00002, {"conscientiousness": -0.5, "income_z": -0.3}),
    "judgment_repaid": (0.004, {"conscientiousness": 0.4, "income_z": 0.3}),
    "traffic_violation": (0.0015, {"impulsivity": 0.4, "conscientiousness": -0.3, "young": 0.4}),
    "drunk_driving": (0.00004, {"impulsivity": 0.6, "young": 0.4}),
    "theft_mischief": (0.00008, {"impulsivity": 0.6, "conscientiousness": -0.4, "young": 0.5}),
    "embezzlement": (0.00002, {"conscientiousness": -0.5}),
    "volunteering": (0.002, {"civic_mindedness": 0.6}),
    "helping_elderly": (0.003, {"civic_mindedness": 0.5}),
    "blood_donation": (0.0003, {"civic_mindedness": 0.4}),
    "heroic_act": (0.00001, {"civic_mindedness": 0.4}),
    "leader_speech": (0.004, {"civic_mindedness": 0.3, "outspokenness": -0.3}),
    "dog_fouling": (0.001, {"conscientiousness": -0.5}),
    "noise_complaint": (0.0008, {"conscientiousness": -0.4}),
    "junk_food_purchase": (0.006, {"impulsivity": 0.5, "young": 0.3}),
    "alcohol_purchase": (0.004, {"impulsivity": 0.4}),
    "gaming_purchase": (0.003, {"impulsivity": 0.4, "young": 0.8}),
    "foreign_trip": (0.0004, {"income_z": 0.6, "urban": 0.5}),
    "undesirable_trip": (0.00003, {"outspokenness": 0.5, "income_z": 0.3}),
    "online_benign": (0.01, {}),
    "illegal_site_visit": (0.0003, {"impulsivity": 0.4, "young": 0.5}),
    "antigov_post": (0.0002, {"outspokenness": 0.8, "civic_mindedness": -0.2}),
    "antigov_site_visit": (0.0004, {"outspokenness": 0.6}),
    "snarky_comment": (0.0015, {"outspokenness": 0.6, "young": 0.4}),
    "restricted_place": (0.0008, {"outspokenness": 0.3}),
    "against_crowd": (0.0005, {"impulsivity": 0.3}),
    "flight_purchase": (0.004, {"income_z": 0.6, "urban": 0.4}),
    "rail_purchase": (0.008, {"income_z": 0.4, "urban": 0.3}),
    "restaurant_visit": (0.01, {"income_z": 0.5, "urban": 0.3}),
    "venue_visit": (0.002, {"young": 0.5, "urban": 0.3}),
    "loan_application": (0.0006, {"income_z": 0.3}),
    "insurance_purchase": (0.0004, {"income_z": 0.3}),
    "account_opening": (0.0005, {}),
    "rental": (0.0005, {"young": 0.6, "urban": 0.5}),
    "large_purchase": (0.004, {}),
    "utility_payment": (1.0 / 30.0, {}),
    "job_application": (0.02, {}),
    "platform_sale": (0.1, {}),
}
FORMER_BEHAVIOUR = {"max_trait_multiplier": 8.0, "college_apply": 0.55, "high_fee_school": 0.03, "loan_late": 0.03,
                    "loan_missed": 0.008, "hire_probability": 0.08}
FORMER_JOB_TARGETS = [0.2, 0.22, 0.3, 0.06, 0.12, 0.098, 0.002]
FORMER_ONLINE_BY_AGE = ((10, 0.05), (20, 1.2), (40, 1.25), (60, 1.0), (200, 0.5))


@pytest.fixture
def runner():
    return CliRunner()


def test_the_default_world_holds_the_former_constants_exactly():
    w = default_world()
    rates = w.rates()
    for e, r in zip(EVENTS, rates, strict=True):
        want = FORMER_RATES.get(e.name, (0.0, {}))
        assert (r.per_day, r.traits) == want, e.name
        assert list(r.traits) == list(want[1]), e.name  # the order of the sum, too (same bits)
    b = w.spec.behaviour
    assert {k: b.number(k) for k in FORMER_BEHAVIOUR} == FORMER_BEHAVIOUR
    assert list(b.job_targets.values()) == FORMER_JOB_TARGETS
    assert tuple((a.below, a.relative) for a in b.online_by_age) == FORMER_ONLINE_BY_AGE
    d = w.spec.deterrence  # what a regime without a deterrence block got
    assert (d.certainty_exponent, d.severity_exponent, d.severity_scale, d.list_weight, d.reward_response) == (
        1.0, 0.5, 100.0, 0.5, 0.0)


def _tables(folder) -> dict[str, str]:
    out = {}
    for name in ("events", "measures", "records", "ledger", "citizens"):
        t = pq.read_table(folder / f"{name}.parquet")
        out[name] = hashlib.sha256(str(t.to_pydict()).encode()).hexdigest()
    s = json.loads((folder / "summary.json").read_text())
    for k in ("wall_seconds", "agent_days_per_second", "run_id", "baseline"):
        s.pop(k, None)
    out["summary"] = hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()
    return out


def test_the_default_world_given_explicitly_or_as_a_partial_file_gives_the_same_tables(tmp_path):
    """No --world, --world census2020, a copy of the file and a file holding only a name: the same run."""
    copy_file = tmp_path / "copy.yaml"
    copy_file.write_text((resources.files("scorelab") / "society" / "data" / f"{DEFAULT}.yaml").read_text())
    partial = tmp_path / "partial.yaml"
    partial.write_text("name: partial\nevents: {theft_mischief: {source: null}}\n")  # every value from the default
    kw = dict(citizens=1500, days=40, seed=5, events="all")
    plain = api.run("fragmented", runs=tmp_path / "a", **kw)
    ref = _tables(plain)
    for i, world in enumerate((DEFAULT, str(copy_file), str(partial))):
        other = api.run("fragmented", runs=tmp_path / f"b{i}", world=world, **kw)
        assert _tables(other) == ref, world
        assert (other / "world.yaml").is_file()
    m = json.loads((plain / "manifest.json").read_text())
    text = (plain / "world.yaml").read_text()
    assert m["world"]["name"] == DEFAULT and m["world"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert m["regime"]["sha256"] and m["request"]["world"] == m["world"]["sha256"]
    assert load_world(str(plain / "world.yaml")).spec == default_world().spec  # a run's world runs again


def test_another_world_is_another_run_never_a_reused_one(tmp_path):
    kw = dict(citizens=800, days=10, seed=1, runs=tmp_path, baseline=None)
    a = api.run("unified", **kw)
    notes = []
    again = api.run("unified", notify=notes.append, **kw)
    assert again == a and any("reusing" in n for n in notes)
    b = api.run("unified", overrides={"world.events.theft_mischief.rate": 0.002}, **kw)
    assert b != a and "world.events.theft_mischief.rate=0.002" in b.name
    assert json.loads((b / "manifest.json").read_text())["world"]["sha256"] != \
        json.loads((a / "manifest.json").read_text())["world"]["sha256"]
    from scorelab.engine import runs

    with pytest.raises(ScorelabError, match="another world"):  # experiments pair runs with a shared baseline
        runs.run("unified", overrides={"world.events.theft_mischief.rate": 0.002}, citizens=800, days=10, seed=1,
                 out=tmp_path, baseline=None, baseline_run=a.name)


def test_a_world_parameter_changes_what_citizens_do(tmp_path):
    kw = dict(citizens=3000, days=60, seed=2, runs=tmp_path, baseline=None, events="all")
    plain = api.run("none", **kw)
    more = api.run("none", overrides={"world.events.theft_mischief.rate": 0.0008}, **kw)

    def count(folder, event):
        ev = pq.read_table(folder / "event_counts.parquet").to_pandas()
        return ev.loc[ev.event_type == event, "count"].sum()

    a, b = count(plain, "theft_mischief"), count(more, "theft_mischief")
    assert b > 5 * max(a, 1)  # ten times the rate: about ten times the thefts
    no_college = api.run("none", overrides={"world.behaviour.college_apply": 0.0},
                         **{**kw, "days": 200})
    assert count(no_college, "college_application") == 0
    assert count(api.run("none", **{**kw, "days": 200}), "college_application") > 0


def test_old_marginals_files_keep_working(tmp_path):
    """A marginals file from before worlds (no events, behaviour or deterrence) takes them from the default."""
    data = yaml.safe_load((resources.files("scorelab") / "society" / "data" / f"{DEFAULT}.yaml").read_text())
    for key in ("events", "behaviour", "deterrence"):
        data.pop(key)
    data["urban_share"] = {"value": 0.9, "unit": "share", "source": "census"}
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(data))
    m = load_marginals(str(old))
    assert m["events"] == default_world().data["events"] and m["urban_share"]["value"] == 0.9
    soc = build_society(SocietySpec(citizens=3000, seed=1, marginals=str(old)))
    assert soc.cols["urban"].mean() > 0.8


@pytest.mark.parametrize("text, key, allowed", [
    ("name: w\nevents: {theft_mischef: {rate: 0.1}}\n", "events.theft_mischef", "theft_mischief"),
    ("name: w\nevents: {loan_late: {rate: 0.1}}\n", "events.loan_late", "traffic_violation"),  # scheduled: no rate
    ("name: w\nevents: {theft_mischief: {rate: -1}}\n", "events.theft_mischief.rate", "a number from 0 to 10"),
    ("name: w\nevents: {theft_mischief: {traits: {greed: 1}}}\n", "events.theft_mischief.traits", "impulsivity"),
    ("name: w\nbehaviour: {college_apply: 1.5}\n", "behaviour.college_apply", "a number from 0 to 1"),
    ("name: w\nurban_share: {value: 0.5, source: nowhere}\n", "urban_share.source", "census"),
    ("name: w\ncolour: red\n", "colour", "events"),
    ("name: w\nurban_share: {0: 0.5, 100: 0.6}\n", "urban_share", "dated values only in"),
    ("name: w\nbehaviour: {job_targets: {services: 0.5}}\n", "behaviour", "shares that sum to 1"),
])
def test_a_bad_world_file_gets_one_clear_message_and_exit_2(tmp_path, runner, text, key, allowed):
    f = tmp_path / "world.yaml"
    f.write_text(text)
    with pytest.raises(ScorelabError) as exc:
        load_world(str(f))
    assert exc.value.key is not None and exc.value.key.startswith(key), exc.value
    assert allowed in str(exc.value)
    result = runner.invoke(app, ["run", "unified", "-n", "300", "-d", "3", "--runs", str(tmp_path / "runs"),
                                 "--world", str(f), "-q"])
    assert result.exit_code == 2 and result.output.startswith("error:") and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_unknown_world_names_the_presets(runner, tmp_path):
    result = runner.invoke(app, ["run", "unified", "-n", "300", "-d", "3", "--runs", str(tmp_path), "--world",
                                 "mars", "-q"])
    assert result.exit_code == 2 and "census2020, us2020" in result.output
    assert {"census2020", "us2020"} <= set(preset_names())


def test_every_world_value_is_sourced_or_an_assumption():
    """Each shipped world: every entry names a reference or is marked an assumption (itself or its section)."""
    for name in preset_names():
        w = load_world(name)
        for key, entry in w.data.items():
            if key in ("name", "description", "currency", "references"):
                continue
            assert isinstance(entry, dict), f"{name}: {key} is a bare value without a source"
            sourced = entry.get("source") or entry.get("assumption")
            inner = [v for v in entry.values() if isinstance(v, dict) and ("source" in v or "assumption" in v)]
            assert sourced or inner, f"{name}: {key} names no source and is not marked an assumption"
            for sub, v in entry.items():
                if isinstance(v, dict) and "value" in v and not sourced:
                    assert v.get("source") or v.get("assumption"), f"{name}: {key}.{sub}"


def test_event_vocabulary_and_world_agree():
    w = default_world()
    rated = {e.name for e in EVENTS if e.schedule is None}
    assert {k for k in w.data["events"] if k in EVENT_INDEX} == rated
    assert Reform.of({"world.events.platform_sale.rate": 0.2}).world().spec.events.platform_sale.rate == 0.2


def _payments(folder):
    """Paid acts that were made, by citizens who held an account at the start, and adults without one."""
    ev = pq.read_table(folder / "events.parquet").to_pandas()
    c = pq.read_table(folder / "citizens.parquet").to_pandas()
    banked = (c.account_initial == "open").to_numpy()
    paid = ev[(ev.outcome == "made") & (ev.paid != "unpaid")]
    paid = paid[banked[paid.citizen.to_numpy()]]
    return (paid.paid == "digital").mean(), (c.account_initial[c.age >= 18] != "open").mean(), c


def test_fragmented_runs_in_the_us_world_and_differs_in_the_expected_direction(tmp_path):
    """The US: more cash (Fed diary: ~20% of payments vs China's ~14%), fewer unbanked adults (FDIC 4.5%
    vs Findex ~11%), more urban (80% vs 64%), a wider income spread (Gini 0.49 vs 0.47), a poverty line in
    dollars."""
    kw = dict(citizens=4000, days=60, seed=4, runs=tmp_path, events="all")
    cn = api.run("fragmented", **kw)
    us = api.run("fragmented", world="us2020", **kw)
    assert us.name.endswith("+world=us2020")
    m = json.loads((us / "manifest.json").read_text())
    assert m["world"]["name"] == "us2020" and m["society"]["marginals"] == "us2020"
    assert "USD" in (us / "world.yaml").read_text()
    digital_cn, unbanked_cn, c_cn = _payments(cn)
    digital_us, unbanked_us, c_us = _payments(us)
    assert digital_us < digital_cn - 0.03  # the banked pay cash more often
    assert 0.02 < unbanked_us < 0.07 < unbanked_cn  # the FDIC's 4.5%, within sampling error
    assert c_us.urban.mean() > c_cn.urban.mean() + 0.1
    s_cn = json.loads((cn / "summary.json").read_text())
    s_us = json.loads((us / "summary.json").read_text())
    assert s_us["gini"]["income"] > s_cn["gini"]["income"]
    assert s_us["poverty_trap"]["line_yuan"] == 100.0 and s_cn["poverty_trap"]["line_yuan"] == 500.0
    base = json.loads((us / "manifest.json").read_text())["baseline"]
    assert json.loads((tmp_path / base / "manifest.json").read_text())["world"]["name"] == "us2020"


def test_every_reference_a_world_cites_has_a_citation():
    from scorelab.report import sources as S

    for name in preset_names():
        missing = set(load_world(name).spec.references) - set(S.sources())
        assert not missing, f"add to src/scorelab/report/data/sources.yaml: {sorted(missing)} ({name})"


def test_a_saved_us_society_remembers_its_world(tmp_path, runner):
    result = runner.invoke(app, ["society", "-n", "2000", "--world", "us2020", "--out", str(tmp_path / "soc")])
    assert result.exit_code == 0, result.output
    folder = api.run("none", society=tmp_path / "soc", days=5, runs=tmp_path / "runs", baseline=None)
    assert json.loads((folder / "manifest.json").read_text())["world"]["name"] == "us2020"
