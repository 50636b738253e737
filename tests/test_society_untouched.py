"""A run never changes the Society it is given (issue 10): the documented Python pattern runs
several regimes on one Society object, so every array must be the same before and after."""

from __future__ import annotations

import numpy as np
import yaml

from _support import preset_text
from scorelab import api
from scorelab.regime.loader import preset_names


def _arrays(soc) -> dict[str, np.ndarray]:
    out = {f"cols.{k}": v.copy() for k, v in soc.cols.items()}
    for name in ("household_indptr", "household_members", "graph_indptr", "graph_indices"):
        out[name] = getattr(soc, name).copy()
    return out


def _assert_untouched(soc, before: dict[str, np.ndarray]) -> None:
    after = _arrays(soc)
    assert after.keys() == before.keys()
    changed = [k for k in before if before[k].dtype != after[k].dtype or not np.array_equal(before[k], after[k])]
    assert not changed, f"the run changed the society's {changed}"


def _cutting_regime(tmp_path) -> str:
    """unified, with every recorded traffic violation listing the driver and every contact leaving:
    many ties are cut within days, and a run shorter than 30 days forms no new ties."""
    data = yaml.safe_load(preset_text("unified"))
    data["name"] = "cutting"
    s = data["scorers"][0]
    s["lists"][0]["entry"] = {"records": ["traffic_violation", "court_judgment_unpaid"]}
    s["avoidance"]["probability"] = 1.0
    path = tmp_path / "cutting.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_runs_leave_the_society_as_it_was(tmp_path):
    """Every preset, and a regime that cuts many ties, in runs shorter than the 30 days after which
    new ties form (the case that scrambled the graph) and, for the cutting regime, longer."""
    soc = api.build_society(3000, seed=4)
    before = _arrays(soc)
    cutting = _cutting_regime(tmp_path)
    for i, (regime, days) in enumerate([*((p, 12) for p in preset_names()), (cutting, 12), (cutting, 40)]):
        folder = api.run(regime, days=days, seed=1 + i, baseline=None, out=tmp_path / "runs", society=soc,
                         events="none")
        if regime == cutting:
            assert api.summary(folder)["network"]["ties_cut"] > 0, "the test needs ties cut"
        _assert_untouched(soc, before)
