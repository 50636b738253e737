"""streams: same key, same numbers; tables.csr_gather against a naive loop."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scorelab.streams import stream
from scorelab.tables import Decisions, EventBatch, Records, RecordTruth, csr_gather


def test_same_seed_name_keys_same_numbers():
    a = stream(7, "behaviour", 3, 12).random(100)
    b = stream(7, "behaviour", 3, 12).random(100)
    assert np.array_equal(a, b)


def test_different_name_seed_or_keys_differ():
    base = stream(7, "behaviour", 3, 12).random(100)
    assert not np.array_equal(base, stream(7, "surveillance", 3, 12).random(100))
    assert not np.array_equal(base, stream(8, "behaviour", 3, 12).random(100))
    assert not np.array_equal(base, stream(7, "behaviour", 3, 13).random(100))
    assert not np.array_equal(base, stream(7, "behaviour", 12, 3).random(100))


def test_streams_are_independent_of_other_consumption():
    """Drawing from one stream never shifts another's numbers (architecture principle 6)."""
    first = stream(1, "a").random(10)
    stream(1, "b").random(10_000)
    assert np.array_equal(first, stream(1, "a").random(10))


@st.composite
def csr_and_rows(draw):
    n_rows = draw(st.integers(1, 12))
    n_cols = draw(st.integers(1, 12))
    lengths = draw(st.lists(st.integers(0, 6), min_size=n_rows, max_size=n_rows))
    indices = [draw(st.lists(st.integers(0, n_cols - 1), min_size=k, max_size=k)) for k in lengths]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.array([i for row in indices for i in row], dtype=np.int32)
    rows = np.array(draw(st.lists(st.integers(0, n_rows - 1), max_size=15)), dtype=np.int64)
    return indptr, flat, rows


@settings(max_examples=200)
@given(csr_and_rows())
def test_csr_gather_matches_naive_loop(args):
    indptr, indices, rows = args
    origin, neighbour = csr_gather(indptr, indices, rows)
    exp_origin, exp_neighbour = [], []
    for pos, r in enumerate(rows):
        for k in range(indptr[r], indptr[r + 1]):
            exp_origin.append(pos)
            exp_neighbour.append(indices[k])
    assert origin.tolist() == exp_origin
    assert neighbour.tolist() == exp_neighbour
    assert neighbour.dtype == indices.dtype


def test_record_batches_concat_and_take():
    a = Records.empty()
    assert len(Records.concat([])) == 0
    b = Records(np.arange(3, dtype=np.int64), np.array([5, 6, 7], np.int32), np.zeros(3, np.int16),
                np.zeros(3, np.int8), np.zeros(3, np.int16), np.zeros(3, np.int16))
    both = Records.concat([a, b, b])
    assert len(both) == 6 and both.citizen.tolist() == [5, 6, 7, 5, 6, 7]
    truth = RecordTruth(np.arange(3, dtype=np.int64), np.arange(3, dtype=np.int64), np.array([5, 6, 7], np.int32),
                        np.array([True, False, True]))
    assert b.take(truth.true).citizen.tolist() == [5, 7]
    ev = EventBatch.of(np.zeros(4, np.int16), np.arange(4, dtype=np.int32), np.zeros(4, np.int8), 10)
    assert ev.take(np.array([3, 1])).citizen.tolist() == [3, 1]
    assert ev.event_id.tolist() == [10, 11, 12, 13] and ev.made.all()


def test_regime_records_carry_no_truth():
    """Truth is kept from decisions by type: the regime's records have no truth flag and no actor,
    and the scorer's module does not import the audit."""
    from dataclasses import fields

    import scorelab.regime.scorer as scorer

    names = {f.name for f in fields(Records)}
    assert not names & {"true", "actor", "event_id"}
    assert "audit" not in scorer.__dict__ and "Auditor" not in scorer.__dict__
    assert "import scorelab.audit" not in open(scorer.__file__).read()
    assert "from scorelab.audit" not in open(scorer.__file__).read()
    assert Decisions.empty().wrongful.dtype == bool
