"""What a scorer's channels record of the day's events (S1-M1, S1-M3, S1-M4, S1-M10, S2-N5).

Each channel covers a share of the events it can see, misses some (e.g. a face-recognition
FNIR), puts some on the wrong citizen (a false match) and receives invented reports. Cash
payments are invisible to the payments channel (S1-M3). An event is attributed to the first
channel, in the scorer's order, that records it, so one event makes at most one record per
scorer. Only event types the scorer acts on, and offences (for the missed-offence measure),
are looked at; only acts that happened are seen (a refused attempt was not made).

The records come in two aligned parts: what the regime sees (`Records`) and what really lies
behind them (`RecordTruth`), which only the audit reads.
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.contagion import cascade_sizes
from scorelab.streams import stream
from scorelab.tables import EventBatch, Records, RecordTruth
from scorelab.vocabulary import CHANNEL_INDEX, DIGITAL, EVENTS

PAID = np.array([e.paid for e in EVENTS])
OFFENCE = np.array([e.offence for e in EVENTS])
PAYMENTS = CHANNEL_INDEX["payments"]
MIN_AGE = np.array([e.min_age for e in EVENTS])
MAX_AGE = np.array([e.max_age for e in EVENTS])


def observe(events: EventBatch, scorer, day: int, seed: int, n_citizens: int,
            next_record_id: int, network=None, age: np.ndarray | None = None) -> tuple[Records, RecordTruth]:
    """Records made today by one scorer's channels; `day_recorded` includes each channel's delay.

    `events` are the day's acts that happened. A crowd channel (S1-M11) needs the contact
    network and ages: the act is recorded only when enough people pile on.
    """
    in_view = (scorer.observable & (scorer.acted_on | OFFENCE))[events.etype]
    ev = events.take(in_view)
    channel = np.full(len(ev), -1, np.int16)
    for ch in scorer.channels:
        sees = ch.observes[ev.etype] & (channel < 0)
        if ch.index == PAYMENTS:
            sees &= ~PAID[ev.etype] | (ev.paid == DIGITAL)
        idx = np.flatnonzero(sees)
        rng = stream(seed, "surveillance", scorer.index, ch.index, day)
        p = ch.coverage_of(ev.etype[idx], day) * (1.0 - ch.miss)
        idx = idx[rng.random(len(idx)) < p]
        if ch.crowd_threshold and len(idx):
            idx = idx[_pile_on(ch, ev.citizen[idx], network, age, seed, scorer.index, day)]
        channel[idx] = ch.index
    recorded = channel >= 0
    rec = ev.take(recorded)
    rec_channel = channel[recorded].astype(np.int8)
    attributed = rec.citizen.copy()
    true = np.ones(len(rec), bool)
    delay = np.zeros(len(rec), np.int16)
    for ch in scorer.channels:
        mine = rec_channel == ch.index
        delay[mine] = ch.delay
        if ch.misattribution > 0 and mine.any() and n_citizens > 1:  # nobody else to mistake them for
            rng = stream(seed, "surveillance.misattribution", scorer.index, ch.index, day)
            wrong = np.flatnonzero(mine & (rng.random(len(rec)) < ch.misattribution))
            others = rng.integers(0, n_citizens - 1, len(wrong))
            others += others >= attributed[wrong]  # never the actor themself
            if age is not None:
                others = _old_enough(others, rec.etype[wrong], age, rng, exclude=attributed[wrong])
            attributed[wrong] = others
            true[wrong] = False
    records = [Records(np.empty(len(rec), np.int64), attributed.astype(np.int32), rec.etype, rec_channel,
                       np.full(len(rec), day, np.int16), (day + delay).astype(np.int16))]
    truth = [RecordTruth(np.empty(len(rec), np.int64), rec.event_id, rec.citizen.astype(np.int32), true)]
    for ch in scorer.channels:
        if ch.invented_per_million > 0:
            r, t = _invented(ch, scorer, day, seed, n_citizens, age)
            records.append(r)
            truth.append(t)
    out, tr = Records.concat(records), RecordTruth.concat(truth)
    out.record_id = np.arange(next_record_id, next_record_id + len(out), dtype=np.int64)
    tr.record_id = out.record_id
    return out, tr


def _invented(ch, scorer, day: int, seed: int, n: int, age: np.ndarray | None) -> tuple[Records, RecordTruth]:
    """Reports of misconduct that never happened, on random citizens old enough for the act."""
    rng = stream(seed, "surveillance.invented", scorer.index, ch.index, day)
    types = np.flatnonzero(ch.observes & OFFENCE & scorer.acted_on)
    k = rng.poisson(ch.invented_per_million * n / 1e6) if len(types) else 0
    etype = types[rng.integers(0, max(len(types), 1), k)].astype(np.int16)
    citizen = rng.integers(0, n, k)
    if age is not None:
        citizen = _old_enough(citizen, etype, age, rng)
    citizen = citizen.astype(np.int32)
    return (Records(np.empty(k, np.int64), citizen, etype, np.full(k, ch.index, np.int8), np.full(k, day, np.int16),
                    np.full(k, day + ch.delay, np.int16)),
            RecordTruth(np.empty(k, np.int64), np.full(k, -1, np.int64), np.full(k, -1, np.int32), np.zeros(k, bool)))


def _pile_on(ch, actors: np.ndarray, network, age: np.ndarray, seed: int, scorer: int, day: int) -> np.ndarray:
    """S1-M11: which acts draw at least `threshold` reports.

    The actor's contacts join by their age band's participation; with `spread` > 0 the pile-on
    spreads on as an independent cascade from each reporter to their own contacts (the
    validated process of consequences/contagion.py), for at most `max_generations` steps.
    """
    origin, contact = network.neighbours(actors.astype(np.int64))
    rng = stream(seed, "surveillance.crowd", scorer, ch.index, day)
    joins = rng.random(len(contact)) < ch.crowd_participation(age[contact])
    if ch.crowd_spread > 0 and ch.crowd_generations > 0:
        reports = cascade_sizes(network.neighbours, network.n, origin[joins], contact[joins], actors, ch.crowd_spread,
                                ch.crowd_generations, rng)
    else:
        reports = np.bincount(origin[joins], minlength=len(actors))
    return reports >= ch.crowd_threshold


def _old_enough(cit: np.ndarray, etype: np.ndarray, age: np.ndarray, rng: np.random.Generator,
                exclude: np.ndarray | None = None, rounds: int = 20) -> np.ndarray:
    """Redraw wrongly chosen citizens until their age fits the act (no drunk driving at six).

    Rejection sampling over the whole population; after `rounds` the last draw stands (only
    possible in tiny hand-made societies with nobody of the right age).
    """
    cit = cit.copy()
    for _ in range(rounds):
        a = age[cit]
        bad = (a < MIN_AGE[etype]) | (a > MAX_AGE[etype])
        if exclude is not None:
            bad |= cit == exclude
        if not bad.any():
            break
        cit[bad] = rng.integers(0, len(age), int(bad.sum()))
    return cit
