"""issue 12: a stream is NumPy's PCG64 seeded by SeedSequence([seed, crc32(name), *keys]), bit for bit,
though its seed words are computed by our compiled kernel (scorelab/streams.py)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from scorelab.streams import stream


def numpy_stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode()), *keys])))


@settings(max_examples=300, deadline=None)
@given(hs.integers(0, 2**32 - 1), hs.text(max_size=20),
       hs.lists(hs.one_of(hs.integers(0, 400), hs.integers(0, 2**70)), max_size=6))
def test_same_numbers_as_numpys_seed_sequence(seed, name, keys):
    ours, theirs = stream(seed, name, *keys), numpy_stream(seed, name, *keys)
    assert np.array_equal(ours.random(4), theirs.random(4))
    assert np.array_equal(ours.integers(0, 2**63, 3), theirs.integers(0, 2**63, 3))


def test_a_negative_key_is_refused_as_numpy_refuses_it():
    with pytest.raises(ValueError):
        numpy_stream(1, "x", -1)
    with pytest.raises(ValueError):
        stream(1, "x", -1)
