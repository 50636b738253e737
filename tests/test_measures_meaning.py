"""Measures that mean what they say (issue 10): disparate impact among those who can be treated,
the poverty trap in money against the paired baseline, scores on a common footing, and the
false part of a score recomputed from the ledger."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _support import harsh_regime_text, regime_dict, run_sim
from scorelab import api
from scorelab.metrics.groups import MIN_GROUP, by_group, disparate_impact, pooled_ratio
from scorelab.metrics.poverty import TRAP_MONTHS, poverty_trap, trapped
from scorelab.metrics.scores import false_part, regime_scorers, score_footing, tier_index
from scorelab.society.model import SocietySpec, build_society


# ---------------------------------------------------------------------------- disparate impact
def _citizens(n_children: int, n_adults: int) -> dict:
    n = n_children + n_adults
    age = np.concatenate([np.full(n_children, 10), np.tile([20, 40, 70], n_adults // 3 + 1)[:n_adults]])
    return {"age": age, "income_decile": np.arange(n) % 10, "urban": np.arange(n) % 2 == 0,
            "sex": np.where(np.arange(n) % 2, "male", "female"), "score": np.full(n, 1000.0),
            "savings": np.full(n, 5000.0)}


def test_children_who_cannot_be_listed_do_not_fail_the_listing_ratio():
    """Every adult band is listed at 10%, children never: among adults the ratio is 1 (the old
    measure over all citizens gave 0 and 'fails')."""
    cit = _citizens(3000, 9000)
    adult = cit["age"] >= 18
    listed = adult & (np.arange(len(adult)) % 10 == 3)
    out = by_group(cit, listed, np.zeros(len(adult)), np.zeros(len(adult)), 1.0)
    age = out["disparate_impact"]["age_band"]["listing"]
    assert "0-17" not in age["groups"]
    assert age["ratio"] == pytest.approx(1.0, abs=0.02) and not age["fails_four_fifths"]
    assert {g["eligible"] for g in age["groups"].values()} == {3000}
    assert age["groups"]["18-34"]["treated"] == (listed & (cit["age"] == 20)).sum()
    assert out["groups"]["age_band"]["0-17"]["listed_share"] == 0.0  # the group table still shows everyone


def test_small_groups_are_left_out_and_counts_are_shown():
    names = ["a", "b", "c"]
    d = disparate_impact(names, np.array([5000, 4000, MIN_GROUP - 1]), np.array([50, 20, 30]), "adults", "listed")
    assert d["excluded"] == ["c"] and set(d["groups"]) == {"a", "b", "c"}
    assert d["ratio"] == pytest.approx((20 / 4000) / (50 / 5000))
    assert d["fails_four_fifths"] and d["lowest"] == "b" and d["highest"] == "a"
    assert d["p_value"] < 0.01  # 20 of 4000 against 50 of 5000 is not noise
    noise = disparate_impact(names, np.array([5000, 5000, 0]), np.array([3, 2, 0]), "adults", "listed")
    assert noise["fails_four_fifths"] and noise["p_value"] > 0.5  # a ratio of 2 to 3 events says nothing


def test_pooled_ratio_sums_counts_across_runs():
    names = ["a", "b"]
    runs = [disparate_impact(names, np.array([1000, 1000]), np.array(t), "adults", "x") for t in ([1, 4], [3, 0])]
    assert pooled_ratio(runs) == pytest.approx(1.0)  # 4 and 4 events in all
    assert np.mean([r["ratio"] for r in runs]) == pytest.approx(0.125)  # the runs' own ratios: 0.25 and 0


def test_refusals_are_compared_among_attempts():
    cit = _citizens(0, 9000)
    attempts, refused = np.zeros(9000), np.zeros(9000)
    attempts[:3000] = 1   # only the youngest third applies, and a tenth of them is refused
    refused[:3000:10] = 1
    out = by_group(cit, np.zeros(9000, bool), refused, np.zeros(9000), 1.0,
                   refusals={"loan_application": (attempts, refused)})
    r = out["disparate_impact"]["income_decile"]["refusals"]["loan_application"]
    assert r["among"] == "attempts" and sum(g["eligible"] for g in r["groups"].values()) == 3000
    assert sum(g["treated"] for g in r["groups"].values()) == 300


# ---------------------------------------------------------------------------- scores on a common footing
def test_score_footing_reads_each_score_on_its_own_range():
    scorers = [{"name": "bureau", "score": {"initial": 700, "min": 300, "max": 850},
                "tiers": {"tiers": [{"name": "good", "min": 670}, {"name": "fair", "min": 580},
                                    {"name": "poor", "min": 300}]}}]
    score = np.array([850.0, 700.0, 600.0, 300.0])
    out = score_footing(scorers, {"score": score}, {"bureau": np.array([0.0, 0.0, -100.0, 0.0])})["bureau"]
    assert out["range"] == [300.0, 850.0]
    assert out["mean_position"] == pytest.approx(np.mean((score - 300) / 550))
    assert out["tiers"]["good"] == {"share": 0.5, "share_below": 0.5}
    assert out["tiers"]["fair"]["share_below"] == 0.25 and out["bottom_tier_share"] == 0.25
    assert out["below_initial_tier_share"] == 0.5
    assert out["worse_tier_from_false_share"] == 0.25  # 600 is fair; without the false -100 it is good (700)
    assert list(tier_index(np.array([900, 670, 669.9, 100]), np.array([670, 580, 300]))) == [0, 0, 1, 2]


def test_false_part_from_the_ledger_matches_the_runtime(tmp_path):
    """The false part of each score, recomputed from the ledger (rules, association, corrections,
    expiry, decayed by redemption), equals what the runtime kept (`false_delta`)."""
    soc = build_society(SocietySpec(citizens=3000, seed=3))
    res = run_sim(soc, harsh_regime_text(), 90, 3, tmp_path)
    (tmp_path / "regime.yaml").write_text(harsh_regime_text())
    con = duckdb.connect()
    fp = false_part(con, f"'{tmp_path / 'ledger.parquet'}'", regime_scorers(tmp_path), soc.n)["state"]
    keeper = res.auditors[0] if hasattr(res, "auditors") else res.runtimes[0]  # the audit keeps it since issue 9
    runtime = keeper.false_delta
    assert np.count_nonzero(runtime) > 20, "the test needs false records"
    assert np.allclose(fp, runtime, atol=1e-6)


# ---------------------------------------------------------------------------- the poverty trap in money
def _breaches(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    citizen, day = zip(*rows, strict=True) if rows else ((), ())
    pq.write_table(pa.table({"event_id": np.arange(len(rows)), "day": np.array(day, np.int16),
                             "citizen": np.array(citizen, np.int32),
                             "event_type": pa.array(["min_balance_breach"] * len(rows), pa.string()),
                             "digital": np.ones(len(rows), bool)}), folder / "events.parquet")


def test_months_in_a_row_under_the_line_are_a_trap(tmp_path):
    t = TRAP_MONTHS
    rows = [(0, 5 + 30 * k) for k in range(t)]                     # t months in a row
    rows += [(1, 7 + 30 * k) for k in range(t - 1)]                # one month short
    rows += [(2, 9 + 30 * k) for k in range(2 * t - 1) if k != t - 1]  # a month above the line breaks it
    _breaches(tmp_path / "run", rows)
    _breaches(tmp_path / "base", [(0, 5 + 30 * k) for k in range(t)] + [(3, 1 + 30 * k) for k in range(t)])
    con = duckdb.connect()
    assert list(np.flatnonzero(trapped(con, tmp_path / "run", 5))) == [0]
    adult = np.ones(5, bool)
    out = poverty_trap(con, tmp_path / "run", {}, tmp_path / "base", {}, np.array([0, 0, 1, 0, 0], bool), adult, 500)
    assert out["share"] == 0.2 and out["baseline_share"] == 0.4 and out["excess_share"] == pytest.approx(-0.2)
    assert out["pushed_share"] == 0.0 and out["escaped_share"] == 0.2
    assert out["months_under_line_per_adult"] == pytest.approx((t + t - 1 + 2 * t - 2) / 5)
    assert out["excess_months_per_1000_adults"] == pytest.approx(1000 * (4 * t - 3 - 2 * t) / 5)
    assert out["excess_months_sanctioned_per_1000_adults"] == pytest.approx(1000 * (2 * t - 2) / 5)
    nothing = poverty_trap(con, tmp_path / "run", {"events_written": "none"}, None, None, adult, adult, 500)
    assert nothing["share"] is None


def test_sanctions_that_take_money_push_citizens_into_the_trap(tmp_path):
    """A regime that charges citizens with a recorded traffic offence ten times every utility bill
    drains their savings: adults trapped in the run but not in the paired baseline, and sanctioned."""
    regime = regime_dict(
        "drain", rules=[{"name": "ticket", "event": "traffic_violation", "points": -100}],
        channels={"police": {"assumption": True, "coverage": 1.0}, "cameras": {"assumption": True, "coverage": 1.0}},
        tiers=[{"name": "ok", "min": 950}, {"name": "low", "min": 0}],
        sanctions=[{"name": "surcharge", "domain": "utilities", "gate": "utility_payment", "when": {"tiers": ["low"]},
                    "effect": "price", "price_factor": 10}])
    path = tmp_path / "drain.yaml"
    path.write_text(json.dumps(regime))
    soc = api.build_society(2000, seed=5)
    folder = api.run(str(path), days=365, seed=5, out=tmp_path / "runs", society=soc)
    trap = api.summary(folder)["poverty_trap"]
    assert trap["pushed_sanctioned_share"] > 0.01
    assert trap["pushed_sanctioned_share"] <= trap["pushed_share"]
    assert trap["share"] > trap["baseline_share"]
    assert api.summary(folder)["poverty_trap_share"] == trap["pushed_sanctioned_share"]


def test_citizens_who_learned_is_in_the_summary(demo_run):
    s = json.loads((demo_run / "summary.json").read_text())
    m = json.loads((demo_run / "manifest.json").read_text())
    assert s["citizens_who_learned"] == m["economy"]["citizens_who_learned"]
    assert "mean_score" not in s and s["scores"]["state"]["range"] == [0.0, 1300.0]
