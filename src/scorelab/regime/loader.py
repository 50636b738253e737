"""Find, read and validate regime files; turn every failure into one clear message.

A regime file is untrusted input. It is read with limits (size, nesting, entries, aliases)
checked on the YAML event stream before anything is built, and every number and text is checked
before the schema sees it, so that a file either validates quickly and in bounded memory or
fails with one message naming the file, the key path and what is allowed. The limits are
documented in docs/REGIME_LANGUAGE.md ("Limits").
"""

from __future__ import annotations

import hashlib
import math
import re
import reprlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, has_dated, on_day
from scorelab.regime.schema import Regime

MAX_FILE_BYTES = 1_000_000   # a preset is about 16 kB
MAX_DEPTH = 24               # nested lists and mappings (a preset nests at most 8 deep)
MAX_NODES = 20_000           # values once aliases are expanded (the largest preset has 1,249)
MAX_ITEMS = 1_000            # entries in one list or mapping
MAX_TEXT = 10_000            # characters in one text value
MAX_NAME = 64                # characters in a key or a `name` (names become file names and labels)
MAX_MAGNITUDE = 1e9          # largest absolute value of any number in a regime
MAX_LABELS = 32_767          # rule, measure and list labels are int16 codes in the run tables
MAX_DATED_DAYS = 64          # days on which dated values (mappings of day -> value) change; each is validated

_PRESET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 5x faster


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
        return read_regime_file(path), str(path)
    allowed = f"a preset ({', '.join(preset_names())}) or a path to a .yaml file"
    if not _PRESET.match(name_or_file):
        raise ScorelabError(f"unknown regime {_short(name_or_file)}", key="regime", allowed=allowed)
    ref = resources.files("scorelab") / "regimes" / f"{name_or_file}.yaml"
    if not ref.is_file():
        raise ScorelabError(f"unknown regime '{name_or_file}'", key="regime", allowed=allowed)
    return ref.read_text(encoding="utf-8"), f"preset:{name_or_file}"


def read_regime_file(path: Path) -> str:
    """The text of a regime file: a regular file of at most MAX_FILE_BYTES bytes of UTF-8."""
    if path.is_dir():
        raise ScorelabError("is a folder, not a regime file", path=str(path), allowed="a YAML file")
    if not path.is_file():
        what = "regime file not found" if not path.exists() else "not a regular file"
        raise ScorelabError(what, path=str(path), allowed=f"a YAML file or a preset: {', '.join(preset_names())}")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScorelabError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ScorelabError("file too large", path=str(path),
                            allowed=f"at most {MAX_FILE_BYTES:,} bytes (a preset is about 16 kB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScorelabError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}", path=str(path),
                            allowed="a text file encoded as UTF-8") from None


