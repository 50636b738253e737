"""Citizens as columns drawn from census marginals; households group them."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from scorelab.metrics.inequality import gini
from scorelab.society.marginals import value
from scorelab.society.sorting import argsort_stable_float32
from scorelab.streams import stream
from scorelab.vocabulary import ACCOUNT_OPEN, NO_ACCOUNT, SECTOR_INDEX, WHITE_COLLAR, WORKING_SECTORS


def draw_ages(n: int, bands: list[dict[str, Any]], rng: np.random.Generator) -> np.ndarray:
    shares = np.array([b["share"] for b in bands], dtype=float)
    band = rng.choice(len(bands), size=n, p=shares / shares.sum())
    lo = np.array([b["lo"] for b in bands])[band]
    hi = np.array([b["hi"] for b in bands])[band]
    return (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int16)


def assign_households(age: np.ndarray, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    """Give every citizen a household id, so that the mean size matches the census.

    Heads are adults (22+); children join a head 22-40 years older, other adults a head of
    similar age (a spouse) and the old a head 25-35 years younger (a grown child). Matching is
    by age over the heads sorted by age (a table of how many heads are below each age): vectorised,
    no per-citizen loop.
    """
    n = len(age)
    n_households = max(1, min(n, int(round(n / mean_size))))
    adults = np.flatnonzero(age >= 22)
    if len(adults) < n_households:
        adults = np.arange(n)
    heads = rng.choice(adults, size=n_households, replace=False)
    household = np.full(n, -1, dtype=np.int32)
    household[heads] = np.arange(n_households, dtype=np.int32)
    others = np.flatnonzero(household < 0)
    a = age[others].astype(np.float64)
    target = np.where(a < 18, a + rng.uniform(22, 40, len(a)),
                      np.where(a >= 68, a - rng.uniform(25, 35, len(a)), a + rng.normal(0, 3, len(a))))
    order = np.argsort(age[heads], kind="stable")
    head_ages = age[heads][order].astype(np.int64)
    # clip into the heads' age range so that no target falls off the end onto a single head
    t = np.clip(np.round(target), head_ages[0], head_ages[-1]).astype(np.int64) - head_ages[0]
    # ages are whole years, so searchsorted(head_ages, t) left and right are counts of the heads
    # below each age, read from a table of a hundred-odd entries (issue 12: two binary searches
    # of every citizen were 3.3 s of a 10M society)
    below = np.zeros(head_ages[-1] - head_ages[0] + 2, np.int64)
    np.cumsum(np.bincount(head_ages - head_ages[0]), out=below[1:])
    lo, hi = below[t], below[t + 1]
    lo = np.minimum(lo, len(heads) - 1)
    span = np.maximum(hi - lo, 1)
    pick = np.minimum(lo + np.floor(rng.random(len(a)) * span).astype(np.int64), len(heads) - 1)
    household[others] = household[heads[order[pick]]]
    return household


def lognormal_sigma_for_gini(gini: float) -> float:
    """Gini of a lognormal is 2 Phi(sigma / sqrt 2) - 1; invert it."""
    return float(np.sqrt(2.0) * ndtri((gini + 1.0) / 2.0))


def sigma_for_mixture_gini(target: float, urban_share: float, urban_mean: float,
                           rural_mean: float) -> float:
    """Within-group lognormal sigma such that the urban/rural mixture has the target Gini.

    The gap between urban and rural means adds inequality, so the within-group sigma must be
    smaller than a single lognormal's. Solved by bisection on a fixed quantile grid (no
    randomness, so the society stays a function of its seed).
    """
    q = ndtri((np.arange(4000) + 0.5) / 4000)
    k = int(round(urban_share * 4000))

    def mixture_gini(sigma: float) -> float:
        urban = np.log(urban_mean) - sigma**2 / 2 + sigma * q[np.linspace(0, 3999, k).astype(int)]
        rural = np.log(rural_mean) - sigma**2 / 2 + sigma * q[np.linspace(0, 3999, 4000 - k).astype(int)]
        return gini(np.exp(np.concatenate([urban, rural])))

    lo, hi = 0.01, lognormal_sigma_for_gini(min(target, 0.99))
    if mixture_gini(lo) >= target:
        return lo
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mixture_gini(mid) < target else (lo, mid)
    return (lo + hi) / 2


def draw_citizens(n: int, seed: int, m: dict[str, Any]) -> dict[str, np.ndarray]:
    """Draw every citizen column from the marginals `m` (see society/data/census2020.yaml)."""
    rng = stream(seed, "society.citizens")
    age = draw_ages(n, m["age_bands"]["bands"], rng)
    p_male = value(m["male_per_100_female"]) / (100.0 + value(m["male_per_100_female"]))
    sex = (rng.random(n) < p_male).astype(np.int8)
    household = assign_households(age, value(m["household_size_mean"]), stream(seed, "society.households"))
    n_households = int(household.max()) + 1

    # Region and urban/rural are properties of the household.
    hh_rng = stream(seed, "society.household_attrs")
    n_regions = int(value(m["regions"]))
    hh_region = hh_rng.integers(0, n_regions, n_households).astype(np.int16)
    hh_urban = hh_rng.random(n_households) < value(m["urban_share"])
    hh_dog = hh_rng.random(n_households) < value(m["dog_owners"])
    region, urban = hh_region[household], hh_urban[household]

    # College education: target share of the whole population, more common among the young.
    weight = np.where(age < 22, 0.0, np.where(age < 35, 2.0, np.where(age < 50, 1.2, 0.5)))
    p_college = np.clip(weight * value(m["college_per_100k"]) / 1e5 * n / max(weight.sum(), 1e-9), 0, 1)
    college = rng.random(n) < p_college

    # Per-capita disposable income: lognormal by urban/rural, shared within the household.
    inc = m["income"]
    sigma = sigma_for_mixture_gini(value(inc["gini"]), value(m["urban_share"]),
                                   value(inc["urban_mean"]), value(inc["rural_mean"]))
    hh_college = np.zeros(n_households, dtype=bool)
    np.logical_or.at(hh_college, household, college)
    mean = np.where(hh_urban, value(inc["urban_mean"]), value(inc["rural_mean"]))
    premium = value(inc["college_premium"]) * hh_college
    hh_log = np.log(mean) - sigma**2 / 2 + premium - premium.mean() + sigma * hh_rng.standard_normal(n_households)
    income = np.exp(hh_log[household] + 0.1 * rng.standard_normal(n)).astype(np.float32)
    log_inc = np.log(income)
    rank = np.empty(n, np.intp)  # each citizen's place in the income order: the inverse of the stable sort
    rank[argsort_stable_float32(income)] = np.arange(n)  # = np.argsort(income, kind="stable")
    income_decile = np.minimum((rank * 10) // n, 9)

    sector = _draw_sectors(age, college, m["employment"]["sectors"], rng)

    corr = float(m["traits"].get("conscientiousness_impulsivity_corr", -0.4))
    z = rng.standard_normal((4, n)).astype(np.float32)
    conscientiousness = z[0]
    impulsivity = (corr * z[0] + np.sqrt(1 - corr**2) * z[1]).astype(np.float32)

    aware = rng.random(n) < value(m["awareness"])
    has_loan = (age >= 22) & (age <= 60) & (rng.random(n) < value(m["borrowers_share"]))
    loan_due_day = rng.integers(0, 30, n).astype(np.int8)
    share = value(m["cashless_share"])
    if 0.0 < share < 1.0:
        cashless = rng.beta(share * 10, (1 - share) * 10, n).astype(np.float32)
    else:  # all cash or all digital: no spread around the share
        cashless = np.full(n, share, np.float32)
    del log_inc
    online, account, seller = _draw_access(age, sector, m, stream(seed, "society.access"))
    return {
        "age": age, "sex": sex, "region": region, "urban": urban, "college": college,
        "income": income, "income_decile": income_decile.astype(np.int8), "sector": sector,
        "household": household, "conscientiousness": conscientiousness, "impulsivity": impulsivity,
        "civic_mindedness": z[2], "outspokenness": z[3], "aware": aware, "has_loan": has_loan,
        "loan_due_day": loan_due_day, "cashless": cashless, "dog_owner": hh_dog[household],
        "online": online, "account": account, "seller": seller,
    }


# Internet use by age, relative to the whole population's share, is the world's
# `behaviour.online_by_age` (assumption: the young are online far more than the old; rescaled so
# that the population's share is the marginal's).


def _draw_access(age: np.ndarray, sector: np.ndarray, m: dict[str, Any], rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Internet access, bank accounts (S1-M13, S1-M14) and platform sellers (S1-M2).

    Drawn from a stream of their own, so adding them changed no other column.
    """
    n = len(age)
    by_age = [(float(x["below"]), float(x["relative"])) for x in m["behaviour"]["online_by_age"]]
    bounds = np.array([b for b, _ in by_age])
    rel = np.array([r for _, r in by_age])[np.searchsorted(bounds, age, side="right").clip(0, len(bounds) - 1)]
    target = value(m["internet_share"])
    p = np.clip(rel * target / max(float(rel.mean()), 1e-9), 0.0, 0.99) if n else rel
    online = rng.random(n) < p
    adult = age >= 18
    unbanked = value(m["unbanked_share"])
    account = np.where(adult & (rng.random(n) >= unbanked), ACCOUNT_OPEN, NO_ACCOUNT).astype(np.int8)
    # sellers on platforms need internet and an account: drawn among the working who have both, at
    # the rate that gives the marginal's share of all working adults
    working = np.isin(sector, [SECTOR_INDEX[s] for s in WORKING_SECTORS])
    able = working & online & (account == ACCOUNT_OPEN)
    p_sell = value(m["seller_share"]) * working.sum() / max(int(able.sum()), 1)
    seller = able & (rng.random(n) < min(p_sell, 1.0))
    return online, account, seller


