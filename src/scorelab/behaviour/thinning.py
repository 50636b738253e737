"""Which of the day's candidates act: the dynamic factor of each candidate, in one compiled pass.

behaviour/draw.py draws candidates in proportion to their static propensity and keeps each with
probability factor / max_factor. The factor multiplies deterrence (S2-N8: an aware citizen's
rate falls with (p^a)(f^b)), the reward response, the citizen's own rate modifier (S2-N3 advice
and coupons; learning from refusals), unemployment and internet access. Written as NumPy array
expressions this made a dozen passes and temporaries per event type per day; here it is one
loop (issue 12). The arithmetic is NumPy's, operation for operation and in the same precision
(including the float32 division of a plain rate modifier), so the kept candidates are the same
bits: tests/test_thinning.py compares the kernel with the array expressions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NO_RESPONSE, DETERRED, REWARDED = 0, 1, 2  # how the regime's perceived risk moves this act


@njit(cache=True, inline="always")
def _power(p, a):  # pragma: no cover - compiled
    """p ** a as NumPy computes an array to a scalar power (its fast paths for 1, 2 and 0.5)."""
    if a == 1.0:
        return p
    if a == 2.0:
        return p * p
    if a == 0.5:
        return math.sqrt(p)
    return p ** a


@njit(cache=True, nogil=True)
def keep_candidates(cand, u, weight_ok, use_weight, response, p_act, a, stake, reward_response, belief, aware,
                    rate_mod, use_rate_mod, float32_division, unemployed_factor, sector, unemployed, use_unemployed,
                    online, online_back, offline_factor, use_online, dyn_max):  # pragma: no cover - compiled
    """A bool per candidate: u < weight * factor / dyn_max (see the module docstring).

    response: NO_RESPONSE, DETERRED (1 - aware p^a stake) or REWARDED (1 + aware r p^a stake),
    with p = min(belief * p_act, 1) and stake = penalty^b or reward^b. float32_division: the
    factor is the rate modifier alone and NumPy divides it by dyn_max in float32."""
    n = len(cand)
    keep = np.empty(n, np.bool_)
    for i in range(n):
        c = cand[i]
        f = 1.0
        if response != NO_RESPONSE:
            p = np.float64(belief[c]) * p_act
            if p > 1.0:
                p = 1.0
            seen = (1.0 if aware[c] else 0.0)
            if response == DETERRED:
                f = 1.0 - seen * _power(p, a) * stake
            else:
                f = 1.0 + seen * reward_response * _power(p, a) * stake
        if use_rate_mod:
            if float32_division:
                keep[i] = u[i] < np.float64(np.float32(rate_mod[c]) / np.float32(dyn_max))
                continue
            f = f * np.float64(rate_mod[c])
        if use_unemployed and sector[c] == unemployed:
            f = f * unemployed_factor
        if use_online and not (online[c] or online_back[c] >= 0):
            f = f * offline_factor
        if use_weight:
            keep[i] = u[i] < weight_ok[i] * f / dyn_max
        else:
            keep[i] = u[i] < f / dyn_max
    return keep


@njit(cache=True, nogil=True)
def payment_codes(cand, u_paid, one, scale, cashless, account, account_open, digital, cash):  # pragma: no cover
    """S1-M3: how each kept act is paid: digitally when u < the citizen's cashless share today,
    1 - (1 - share) x scale, and the citizen has an open account; cash otherwise. `one` and `scale`
    come in the share's own precision, as NumPy computes it with Python floats."""
    out = np.empty(len(cand), np.int8)
    for i in range(len(cand)):
        c = cand[i]
        share = one - (one - cashless[c]) * scale
        out[i] = digital if u_paid[i] < share and account[c] == account_open else cash
    return out
