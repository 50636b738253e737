"""Composing a run in the dashboard: a preset, its size, and changes as (path, value) pairs.

A path names one value of the regime the way reforms do (issue 11): mappings by key, lists of named
items by name, e.g. `scorers.state.channels.cameras.misattribution`. The form shows each preset's
main knobs with the preset's current values; a knob left at that value is no change.

`start_run` is the one place that turns a composed run into a call of `scorelab.api.run`: with
reforms (`api.run(..., overrides=...)`) it passes the changes on; until then it writes a changed copy
of the preset for the few knobs listed here.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from scorelab.regime.dated import on_day
from scorelab.server.state import BadInput, Limits

DEFAULTS = {"citizens": 100_000, "days": 365, "seed": 0, "baseline": "none"}  # as `scorelab run`


@dataclass(frozen=True)
class KnobSpec:
    """A value the form offers in a block of each scorer (every channel, or the association block)."""

    field: str
    label: str
    lo: float
    hi: float
    help: str
    default: float | None  # the schema's default when the block leaves it out; None: offered only if present


CHANNEL_KNOBS: tuple[KnobSpec, ...] = (
    KnobSpec("coverage", "coverage", 0.0, 1.0, "share of events within the channel's reach", None),
    KnobSpec("misattribution", "false matches", 0.0, 1.0, "share of records put on the wrong citizen (S1-M4)", 0.0),
    KnobSpec("invented_per_million", "invented", 0.0, 1000.0,
             "records of acts nobody did, per million citizens a day", None),
)
ASSOCIATION_KNOBS: tuple[KnobSpec, ...] = (
    KnobSpec("household_share", "household share", 0.0, 1.0, "share of a penalty passed to each household member "
             "(S1-M7)", None),
    KnobSpec("contact_share", "contact share", 0.0, 1.0, "share of a penalty passed to each contact (S1-M7)", None),
)


@dataclass(frozen=True)
class Knob:
    path: str        # scorers.<scorer>.channels.<channel>.<field> or scorers.<scorer>.association.<field>
    scorer: str
    group: str       # the channel's name, or "association"
    spec: KnobSpec
    value: float     # the preset's current value


@dataclass
class Composed:
    """A valid compose form: what to run and what changed."""

    preset: str
    citizens: int
    days: int
    seed: int
    baseline: str | None
    changes: list[tuple[str, float]]

    @property
    def name(self) -> str:
        """The run named after what changed: `unified-100000x365-s0-cameras.misattribution=0.01`."""
        base = f"{self.preset}-{self.citizens}x{self.days}-s{self.seed}"
        if not self.changes:
            return base
        return base + "-" + ",".join(f"{short_path(p, self.changes)}={_g(v)}" for p, v in self.changes)


# ============================================================================ presets and their knobs
def preset_data(preset: str) -> dict:
    """The preset as plain data, every node its own: what YAML anchors share (`<<: *bureau`) is copied, so
    that a change to one scorer is not a change to its siblings (dated values keep their whole-number days)."""
    from scorelab.regime.loader import load_regime

    return _unshared(yaml.safe_load(load_regime(preset).text))


def _unshared(node):
    if isinstance(node, dict):
        return {k: _unshared(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unshared(v) for v in node]
    return node


@lru_cache(maxsize=32)
def knobs(preset: str) -> tuple[Knob, ...]:
    """The main knobs of a preset with its current values: every channel's coverage and false matches (and
    invented records where it has them), and the association shares (presets are package data: read once)."""
    data = preset_data(preset)
    out = []
    for sc in data.get("scorers") or []:
        name = str(sc.get("name"))
        blocks = [(ch, block, CHANNEL_KNOBS, f"channels.{ch}") for ch, block in (sc.get("channels") or {}).items()]
        if isinstance(sc.get("association"), dict):
            blocks.append(("association", sc["association"], ASSOCIATION_KNOBS, "association"))
        for group, block, specs, prefix in blocks:
            if not isinstance(block, dict):
                continue
            for spec in specs:
                v = on_day(block.get(spec.field, spec.default), 0)  # a dated value shows its day-0 value
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out.append(Knob(f"scorers.{name}.{prefix}.{spec.field}", name, str(group), spec, float(v)))
    return tuple(out)


def short_path(path: str, changes: list[tuple[str, float]]) -> str:
    """`cameras.misattribution` for `scorers.state.channels.cameras.misattribution`, unless two changes
    would then read alike (then the scorer stays)."""
    parts = path.split(".")
    short = ".".join(parts[-2:]) if len(parts) >= 2 else path
    others = [".".join(p.split(".")[-2:]) for p, _ in changes if p != path]
    return short if short not in others else ".".join(parts[1:])


def _get(block, keys: list[str]):
    for k in keys:
        if not isinstance(block, dict) or k not in block:
            return None
        block = block[k]
    return block


def _g(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-4 or v == 0 else f"{v:.6g}"


# ============================================================================ the form
def parse_form(form: dict[str, str], presets: list[str], limits: Limits) -> tuple[Composed | None, list[str]]:
    """The form's values, or the list of what is wrong with them (each naming the field and what is allowed)."""
    errors: list[str] = []
    preset = form.get("preset", "")
    if preset not in presets:
        errors.append(f"preset: got '{preset}', allowed: {', '.join(presets)}")
    baseline = form.get("baseline", "none")
    if baseline not in ("", *presets):
        errors.append(f"baseline: got '{baseline}', allowed: {', '.join(presets)} or no baseline")
    citizens = _int(form, "citizens", 1, limits.max_citizens, errors)
    days = _int(form, "days", 1, limits.max_days, errors)
    seed = _int(form, "seed", 0, limits.max_seed, errors)
    if citizens and days and citizens * days > limits.max_cells:
        errors.append(f"citizens x days: got {citizens:,} x {days:,} = {citizens * days:,}, allowed: at most "
                      f"{limits.max_cells:,} on this dashboard (its --max-cells); bigger runs belong on the "
                      "command line")
    changes: list[tuple[str, float]] = []
    if preset in presets:
        offered = {k.path: k for k in knobs(preset)}
        for field, raw in form.items():
            if not field.startswith("set:"):
                continue
            path = field[4:]
            knob = offered.get(path)
            if knob is None:
                errors.append(f"{path}: not a knob of preset {preset} (allowed: {', '.join(offered) or 'none'})")
                continue
            v = _float(raw, knob, errors)
            if v is not None and not math.isclose(v, knob.value, rel_tol=1e-12, abs_tol=0.0):
                changes.append((path, v))
    if errors:
        return None, errors
    changes.sort()
    return Composed(preset, citizens, days, seed, baseline or None, changes), []


