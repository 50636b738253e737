"""Named random streams (architecture principle 6: same seed, same bits).

Each component draws from its own stream keyed by (seed, name, *keys), so a change in one
component's consumption never shifts another's numbers. The regime never has a stream that
behaviour uses: a run and its baseline share every behavioural draw (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """A generator determined by the seed, a stream name and integer keys (e.g. the day)."""
    tag = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), tag, *map(int, keys)])))
