"""Scenario files: a small hand-made situation and what a regime must make of it.

In the manner of OpenFisca's YAML tests: input (citizens, households, contacts, their true
events, channel settings), expected output (records, points, tier, lists, sanctions, rewards)
with a tolerance, and the arithmetic in a `comment`. See docs/SCENARIOS.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scorelab.vocabulary import ACCOUNT_STATES, EVENT_INDEX, SECTOR_INDEX


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CitizenSpec(_Strict):
    """One synthetic citizen; anything unset takes a plain default."""

    id: int = Field(ge=0)
    age: int = Field(30, ge=0, le=120)
    sex: Literal["female", "male"] = "female"
    region: int = Field(0, ge=0)
    urban: bool = True
    college: bool = False
    income: float = Field(30000.0, gt=0)
    sector: str = "services"
    household: int | None = Field(None, ge=0, description="household id (default: a household of one)")
    aware: bool = False
    has_loan: bool = False
    cashless: float = Field(1.0, ge=0, le=1)
    dog_owner: bool = False
    online: bool = Field(True, description="has internet access")
    account: Literal[ACCOUNT_STATES] = Field("open", description="bank account state at the start")
    seller: bool = Field(False, description="sells on online platforms")
    savings: float | None = Field(None, description="savings at the start in yuan (default: drawn)")

    @model_validator(mode="after")
    def _sector(self):
        if self.sector not in SECTOR_INDEX:
            raise ValueError(f"unknown sector '{self.sector}' (allowed: {', '.join(SECTOR_INDEX)})")
        return self


class EventSpec(_Strict):
    """A true event: what the citizen really did on that day."""

    day: int = Field(ge=0)
    citizen: int = Field(ge=0)
    event: str
    digital: bool = Field(True, description="paid digitally (purchases)")
    sector: str | None = Field(None, description="target sector of a job application")
    repeat: int = Field(1, ge=1, le=10000, description="the same event this many times that day")

    @model_validator(mode="after")
    def _known(self):
        if self.event not in EVENT_INDEX:
            raise ValueError(f"unknown event type '{self.event}' (allowed: {', '.join(EVENT_INDEX)})")
        if self.sector is not None and self.sector not in SECTOR_INDEX:
            raise ValueError(f"unknown sector '{self.sector}' (allowed: {', '.join(SECTOR_INDEX)})")
        return self


class Expectation(_Strict):
    """What must hold at the end; each key present is checked (a comment gives the arithmetic)."""

    citizen: int = Field(ge=0)
    comment: str = ""
    tolerance: float = Field(1e-9, ge=0, description="absolute tolerance on numbers")
    score: float | None = None
    scorer: str | None = Field(None, description="which scorer's score/tier (default: the first)")
    tier: str | None = None
    on_lists: list[str] | None = Field(None, description="exactly these lists at the end (names)")
    ever_lists: list[str] | None = Field(None, description="these lists were joined at some point")
    records: int | None = Field(None, description="records attributed to the citizen (all scorers)")
    false_records: int | None = None
    points: dict[str, float] | None = Field(None, description="total points by rule label, e.g. state:traffic_ticket")
    association_from: list[int] | None = Field(None, description="citizens whose penalties reached this one")
    sanctions: dict[str, int] | None = Field(None, description="count by measure label, e.g. state:flight_ban")
    rewards: dict[str, int] | None = None
    responses: dict[str, int] | None = Field(None, description="count by measure label, e.g. state:health_advice")
    wrongful_sanctions: int | None = None
    appeals_won: int | None = None
    # consequences (issue 9): what the citizen's circumstances are at the end
    sector: str | None = Field(None, description="employment sector at the end")
    savings: float | None = Field(None, description="savings at the end (yuan; use `tolerance`)")
    savings_below: float | None = Field(None, description="savings at the end are below this")
    income_lost: float | None = Field(None, description="income sanctions cost (rightly and wrongly)")
    college: bool | None = Field(None, description="has a college education at the end")
    education_lost: int | None = Field(None, description="school or college places lost to a bar")
    account: str | None = Field(None, description="bank account state at the end (none, open, suspended, closed)")
    online: bool | None = Field(None, description="has internet access at the end")
    made: dict[str, int] | None = Field(None, description="attempts or acts made, by event type")
    refused: dict[str, int] | None = Field(None, description="attempts refused, by event type")
    substituted: dict[str, int] | None = Field(None, description="trips replaced by a slower way, by event type")
    ties: int | None = Field(None, description="live ties at the end")
    police_contacts: int | None = Field(None, description="police stops after alerts")
    left_household: bool | None = Field(None, description="broke with their household during the run")
    has_loan: bool | None = Field(None, description="holds a loan at the end")
    instalment: float | None = Field(None, description="monthly loan instalment at the end (yuan)")
    money: dict[str, float] | None = Field(None, description="money moved over the run by flow (income, sales, "
                                           "living, instalments, measures, fees, deposits, travel, frozen)")


class Scenario(_Strict):
    name: str
    description: str = ""
    regime: str = Field(description="preset name, or a YAML path relative to the scenario file")
    mechanisms: list[str] = Field(default_factory=list, description="mechanism ids this scenario proves")
    days: int = Field(30, ge=1, le=3650)
    seed: int = Field(0, ge=0)
    perfect_channels: bool = Field(True, description="every channel sees all it can, no errors, no delay")
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                description="channel settings applied to every scorer")
    set: dict[str, Any] = Field(default_factory=dict,
                                description="regime values by path, e.g. state.rules.barking_dog.points")
    world: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                             description="values of the society's world by section and key, e.g. "
                                                         "{consequences: {substitute_share: 1.0}}")
    citizens: list[CitizenSpec] = Field(min_length=1)
    contacts: list[tuple[int, int]] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    expect: list[Expectation] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self):
        ids = [c.id for c in self.citizens]
        if sorted(ids) != list(range(len(ids))):
            raise ValueError("citizen ids must be 0, 1, 2, ... without gaps")
        n = len(ids)
        for a, b in self.contacts:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(f"contact ({a}, {b}) must join two different citizens among 0..{n - 1}")
        for e in self.events:
            if e.citizen >= n:
                raise ValueError(f"event on day {e.day} names citizen {e.citizen}; citizens are 0..{n - 1}")
            if e.day >= self.days:
                raise ValueError(f"event on day {e.day} is outside the scenario's {self.days} days")
        for x in self.expect:
            if x.citizen >= n:
                raise ValueError(f"expectation names citizen {x.citizen}; citizens are 0..{n - 1}")
        return self