def read_yaml(text: str, origin: str):
    """YAML to Python data, or one clear message with the line and column of the problem.

    The event stream is scanned first, without building anything, for nesting depth, entries
    per list or mapping and the number of values once aliases are expanded: a "billion laughs"
    file or a 10,000-deep nesting fails at once instead of filling memory or the stack.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ScorelabError("text too large", path=origin, allowed=f"at most {MAX_FILE_BYTES:,} characters")
    try:
        _scan_limits(text)
        return yaml.load(text, Loader=_Loader)  # a safe loader: plain YAML types only
    except _LimitError as exc:
        raise ScorelabError(exc.problem, path=origin, key=exc.key or None, allowed=exc.allowed) from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1 if isinstance(exc.position, int) else "?"
        raise ScorelabError(f"not valid YAML at line {line}: character {exc.character!r} is not allowed",
                            path=origin, allowed="printable text (tabs and line breaks are fine)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:  # libyaml's own limit (1,000) can come first
            raise ScorelabError(f"nested too deeply{where}", path=origin,
                                allowed=f"at most {MAX_DEPTH} levels of lists and mappings") from None
        raise ScorelabError(f"not valid YAML{where}: {_clip(problem)}", path=origin) from None
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a 5,000-digit integer, a date 2020-13-45
        raise ScorelabError(f"not valid YAML: {_clip(exc)}", path=origin,
                            allowed="numbers and dates that YAML can represent") from None


class _LimitError(Exception):
    def __init__(self, problem: str, key: str, allowed: str) -> None:
        super().__init__(problem)
        self.problem, self.key, self.allowed = problem, key, allowed


class _Open:
    """A list or mapping being scanned."""

    __slots__ = ("anchor", "is_map", "start", "children", "key")

    def __init__(self, anchor: str | None, is_map: bool, start: int) -> None:
        self.anchor, self.is_map, self.start = anchor, is_map, start
        self.children = 0   # nodes read inside it (a mapping's keys and values both count)
        self.key = None     # the mapping's current key, for messages


def _scan_limits(text: str) -> None:
    """Depth, entries and expanded size, checked on the event stream (constant memory per level)."""
    events = _Loader(text)
    stack: list[_Open] = []
    sizes: dict[str, int] = {}   # anchor -> number of values it stands for, aliases expanded
    total = 0                    # values so far, aliases expanded
    try:
        while events.check_event():
            ev = events.get_event()
            if isinstance(ev, yaml.CollectionEndEvent):
                done = stack.pop()
                if done.anchor is not None:
                    sizes[done.anchor] = total - done.start
                continue
            if not isinstance(ev, yaml.NodeEvent):
                continue
            if stack:
                parent = stack[-1]
                if parent.is_map and parent.children % 2 == 0:
                    parent.key = _clip(ev.value, MAX_NAME) if isinstance(ev, yaml.ScalarEvent) else "?"
                parent.children += 1
                entries = (parent.children + 1) // 2 if parent.is_map else parent.children
                if entries > MAX_ITEMS:
                    raise _LimitError("too many entries", _scan_path(stack[:-1]), f"at most {MAX_ITEMS:,} in one "
                                      "list or mapping")
            if isinstance(ev, yaml.AliasEvent):
                if ev.anchor not in sizes:
                    inside = any(o.anchor == ev.anchor for o in stack)
                    raise _LimitError("an alias refers to the block that contains it" if inside else
                                      f"unknown alias *{_clip(ev.anchor, 40)}", _scan_path(stack),
                                      "aliases to blocks defined earlier in the file")
                total += sizes[ev.anchor]
            elif isinstance(ev, yaml.ScalarEvent):
                total += 1
                if ev.anchor is not None:
                    sizes[ev.anchor] = 1
            else:
                if len(stack) >= MAX_DEPTH:
                    raise _LimitError("nested too deeply", _scan_path(stack),
                                      f"at most {MAX_DEPTH} levels of lists and mappings")
                total += 1
                stack.append(_Open(ev.anchor, isinstance(ev, yaml.MappingStartEvent), total - 1))
            if total > MAX_NODES:
                raise _LimitError("too many values once aliases are expanded", _scan_path(stack),
                                  f"at most {MAX_NODES:,} values in a regime file (the largest preset has 1,249)")
    finally:
        events.dispose()


def _scan_path(stack: list[_Open]) -> str:
    loc = []
    for o in stack:
        if o.is_map:
            if o.key is not None:
                loc.append(str(o.key))
        elif o.children:
            loc.append(o.children - 1)
    return _key_path(loc)


def parse_regime(text: str, origin: str = "<regime>") -> Regime:
    return validate_regime(read_yaml(text, origin), origin)


def validate_regime(data, origin: str) -> Regime:
    """Validate regime data (already parsed from YAML) into typed objects."""
    if not isinstance(data, dict):
        raise ScorelabError("a regime file must be a mapping of keys to values", path=origin,
                            allowed="name, title, description, mechanisms, references, topology, "
                                    "deterrence, scorers")
    check_values(data, origin)
    _check_label_count(data, origin)
    if not has_dated(data):
        regime = _validated(data, origin)
    else:
        days = breakpoints(data, origin)
        regime = _validated(on_day(data, 0), origin)
        for day in days:  # every day's values must make a valid regime of the same shape
            later = _validated(on_day(data, day), f"{origin} (values from day {day})")
            regime.schedule[day] = later
    _check_engine_limits(regime, origin)
    return regime


def _validated(data, origin: str) -> Regime:
    try:
        return Regime.model_validate(data)
    except ValidationError as exc:
        raise _friendly(exc, origin) from None


def check_values(data, origin: str) -> None:
    """What every field takes for granted, checked on the raw data before the schema: finite
    numbers of a sane size, text of a sane length, short keys and names, plain YAML types.

    Generic on purpose: it covers every field, including fields added to the schema later.
    """
    todo: list[tuple[tuple, object]] = [((), data)]
    days: set[int] = set()  # the days of dated values (mappings whose keys are all whole numbers)
    while todo:
        loc, value = todo.pop()
        if len(loc) > MAX_DEPTH:  # data given to the API directly, not read from YAML
            raise _value_error(origin, loc[:MAX_DEPTH], "nested too deeply",
                               f"at most {MAX_DEPTH} levels of lists and mappings")
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise _value_error(origin, loc, f"text of {len(value):,} characters",
                                   f"at most {MAX_TEXT:,} characters")
            if loc and loc[-1] == "name" and len(value) > MAX_NAME:
                raise _value_error(origin, loc, f"a name of {len(value)} characters",
                                   f"at most {MAX_NAME} characters")
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise _value_error(origin, loc, f"got {value}", "a finite number (not .nan, .inf or -.inf)")
            if abs(value) > MAX_MAGNITUDE:
                raise _value_error(origin, loc, f"got {_short(value)}",
                                   f"numbers from -{MAX_MAGNITUDE:.0e} to {MAX_MAGNITUDE:.0e}")
        elif isinstance(value, dict):
            if len(value) > MAX_ITEMS:
                raise _value_error(origin, loc, f"{len(value):,} entries", f"at most {MAX_ITEMS:,}")
            if value and all(isinstance(k, int) and not isinstance(k, bool) for k in value):
                days.update(value)
                if len(days - {0}) > MAX_DATED_DAYS:
                    raise _value_error(origin, loc, f"dated values change on {len(days - {0})} different days",
                                       f"at most {MAX_DATED_DAYS} days on which values change")
            for k, v in value.items():
                if isinstance(k, str) and len(k) > MAX_NAME:
                    raise _value_error(origin, (*loc, k), f"a key of {len(k)} characters",
                                       f"keys of at most {MAX_NAME} characters")
                if isinstance(k, float) and not math.isfinite(k) or not isinstance(k, str | int | float | None):
                    raise _value_error(origin, loc, f"a key {_short(k)}", "names and finite numbers as keys")
                todo.append(((*loc, k), v))
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise _value_error(origin, loc, f"{len(value):,} entries", f"at most {MAX_ITEMS:,}")
            todo.extend(((*loc, i), v) for i, v in enumerate(value))
        else:
            raise _value_error(origin, loc, f"a value of type {_type_name(value)}",
                               "text, numbers, true/false, lists and mappings")


def _check_label_count(data: dict, origin: str) -> None:
    """The labels compile_regime will make, counted on the raw data before the schema's (slower) checks."""
    scorers = data.get("scorers")
    if not isinstance(scorers, list):
        return
    labels, lists = 1, 0
    for s in scorers:
        if isinstance(s, dict):
            labels += sum(len(s.get(k) or ()) * (4 if k == "rules" else 1)
                          for k in ("rules", "sanctions", "rewards", "responses") if isinstance(s.get(k), list))
            lists += len(s["lists"]) if isinstance(s.get("lists"), list) else 0
    _refuse_labels(labels, lists, origin)


