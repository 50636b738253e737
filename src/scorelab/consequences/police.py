"""Police alerts (S1-M4, S1-M9): an alert is a police contact.

The citizen is stopped: hours lost (and, for workers, the income of those hours), and a
police record of the stop (`police_stop`, recorded through the police channel the next day),
which a regime's rules may score. Triage errors (alerts missed, false alarms) are the
measure's own (regime `triage:`).
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.access import WORKING
from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.tables import Decisions


@handles("alert")
def alert(dec: Decisions, idx: np.ndarray, world: World) -> None:
    cit = dec.citizen[idx]
    wrongful = dec.wrongful[idx]
    np.add.at(world.police_contacts, cit[~wrongful], 1)
    np.add.at(world.police_contacts_wrongful, cit[wrongful], 1)
    workers = WORKING[world.state.sector[cit]]
    hours = world.params.police_stop_hours
    world.economy.lose(cit[workers], hours * world.economy.hourly(cit[workers]), wrongful[workers])
    world.police_due[world.day + 1].append(cit.astype(np.int32))
