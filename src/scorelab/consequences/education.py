"""Children's futures (S1-M6: "children may not be allowed to go to college").

A school leaver whose college application is made is admitted with the world's admission
rate, and gains the college premium in expected adult income; one whose application is
refused does not, whatever their chance. A child enrolled at a high-fee school gains a
smaller premium. The admission draw is made for every application, refused or not, so the
run and its baseline agree on who would have been admitted.
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.world import World
from scorelab.streams import stream
from scorelab.vocabulary import MADE, REFUSED, SECTOR_INDEX


def college(world: World, applications: np.ndarray) -> None:
    if not len(applications):
        return
    ev = world.events
    u = stream(world.seed, "consequences.admission", world.day).random(len(applications))
    would = u < world.params.college_admission
    admitted = applications[would & (ev.outcome[applications] == MADE)]
    cit = ev.citizen[admitted]
    gain = cit[~world.state.college[cit]]
    world.state.college[gain] = True
    world.state.sector[gain] = SECTOR_INDEX["student"]
    world.expected_income[gain] *= np.exp(world.params.college_premium)
    _barred(world, applications[would & (ev.outcome[applications] == REFUSED)])


def school(world: World, enrolments: np.ndarray) -> None:
    if not len(enrolments):
        return
    ev = world.events
    placed = enrolments[ev.outcome[enrolments] == MADE]
    world.expected_income[ev.citizen[placed]] *= np.exp(world.params.school_premium)
    _barred(world, enrolments[ev.outcome[enrolments] == REFUSED])


def _barred(world: World, pos: np.ndarray) -> None:
    cit = world.events.citizen[pos]
    wrongful = world.wrongful[pos]
    np.add.at(world.education_lost, cit[~wrongful], 1)
    np.add.at(world.education_lost_wrongful, cit[wrongful], 1)