def _refuse_labels(labels: int, lists: int, origin: str) -> None:
    if labels > MAX_LABELS or lists > MAX_LABELS:
        raise ScorelabError(f"{labels:,} rule and measure labels and {lists:,} lists", path=origin, key="scorers",
                            allowed=f"at most {MAX_LABELS:,} of each (a rule makes 4 labels, a measure 1)")


def _check_engine_limits(regime: Regime, origin: str) -> None:
    """Counts that must fit the integer codes of the run tables (labels are int16)."""
    from scorelab.regime.compiled import compile_regime

    _refuse_labels(len(compile_regime(regime, origin).labels), sum(len(s.lists) for s in regime.scorers), origin)


def _value_error(origin: str, loc: tuple, message: str, allowed: str) -> ScorelabError:
    return ScorelabError(message, path=origin, key=_key_path(loc) or None, allowed=allowed)


def _type_name(value) -> str:
    return {bytes: "binary", set: "set", tuple: "pairs"}.get(type(value), type(value).__name__)


_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60
_repr.maxlong = 40
_repr.maxlist = _repr.maxdict = _repr.maxtuple = _repr.maxset = 4
_repr.maxlevel = 2


def _short(value) -> str:
    """A value as a message may show it: never longer than about 80 characters."""
    if isinstance(value, list | tuple) and value:
        return f"a list of {len(value)} entries"
    if isinstance(value, dict) and value:
        return f"a mapping of {len(value)} keys ({_repr.repr(list(value)[:3])[1:-1]}...)"
    return _repr.repr(value)


