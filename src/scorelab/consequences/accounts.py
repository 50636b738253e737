"""Bank accounts (S1-M13, S1-M14): banks may close the accounts of whom they judge a risk.

Without an account a citizen lives on cash: wages cost a fee to receive, no loans, no
digital payments (so no gate that checks payments can see them either).
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.tables import Decisions
from scorelab.vocabulary import ACCOUNT_CLOSED, ACCOUNT_OPEN, MADE, NO_ACCOUNT


@handles("close_account")
def close_account(dec: Decisions, idx: np.ndarray, world: World) -> None:
    cit = dec.citizen[idx]
    had = world.state.account[cit] == ACCOUNT_OPEN
    cit, wrongful = cit[had], dec.wrongful[idx][had]
    world.state.account[cit] = ACCOUNT_CLOSED
    world.accounts_closed[cit] = True
    world.accounts_closed_wrongful[cit] = wrongful


def open_accounts(world: World, openings: np.ndarray) -> None:
    """Account openings (positions in today's events) that were made open an account."""
    ev = world.events
    made = openings[ev.outcome[openings] == MADE]
    cit = ev.citizen[made]
    cit = cit[np.isin(world.state.account[cit], (NO_ACCOUNT, ACCOUNT_CLOSED))]
    world.state.account[cit] = ACCOUNT_OPEN
