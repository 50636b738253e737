"""Find, read and validate regime files; turn every failure into one clear message."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, has_dated, on_day
from scorelab.regime.schema import Regime


@dataclass(frozen=True)
class LoadedRegime:
    regime: Regime
    text: str       # the YAML as read, copied into every run folder
    origin: str     # preset name or file path
    sha256: str


def preset_names() -> list[str]:
    folder = resources.files("scorelab") / "regimes"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_regime(name_or_file: str | Path) -> LoadedRegime:
    """A preset name (see `scorelab regimes`) or the path of a YAML regime file."""
    text, origin = _read(str(name_or_file))
    return LoadedRegime(parse_regime(text, origin), text, origin, hashlib.sha256(text.encode()).hexdigest())


def _read(name_or_file: str) -> tuple[str, str]:
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in name_or_file:
        if not path.is_file():
            raise ScorelabError("regime file not found", path=str(path),
                                allowed=f"a YAML file or a preset: {', '.join(preset_names())}")
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ScorelabError(f"cannot read: {exc}", path=str(path)) from None
    ref = resources.files("scorelab") / "regimes" / f"{name_or_file}.yaml"
    if not ref.is_file():
        raise ScorelabError(f"unknown regime '{name_or_file}'", key="regime",
                            allowed=f"a preset ({', '.join(preset_names())}) or a path to a .yaml file")
    return ref.read_text(encoding="utf-8"), f"preset:{name_or_file}"


def read_yaml(text: str, origin: str):
    """YAML to Python data, or one clear message with the line and column of the problem."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScorelabError(f"not valid YAML{where}: {problem}", path=origin) from None


def parse_regime(text: str, origin: str = "<regime>") -> Regime:
    return validate_regime(read_yaml(text, origin), origin)


def validate_regime(data, origin: str) -> Regime:
    """Validate regime data (already parsed from YAML) into typed objects."""
    if not isinstance(data, dict):
        raise ScorelabError("a regime file must be a mapping of keys to values", path=origin,
                            allowed="name, title, description, mechanisms, references, topology, "
                                    "deterrence, scorers")
    if not has_dated(data):
        return _validated(data, origin)
    days = breakpoints(data, origin)
    regime = _validated(on_day(data, 0), origin)
    for day in days:  # every day's values must make a valid regime of the same shape
        later = _validated(on_day(data, day), f"{origin} (values from day {day})")
        regime.schedule[day] = later
    return regime


def _validated(data, origin: str) -> Regime:
    try:
        return Regime.model_validate(data)
    except ValidationError as exc:
        raise _friendly(exc, origin) from None


def _friendly(exc: ValidationError, origin: str, root=None) -> ScorelabError:
    """The first validation error as 'file: key 'a.b[0].c': message (allowed: ...)'."""
    err = exc.errors(include_url=False)[0]
    key = _key_path(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    allowed = None
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        allowed = _allowed_keys(err["loc"], root or Regime)
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] == "literal_error":
        allowed = str(err.get("ctx", {}).get("expected", "")).replace("'", "") or None
        msg = f"got {err.get('input')!r}"
    if not key and ": " in msg and msg.split(": ", 1)[0].replace("[", "").replace("]", "").replace(
            ".", "").replace("_", "").isalnum():
        key, msg = msg.split(": ", 1)
    if allowed is None and msg.endswith(")") and "(allowed: " in msg:
        msg, allowed = msg[:-1].split(" (allowed: ", 1)
    return ScorelabError(msg, path=origin, key=key or None, allowed=allowed)


def _key_path(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_provenance(), Sourced]",) or str(part).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(loc, root) -> str:
    """The keys allowed where an unknown key was found, by walking the schema along loc."""
    model = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            # a dict value such as channels.<name>
            continue
        model = _inner_model(field.annotation)
    return ", ".join(model.model_fields) if model is not None else ""


def _inner_model(annotation):
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