def _clip(text, limit: int = 300) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _friendly(exc: ValidationError, origin: str, root=None) -> ScorelabError:
    """The first validation error as 'file: key 'a.b[0].c': message (allowed: ...)'."""
    err = exc.errors(include_url=False)[0]
    kind, ctx, loc = err["type"], err.get("ctx") or {}, err["loc"]
    key = _key_path(loc)
    msg = str(err["msg"]).removeprefix("Value error, ")
    allowed = None
    got = f"got {_short(err.get('input'))}"
    if kind == "extra_forbidden":
        msg = "unknown key"
        allowed = _allowed_keys(loc, root or Regime)
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace("'", "") or None
        msg = got
    elif kind in ("too_long", "too_short"):
        msg = f"{ctx.get('actual_length')} entries"
        allowed = f"at most {ctx.get('max_length')}" if kind == "too_long" else f"at least {ctx.get('min_length')}"
    elif kind == "string_pattern_mismatch":
        allowed = _PATTERNS.get(str(ctx.get("pattern")))
        msg = got + ("" if allowed else f": {msg}")
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"):
        msg, allowed = got, _range(_field_at(loc, root or Regime))
    elif kind in _TYPES:
        msg, allowed = got, _TYPES[kind]
        if kind.startswith(("int", "float")):
            allowed = _range(_field_at(loc, root or Regime), whole=kind.startswith("int")) or allowed
    if not key and ": " in msg and msg.split(": ", 1)[0].replace("[", "").replace("]", "").replace(
            ".", "").replace("_", "").isalnum():
        key, msg = msg.split(": ", 1)
    if allowed is None and msg.endswith(")") and "(allowed: " in msg:
        msg, allowed = msg[:-1].split(" (allowed: ", 1)
    return ScorelabError(_clip(msg, 500), path=origin, key=key or None, allowed=allowed)


_TYPES = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "string_type": "text", "bool_parsing": "true or false",
    "bool_type": "true or false", "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values", "model_attributes_type": "a mapping of keys to values",
    "tuple_type": "a list", "list_type": "a list", "none_required": "nothing (null)",
}


def _range(field, whole: bool = False) -> str | None:
    """What a number field allows, from its constraints and unit: 'a number from 0 to 1 (probability)'."""
    if field is None:
        return None
    bounds = {}
    for m in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(m, name, None) is not None:
                bounds[name] = getattr(m, name)
    lo = f"from {bounds['ge']:g}" if "ge" in bounds else f"above {bounds['gt']:g}" if "gt" in bounds else ""
    hi = f"to {bounds['le']:g}" if "le" in bounds else f"below {bounds['lt']:g}" if "lt" in bounds else ""
    if not lo and not hi:
        return None
    if lo and hi and not lo.startswith("from"):
        hi = "and " + hi.replace("to ", "at most ")
    unit = (field.json_schema_extra or {}).get("unit") if isinstance(field.json_schema_extra, dict) else None
    text = f"{'a whole number' if whole or field.annotation is int else 'a number'} {lo} {hi}".replace("  ", " ")
    return text.strip() + (f" ({unit})" if unit else "")


def _field_at(loc, root):
    """The schema field a validation error's location ends at, if it is one."""
    model, field = root, None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        f = model.model_fields.get(str(part))
        if f is None:
            field = None  # a mapping key such as channels.<name>
            continue
        field, model = f, _inner_model(f.annotation)
    return field


_PATTERNS = {
    r"^[A-Za-z0-9_-]+$": "letters, digits, '_' and '-'",
    r"^[a-z0-9][a-z0-9_-]*$": "lower-case letters, digits, '_' and '-', starting with a letter or digit",
}


def _key_path(loc) -> str:
    out = ""
    for part in loc:
        if not isinstance(part, int | str) or isinstance(part, bool):
            part = _short(part)
        if isinstance(part, str):
            part = _clip(part, MAX_NAME)
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
