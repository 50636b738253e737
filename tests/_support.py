"""Helpers shared by the tests: small regimes written from Python, runs, and table readers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from scorelab.engine.simulation import simulate
from scorelab.regime.compiled import CompiledRegime, compile_regime
from scorelab.regime.loader import parse_regime
from scorelab.society.model import Society

DATA = Path(__file__).parent / "data"
MECHANISMS_MD = Path("/work/shared/design/mechanisms.md")
DEMO = dict(citizens=5000, days=60, seed=1)  # the demo command at test size


def regime_dict(name: str = "testregime", *, rules=(), channels=None, tiers=None, lists=(), sanctions=(),
                association=None, deterrence=None, score=None) -> dict:
    """A one-scorer (unified) regime as a dict; every block is marked `assumption: true`."""
    scorer = {
        "name": "state",
        "score": score or {"assumption": True, "initial": 1000, "min": 0, "max": 2000},
        "channels": channels if channels is not None else {"police": {"assumption": True, "coverage": 1.0}},
        "rules": [{"assumption": True, **r} for r in rules],
    }
    if tiers is not None:
        scorer["tiers"] = {"assumption": True, "tiers": tiers}
    if lists:
        scorer["lists"] = [{"assumption": True, **lst} for lst in lists]
    if sanctions:
        scorer["sanctions"] = [{"assumption": True, **m} for m in sanctions]
    if association is not None:
        scorer["association"] = {"assumption": True, **association}
    data = {"name": name, "title": f"test regime {name}", "description": "built by the test suite",
            "topology": "unified", "scorers": [scorer]}
    if deterrence is not None:
        data["deterrence"] = {"assumption": True, **deterrence}
    return data


def compiled(data: dict | str, origin: str = "<test>") -> CompiledRegime:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    return compile_regime(parse_regime(text, origin), origin)


def preset_text(name: str) -> str:
    return (resources.files("scorelab") / "regimes" / f"{name}.yaml").read_text(encoding="utf-8")


def harsh_regime_text() -> str:
    """The unified preset with every penalty ten times larger, so that tiers C and D fill up
    within a short run (the preset itself rarely reaches D in 60-120 days)."""
    data = yaml.safe_load(preset_text("unified"))
    data["name"] = "harsh"
    for rule in data["scorers"][0]["rules"]:
        if rule["points"] < 0:
            rule["points"] *= 10
    return yaml.safe_dump(data, sort_keys=False)


def run_sim(society: Society, data: dict | str, days: int, seed: int, folder: Path):
    """simulate() into a fresh folder; returns the RunResult."""
    folder.mkdir(parents=True, exist_ok=True)
    return simulate(society, compiled(data), days, seed, folder)


def read(folder: Path, name: str):
    """A run table as pandas, label columns as plain strings."""
    df = pq.read_table(folder / name).to_pandas()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    return df


def replay_lists(list_events, n: int, list_label: str) -> np.ndarray:
    """Membership after replaying enter/exit rows of one list in file order."""
    on = np.zeros(n, bool)
    rows = list_events[list_events["list"] == list_label]
    for cit, action in zip(rows["citizen"].to_numpy(), rows["action"].to_numpy(), strict=True):
        on[cit] = action == "enter"
    return on
