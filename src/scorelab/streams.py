"""Named random streams (architecture principle 6: same seed, same bits).

Each component draws from its own stream keyed by (seed, name, *keys), so a change in one
component's consumption never shifts another's numbers. The regime never has a stream that
behaviour uses: a run and its baseline share every behavioural draw (common random numbers).

A stream is NumPy's PCG64 seeded by `SeedSequence([seed, crc32(name), *keys])`. A run opens tens
of thousands of them (one per event type per day, one per decision step), and NumPy's
SeedSequence costs about 20 us in Python, so `_seed_words` computes the same hash (NumPy's
algorithm, bit for bit: tests/test_streams.py checks it against SeedSequence) in a compiled
kernel (issue 12).
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit
from numpy.random.bit_generator import ISeedSequence

_MASK32 = 0xFFFFFFFF


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """A generator determined by the seed, a stream name and integer keys (e.g. the day)."""
    words = _entropy((int(seed), zlib.crc32(name.encode("utf-8")), *map(int, keys)))
    return np.random.Generator(np.random.PCG64(_SeedWords(_seed_words(words))))


def _entropy(values: tuple[int, ...]) -> np.ndarray:
    """The entropy as SeedSequence takes it: each whole number as 32-bit words, least significant first."""
    out: list[int] = []
    for v in values:
        if v < 0:
            raise ValueError("expected non-negative integer")
        out.append(v & _MASK32)
        v >>= 32
        while v:
            out.append(v & _MASK32)
            v >>= 32
    return np.array(out, np.uint32)


class _SeedWords(ISeedSequence):
    """The four 64-bit words PCG64 asks its seed sequence for, computed once."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("only PCG64's request (4 x uint64) is precomputed")
        return self.words


@njit(cache=True)
def _hashmix(value, h):  # pragma: no cover - compiled
    value = np.uint32(value ^ h)
    h = np.uint32(h * np.uint32(0x931E8875))
    value = np.uint32(value * h)
    return np.uint32(value ^ (value >> np.uint32(16))), h


@njit(cache=True)
def _mix(x, y):  # pragma: no cover - compiled
    r = np.uint32(np.uint32(np.uint32(0xCA01F9DD) * x) - np.uint32(np.uint32(0x4973F715) * y))
    return np.uint32(r ^ (r >> np.uint32(16)))


@njit(cache=True)
def _seed_words(entropy):  # pragma: no cover - compiled
    """SeedSequence(entropy).generate_state(4, uint64): NumPy's mix_entropy and generate_state
    (numpy/random/bit_generator.pyx) with a pool of 4 words and no spawn key."""
    pool = np.zeros(4, np.uint32)
    h = np.uint32(0x43B0D7E5)
    for i in range(4):
        pool[i], h = _hashmix(entropy[i] if i < len(entropy) else np.uint32(0), h)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                v, h = _hashmix(pool[i_src], h)
                pool[i_dst] = _mix(pool[i_dst], v)
    for i_src in range(4, len(entropy)):
        for i_dst in range(4):
            v, h = _hashmix(entropy[i_src], h)
            pool[i_dst] = _mix(pool[i_dst], v)
    out = np.empty(8, np.uint32)
    hc = np.uint32(0x8B51F9DD)
    for i in range(8):
        d = np.uint32(pool[i % 4] ^ hc)
        hc = np.uint32(hc * np.uint32(0x58F38DED))
        d = np.uint32(d * hc)
        out[i] = np.uint32(d ^ (d >> np.uint32(16)))
    return out.view(np.uint64)
