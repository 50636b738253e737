"""Published figures (shared/design/facts.md) each preset can be held against, and how to measure
the model's value from a run folder. scripts/figures.py runs the replications and writes the
calibration table of docs/PRESETS.md from these targets.

A target names the published figure and its source, the value the model is held against (with
the arithmetic when it is derived, e.g. a yearly rate from a stock), the measure, and what a miss
would mean. A model value within TOLERANCE (20%) of the target is a match.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from scorelab.metrics.scores import false_part, regime_scorers, tier_index

TOLERANCE = 0.20
CHINA_MILLIONS = 1411.78  # census 2020 (facts.md, Population)
BUREAUS = ("bureau_a", "bureau_b", "bureau_c")
FILE_LIFE_YEARS = 7  # 15 USC 1681c: negative items stay 7 years (facts.md): the life of a file's errors


def yearly_from_life(share: float, years: int = FILE_LIFE_YEARS) -> float:
    """The yearly chance h that gives `share` over `years` years: 1 - (1 - h)^years = share."""
    return 1.0 - (1.0 - share) ** (1.0 / years)


@dataclass(frozen=True)
class Target:
    preset: str
    key: str
    what: str          # the measure, in words
    published: str     # the figure as published, with its source and reliability
    target: float
    derivation: str    # how `target` follows from the published figure
    unit: str          # "share", "per 1,000", ...
    if_missed: str     # what a miss means (printed with a miss)
    measure: Callable[[Path], float | None]

    def matches(self, value: float | None) -> bool:
        return value is not None and abs(value - self.target) <= TOLERANCE * abs(self.target)


def _q(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# ---------------------------------------------------------------------------- court blacklist
def _courts_delay(folder: Path) -> int:
    for s in regime_scorers(folder):
        for name, ch in (s.get("channels") or {}).items():
            if name == "courts":
                return int(ch.get("delay_days", 0))
    return 0


def listing_growth(folder: Path, list_label: str = "courts:dishonest", entry_reason: str = "record") -> float:
    """List entries per 1,000 citizens a year, annualised over the days a judgment can reach the list."""
    m = _manifest(folder)
    n, days = m["society"]["citizens"], m["days"]
    [(entries,)] = duckdb.sql(f"SELECT count(*) FROM {_q(folder / 'list_events.parquet')} WHERE action = 'enter' "
                              f"AND list = '{list_label}' AND reason = '{entry_reason}'").fetchall()
    return entries * 1000 / n * 365 / (days - _courts_delay(folder))


def _person_years(folder: Path, column: str) -> float:
    daily = pq.read_table(folder / "daily.parquet", columns=[column]).column(column).to_numpy()
    return float(daily.sum() / 365)


def refusals_per_listed_year(folder: Path, scorer: str = "courts", column: str = "listed:dishonest") -> float | None:
    """Flight and rail refusals per listed person-year."""
    [(k,)] = duckdb.sql(f"SELECT count(*) FROM {_q(folder / 'measures.parquet')} WHERE measure IN "
                        f"('{scorer}:flight_ban', '{scorer}:rail_ban')").fetchall()
    py = _person_years(folder, column)
    return k / py if py else None


def flight_share(folder: Path, scorer: str = "courts") -> float | None:
    rows = dict(duckdb.sql(f"SELECT measure, count(*) FROM {_q(folder / 'measures.parquet')} WHERE measure IN "
                           f"('{scorer}:flight_ban', '{scorer}:rail_ban') GROUP BY 1").fetchall())
    total = sum(rows.values())
    return rows.get(f"{scorer}:flight_ban", 0) / total if total else None


def removals_per_listed_year(folder: Path) -> float | None:
    """Removals on a recorded repayment (compliance exits) per listed person-year."""
    [(k,)] = duckdb.sql(f"SELECT count(*) FROM {_q(folder / 'list_events.parquet')} WHERE action = 'exit' "
                        f"AND reason = 'compliance' AND list = 'courts:dishonest'").fetchall()
    py = _person_years(folder, "listed:dishonest")
    return k / py if py else None


# ---------------------------------------------------------------------------- unified
def aware_share_final(folder: Path) -> float:
    aware = pq.read_table(folder / "citizens.parquet", columns=["aware_final"]).column(0).to_numpy()
    return float(aware.mean())


def unified_judgment_listings(folder: Path) -> float:
    """Black-list entries on a court-judgment record per 1,000 citizens a year (annualised like the court list)."""
    m = _manifest(folder)
    n, days = m["society"]["citizens"], m["days"]
    [(k,)] = duckdb.sql(f"SELECT count(*) FROM {_q(folder / 'list_events.parquet')} WHERE action = 'enter' "
                        f"AND list = 'state:black' AND reason = 'record'").fetchall()
    return k * 1000 / n * 365 / (days - _courts_delay(folder))


# ---------------------------------------------------------------------------- fragmented
def _adults(folder: Path) -> np.ndarray:
    return pq.read_table(folder / "citizens.parquet", columns=["age"]).column(0).to_numpy() >= 18


def bureau_material_error_share(folder: Path) -> float:
    """Adults with at least one false record that changed their score on at least one bureau file."""
    adult = _adults(folder)
    names = ", ".join(f"'{b}'" for b in BUREAUS)
    rows = duckdb.sql(f"SELECT DISTINCT citizen FROM {_q(folder / 'ledger.parquet')} WHERE NOT record_true "
                      f"AND delta <> 0 AND scorer IN ({names}) AND channel NOT IN ('association', 'time') "
                      f"AND rule NOT LIKE '%:appeal:%' AND rule NOT LIKE '%:expunge:%'").fetchall()
    hit = np.zeros(len(adult), bool)
    if rows:
        hit[np.array([r[0] for r in rows])] = True
    return float((hit & adult).sum() / adult.sum())


def bureau_worse_tier_share(folder: Path) -> float:
    """Adults whose tier on at least one bureau is worse than it would be without false records."""
    adult = _adults(folder)
    scorers = [s for s in regime_scorers(folder) if s.get("name") in BUREAUS]
    cols = [f"score:{s['name']}" for s in scorers]
    cit = pq.read_table(folder / "citizens.parquet", columns=cols)
    fp = false_part(duckdb.connect(), _q(folder / "ledger.parquet"), regime_scorers(folder), len(adult))
    worse = np.zeros(len(adult), bool)
    for s, col in zip(scorers, cols, strict=True):
        if s["name"] not in fp:
            continue
        score = cit.column(col).to_numpy()
        sc = s["score"]
        mins = np.array([float(t["min"]) for t in s["tiers"]["tiers"]])
        truthful = np.clip(score - fp[s["name"]], sc["min"], sc["max"])
        worse |= tier_index(score, mins) > tier_index(truthful, mins)
    return float((worse & adult).sum() / adult.sum())


def listed_per_100k(folder: Path, column: str) -> float:
    """Citizens on a list at the end of the run per 100,000."""
    m = _manifest(folder)
    daily = pq.read_table(folder / "daily.parquet", columns=[column]).column(column).to_numpy()
    return float(daily[-1] * 100_000 / m["society"]["citizens"])


# ---------------------------------------------------------------------------- cancel culture
def crowd_participation(folder: Path, max_age: int | None = None, min_age: int = 18) -> float:
    """Mean participation share of adults (in an age band) under the preset's crowd parameters: the
    poll's 40%, 55% (18-34) and 32% (65+) are what the shares reproduce on the society."""
    age = pq.read_table(folder / "citizens.parquet", columns=["age"]).column(0).to_numpy()
    crowd = regime_scorers(folder)[0]["channels"]["peers"]["crowd"]
    bands = sorted(crowd["participation"], key=lambda b: b["max_age"])
    sel = (age >= min_age) & (age <= (max_age if max_age is not None else 200))
    shares = np.array([b["share"] for b in bands])[np.searchsorted([b["max_age"] for b in bands], age[sel],
                                                                   side="left")]
    return float(shares.mean())


