"""The compiled thinning pass keeps exactly the candidates NumPy's array expressions keep.

The reference below is the array code the kernel replaced (issue 12), with NumPy's own type
promotion: a float32 rate modifier divided by a Python float stays float32, a NumPy float
promotes it. Same seed, same bits depends on this equality, so it is checked bit for bit
over random citizens, exponents and switches.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.behaviour.thinning import DETERRED, NO_RESPONSE, REWARDED, keep_candidates

UNEMPLOYED = 3


def reference(cand, u, weight_ok, response, p_act, a, stake, rr, belief, aware, rate_mod, unemp, sector,
              online, online_back, online_share, dyn_max):
    factor = 1.0
    if response != NO_RESPONSE:
        p = np.minimum(belief[cand] * np.float64(p_act), 1.0)
        if response == DETERRED:
            factor = 1.0 - aware[cand] * (p ** a) * np.float64(stake)
        else:
            factor = 1.0 + aware[cand] * rr * (p ** a) * np.float64(stake)
    if rate_mod is not None:
        factor = factor * rate_mod[cand]
    if unemp:
        factor = factor * np.exp(unemp * (sector[cand] == UNEMPLOYED))
    if online_share > 0:
        tries = online[cand] | (online_back[cand] >= 0)
        factor = factor * np.where(tries, 1.0, 1.0 - online_share)
    accept = factor / dyn_max if weight_ok is None else weight_ok * factor / dyn_max
    return np.broadcast_to(u < accept, u.shape)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), response=st.sampled_from([NO_RESPONSE, DETERRED, REWARDED]),
       a=st.sampled_from([1.0, 2.0, 0.5, 0.7, 1.3]), with_weight=st.booleans(), with_mod=st.booleans(),
       unemp=st.sampled_from([0.0, 0.4, -0.3]), online_share=st.sampled_from([0.0, 0.35]),
       numpy_max=st.booleans())
def test_kernel_keeps_what_the_array_code_keeps(seed, response, a, with_weight, with_mod, unemp, online_share,
                                               numpy_max):
    rng = np.random.default_rng(seed)
    n, k = 500, 400
    belief = rng.uniform(0.2, 3.0, n).astype(np.float32)
    aware = rng.random(n) < 0.6
    rate_mod = rng.uniform(0.02, 2.0, n).astype(np.float32) if with_mod else None
    sector = rng.integers(0, 6, n).astype(np.int8)
    online = rng.random(n) < 0.8
    online_back = np.where(rng.random(n) < 0.1, 40, -1).astype(np.int32)
    cand = rng.integers(0, n, k).astype(np.int32)
    u = rng.random(k)
    weight_ok = rng.random(k) if with_weight else None
    p_act, stake, rr = float(rng.uniform(0.01, 0.9)), float(rng.uniform(0.05, 1.0)), float(rng.uniform(0, 1))
    dyn_max = 2.0 * (np.exp(unemp) if unemp > 0 else 1.0)
    if numpy_max and not unemp:
        dyn_max = np.float64(dyn_max)
    want = reference(cand, u, weight_ok, response, p_act, a, stake, rr, belief, aware, rate_mod, unemp, sector,
                     online, online_back, online_share, dyn_max)
    f32 = (response == NO_RESPONSE and rate_mod is not None and not unemp and not online_share
           and weight_ok is None and not isinstance(dyn_max, np.floating))
    got = keep_candidates(cand, u, weight_ok if weight_ok is not None else u, weight_ok is not None, response,
                          p_act, a, stake, rr, belief, aware, rate_mod if rate_mod is not None else belief,
                          rate_mod is not None, f32, float(np.exp(np.full(1, unemp))[0]), sector, UNEMPLOYED,
                          bool(unemp), online, online_back, 1.0 - online_share, online_share > 0, float(dyn_max))
    np.testing.assert_array_equal(got, want)


def test_the_float32_division_matters():
    """The float32 path is not idle: for some modifiers a float32 quotient differs from the float64
    one, and a u between the two is kept by one rule and not the other (dyn_max is a power of two
    in today's catalogue, where both agree; a dyn_max of 3 shows the difference)."""
    mods = np.linspace(0.1, 1.9, 1000).astype(np.float32)
    q32 = (mods / np.float32(3.0)).astype(np.float64)
    q64 = mods.astype(np.float64) / 3.0
    i = int(np.flatnonzero(q32 != q64)[0])
    u = np.array([min(q32[i], q64[i])])
    cand = np.zeros(1, np.int32)
    rate_mod = mods[i:i + 1]
    rest = (np.zeros(1, np.int8), UNEMPLOYED, False, np.ones(1, bool), np.full(1, -1, np.int32), 1.0, False,
            3.0)  # sector, unemployed code, no unemployment, online, never cut, no online share, dyn_max
    k32, k64 = (keep_candidates(cand, u, u, False, NO_RESPONSE, 0.0, 1.0, 0.0, 0.0, rate_mod, np.zeros(1, bool),
                                rate_mod, True, f32, 1.0, *rest)[0] for f32 in (True, False))
    assert k32 != k64
    assert k32 == (u < rate_mod / 3.0)[0]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1.0, 0.0, 0.8, 0.37, 1.0 / 3.0]),
       wide=st.booleans())
def test_payment_codes_are_the_array_code(seed, scale, wide):
    """S1-M3: digital when u < 1 - (1 - share) x scale with an open account, computed in the share's
    own precision (float32 in a drawn society, float64 in a hand-made one), as NumPy does."""
    from scorelab.behaviour.thinning import payment_codes
    from scorelab.vocabulary import ACCOUNT_OPEN, CASH, DIGITAL

    rng = np.random.default_rng(seed)
    n, k = 300, 500
    cashless = rng.random(n).astype(np.float64 if wide else np.float32)
    account = rng.integers(0, 4, n).astype(np.int8)
    cand = rng.integers(0, n, k).astype(np.int32)
    share = 1.0 - (1.0 - cashless[cand]) * scale
    u = np.where(rng.random(k) < 0.2, share.astype(np.float64), rng.random(k))  # some u exactly on the share
    want = np.where((u < share) & (account[cand] == ACCOUNT_OPEN), DIGITAL, CASH).astype(np.int8)
    t = cashless.dtype.type
    got = payment_codes(cand, u, t(1.0), t(scale), cashless, account, ACCOUNT_OPEN, DIGITAL, CASH)
    np.testing.assert_array_equal(got, want)