def _int(form: dict, name: str, lo: int, hi: int, errors: list[str]) -> int | None:
    raw = str(form.get(name, "")).strip().replace(",", "").replace("_", "")
    try:
        v = int(raw)
    except ValueError:
        errors.append(f"{name}: got '{raw[:40]}', allowed: a whole number from {lo:,} to {hi:,}")
        return None
    if not lo <= v <= hi:
        errors.append(f"{name}: got {v:,}, allowed: a whole number from {lo:,} to {hi:,}")
        return None
    return v


def _float(raw: str, knob: Knob, errors: list[str]) -> float | None:
    raw = str(raw).strip()
    if not raw:
        return None
    allowed = f"a number from {knob.spec.lo:g} to {knob.spec.hi:g} (the preset has {_g(knob.value)})"
    try:
        v = float(raw)
    except ValueError:
        errors.append(f"{knob.path}: got '{raw[:40]}', allowed: {allowed}")
        return None
    if not (math.isfinite(v) and knob.spec.lo <= v <= knob.spec.hi):
        errors.append(f"{knob.path}: got {raw[:40]}, allowed: {allowed}")
        return None
    return v


# ============================================================================ running it
def reforms_available() -> bool:
    """Whether scorelab.api.run takes `overrides` (the reform mechanism of issue 11)."""
    from scorelab import api

    try:
        return "overrides" in inspect.signature(api.run).parameters
    except (TypeError, ValueError):
        return False


def changed_regime(preset: str, changes: list[tuple[str, float]]) -> dict:
    """Until reforms land: the preset's data with the changes applied, each changed block saying so, and a
    name that says what changed (regime names allow [a-z0-9_-] only)."""
    data = preset_data(preset)
    for path, value in changes:
        keys = path.split(".")
        if len(keys) < 3 or keys[0] != "scorers":
            raise BadInput(f"{path}: not a knob this dashboard can change yet")
        scorer = next((s for s in data.get("scorers") or [] if s.get("name") == keys[1]), None)
        parent = _get(scorer, keys[2:-1])
        if not isinstance(parent, dict):
            raise BadInput(f"{path}: preset {preset} has no such block")
        old = parent.get(keys[-1], "default")
        parent[keys[-1]] = value
        note = f" [changed in the dashboard: {keys[-1]} {old} -> {_g(value)}]"
        parent["description"] = (str(parent.get("description", "")).rstrip() + note).strip()
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", f"{'.'.join(p.split('.')[-2:])}-{_slug_value(v)}".lower()).strip("-")
                    for p, v in changes)
    name = f"{data['name']}-{slug}"
    if len(name) > 60:
        name = f"{data['name']}-{len(changes)}-changes-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    data["name"] = name
    data["title"] = f"{data.get('title', preset)} (changed in the dashboard)"
    return data


def _slug_value(v: float) -> str:
    return _g(v).replace("-", "m").replace(".", "p").replace("+", "")


def check_composed(c: Composed) -> None:
    """Raise ScorelabError now if the changed regime would not compile (so the form says it; nothing written)."""
    from scorelab.regime.compiled import compile_regime
    from scorelab.regime.loader import load_regime, parse_regime

    if c.changes and not reforms_available():
        text = yaml.safe_dump(changed_regime(c.preset, c.changes), sort_keys=False, allow_unicode=True)
        compile_regime(parse_regime(text, f"preset:{c.preset} (changed)"), f"preset:{c.preset} (changed)")
    else:
        loaded = load_regime(c.preset)
        compile_regime(loaded.regime, loaded.origin)


def start_run(c: Composed, out: Path, progress: Callable[[str, int, int], None]) -> Path:
    """Run a composed run into `out` and return its folder: the adapter between the form and the API.

    With reforms, the changes go to `api.run(..., overrides=...)`. Without, the preset is copied with the
    changes applied to a hidden file under `<runs>/.compose/` for the length of the run (the run folder
    keeps its own copy as regime.yaml), and removed afterwards whatever happens.
    """
    from scorelab import api

    common = dict(citizens=c.citizens, days=c.days, seed=c.seed, baseline=c.baseline, runs=out, progress=progress)
    if not c.changes:
        return api.run(c.preset, **common)
    if reforms_available():
        return api.run(c.preset, overrides=dict(c.changes), **common)
    data = changed_regime(c.preset, c.changes)
    folder = out / ".compose"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(f"# composed in the scorelab dashboard from preset {c.preset}\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        return api.run(str(path), **common)
    finally:
        path.unlink(missing_ok=True)
        try:
            folder.rmdir()  # only if no other run is using it
        except OSError:
            pass