# ---------------------------------------------------------------------------- the targets
_GROWTH = (13.0 - 9.59) / CHINA_MILLIONS * 1000
_PERSON_YEARS = 0.77 * (9.59 + 13.0) / 2
_REFUSALS = ((17.46 - 9.36) + (5.47 - 3.67)) / _PERSON_YEARS
_FLIGHTS = (17.46 - 9.36) / ((17.46 - 9.36) + (5.47 - 3.67))
_REMOVALS = 3.51 / _PERSON_YEARS

TARGETS: list[Target] = [
    Target("court-blacklist", "listing_growth", "new listings per 1,000 citizens a year",
           "listed 9.59M (end 2017) to ~13M (end 2018) of 1,411.78M (facts.md, court blacklist, A)", _GROWTH,
           "(13.0M - 9.59M) / 1,411.78M x 1,000", "per 1,000 a year",
           "the courts channel's coverage is the knob set to this figure", listing_growth),
    Target("court-blacklist", "refusals", "flight and rail refusals per listed person-year",
           "flights refused 9.36M to 17.46M, HSR 3.67M to 5.47M in 2018; ~23% removed (A)", _REFUSALS,
           "(8.10M + 1.80M) / (0.77 x (9.59M + 13.0M) / 2)", "per person-year",
           "the refusal probabilities are the knobs set to this figure", refusals_per_listed_year),
    Target("court-blacklist", "flight_share", "share of refusals that are flights",
           "8.10M of 9.90M refusals in 2018 were flights (A)", _FLIGHTS, "8.10 / 9.90", "share",
           "the split follows from the two refusal probabilities", flight_share),
    Target("court-blacklist", "removals", "removals on repayment per listed person-year",
           "3.51M repaid in 2018 (facts.md, court blacklist, A)", _REMOVALS,
           "3.51M / 8.70M listed person-years", "per person-year",
           "the courts channel records only its coverage's share of repayments (one coverage for listing and "
           "removal); the lead adds per-event coverage to channels (issue 10)", removals_per_listed_year),
    Target("unified", "aware", "share of citizens aware of the system at the end of the year",
           "only 11% in pilot areas knew they were in a pilot (Trivium, B)", 0.11,
           "the survey's share", "share",
           "learning from sanctioned contacts (S2-N8) spreads awareness beyond the survey's 11%", aware_share_final),
    Target("unified", "judgment_listings", "black-list entries on a court judgment per 1,000 citizens a year",
           "the court blacklist grew by 3.41M in 2018 (A)", _GROWTH, "(13.0M - 9.59M) / 1,411.78M x 1,000",
           "per 1,000 a year",
           "unified's courts record every unpaid judgment (coverage 1.0), the real list takes about a third "
           "(court-blacklist is calibrated to it)", unified_judgment_listings),
    Target("unified", "refusals", "flight and rail refusals per black-listed person-year",
           "the court blacklist's 2018 refusals per listed person-year (A)", _REFUSALS,
           "(8.10M + 1.80M) / 8.70M", "per person-year",
           "unified refuses every ticket a listed citizen tries to buy; real debtors stop trying "
           "(court-blacklist's calibrated refusal probabilities absorb that)",
           lambda f: refusals_per_listed_year(f, "state", "listed:black")),
    Target("fragmented", "bureau_errors", "adults with a false record that changed a bureau score, a year",
           "FTC Section 319 (2012): 21% of consumers had a confirmed material error on at least one of "
           "three reports (A)", yearly_from_life(0.21),
           f"1 - (1 - 0.21)^(1/{FILE_LIFE_YEARS}): 21% over a file's {FILE_LIFE_YEARS}-year life (15 USC 1681c) "
           "as a yearly chance", "share a year",
           "the error rates of the bureaus' bank channels are set from this figure (docs/PRESETS.md)",
           bureau_material_error_share),
    Target("fragmented", "bureau_worse_tier", "adults in a worse bureau tier because of false records",
           "FTC Section 319: 5.2% had errors that moved them to a worse risk tier (A)", yearly_from_life(0.052),
           f"1 - (1 - 0.052)^(1/{FILE_LIFE_YEARS})", "share a year",
           "the split of errors between mixed files (mostly on-time payments) and accounts not theirs "
           "(penalties) is set from this figure", bureau_worse_tier_share),
    Target("fragmented", "watch", "watch-listed citizens per 100,000 at the end of the year",
           "TSDB 680,000 in 2013 (B): 215 per 100,000 of 316M", 680_000 / 316e6 * 100_000, "680,000 / 316M",
           "per 100,000",
           "one year of entries against a list built over a decade", lambda f: listed_per_100k(f, "law:listed:watch")),
    Target("fragmented", "no_fly", "no-fly-listed citizens per 100,000 at the end of the year",
           "No Fly List ~47,000 in 2013 (A/B): 15 per 100,000 of 316M", 47_000 / 316e6 * 100_000, "47,000 / 316M",
           "per 100,000",
           "the real list is fed by intelligence nominations the model has no event for",
           lambda f: listed_per_100k(f, "law:listed:no_fly")),
    Target("cancel-culture", "participation", "adults' mean participation share (the preset's crowd on the society)",
           "Politico/Morning Consult Jul 2020: 40% took part in cancel culture (A)", 0.40, "the poll", "share",
           "the 35-64 share is derived so that this holds on the default society", crowd_participation),
    Target("cancel-culture", "participation_young", "participation share of adults 18-34",
           "the same poll: 55% of 18-34 (A)", 0.55, "the poll", "share", "an input of the preset",
           lambda f: crowd_participation(f, 34)),
    Target("cancel-culture", "participation_old", "participation share of adults 65+",
           "the same poll: 32% of 65+ (A)", 0.32, "the poll", "share",
           "the band 65-120 has the poll's 65+ share; 60-64 take the 35-64 share",
           lambda f: crowd_participation(f, None, 65)),
]
NO_TARGET = {
    "rongcheng": "facts.md gives Rongcheng's rules (points, grades, perks) but no outcome figure "
                 "(how many residents in each grade, how many deductions)",
    "sesame": "facts.md gives Sesame Credit's range, factors and perks but no outcome figure (score "
              "distribution, share above 600)",
    "none": "the baseline has no figure to hold",
}