def _draw_sectors(age: np.ndarray, college: np.ndarray, mix: dict[str, float],
                  rng: np.random.Generator) -> np.ndarray:
    n = len(age)
    sector = np.full(n, SECTOR_INDEX["inactive"], dtype=np.int8)
    sector[age < 6] = SECTOR_INDEX["child"]
    sector[(age >= 6) & (age < 18)] = SECTOR_INDEX["student"]
    sector[age > 60] = SECTOR_INDEX["retired"]
    young_student = (age >= 18) & (age < 23) & (rng.random(n) < 0.5)
    sector[young_student] = SECTOR_INDEX["student"]
    working = np.flatnonzero((age >= 18) & (age <= 60) & ~young_student)
    names = list(mix)
    base = np.array([mix[s] for s in names], dtype=float)
    base /= base.sum()
    white = np.array([s in WHITE_COLLAR for s in names])
    # College graduates are three times as likely to hold white-collar posts (assumption).
    for is_college in (False, True):
        idx = working[college[working] == is_college]
        p = base * np.where(white, 3.0 if is_college else 0.7, 1.0)
        p /= p.sum()
        sector[idx] = np.array([SECTOR_INDEX[s] for s in names], dtype=np.int8)[
            rng.choice(len(names), size=len(idx), p=p)]
    return sector
