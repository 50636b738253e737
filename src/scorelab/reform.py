"""Reforms: change any parameter of a run's documents by path, without copying a file.

A reform is a mapping `{path: value}` (PolicyEngine's reforms, EMA Workbench's levers). The
first part of a path names the document it changes (its root):

- `society.<field>`: the society spec (SocietySpec: mean_degree, cashless_share, ...);
- `world.<...>`: the world file (scorelab.world: `world.events.theft_mischief.rate`,
  `world.economy.min_balance`, `world.behaviour.college_apply`);
- anything else: the regime (`scorers.state.channels.cameras.misattribution`,
  `deterrence.certainty_exponent`, ...).

A path walks mappings by key and lists of named items by name (an index also works), checked
against the document's schema as it goes, so a bad path stops at the part that failed and
names what is allowed there. Overrides are applied to the parsed data before validation, so
the document is validated exactly as if the file had been edited by hand. The same walker
serves `scorelab run --set`, `scorelab.run(overrides=...)`, experiments and the scenario
runner's `set:`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, is_dated

MAX_READABLE_SUFFIX = 80  # longer reforms are named by a short hash in run ids
_SAFE = re.compile(r"^[A-Za-z0-9_.=+-]+$")


@dataclass(frozen=True)
class Root:
    """A document that paths can reach; `schema` validates what a path sets."""

    name: str
    schema: type[BaseModel] | None
    available: bool = True
    note: str = ""
    fixed: tuple[str, ...] = ()  # keys a reform may not set (e.g. citizens and seed: run options)


def _roots() -> dict[str, Root]:
    from scorelab.regime.schema import Regime
    from scorelab.society.model import SocietySpec
    from scorelab.world import WorldFile

    return {
        "regime": Root("regime", Regime),
        "society": Root("society", SocietySpec, fixed=("citizens", "seed")),
        "world": Root("world", WorldFile),  # the world file (scorelab.world, docs/WORLD.md)
    }


DEFAULT_ROOT = "regime"  # a path that does not start with another root's name is a regime path


def root_of(path: str) -> tuple[str, str]:
    """('society', 'mean_degree') for 'society.mean_degree'; ('regime', path) for regime paths."""
    head, _, rest = path.partition(".")
    if head in ("society", "world"):
        return head, rest
    return DEFAULT_ROOT, path


# ---------------------------------------------------------------------------- parsing PATH=VALUE
def parse_value(text: str):
    """A value as YAML reads it: 0.01, true, null, black, [a, b]."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ScorelabError(f"got {text!r}", key="--set",
                            allowed="PATH=VALUE, e.g. scorers.state.channels.cameras.misattribution=0.01")
    _check_syntax(path)
    return path, parse_value(value.strip())


def parse_assignments(texts: Iterable[str] | None) -> dict[str, Any]:
    """`--set` options, in order (a later one wins)."""
    out: dict[str, Any] = {}
    for t in texts or ():
        path, value = parse_assignment(t)
        out[path] = value
    return out


def _check_syntax(path: str) -> None:
    if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
        raise ScorelabError(f"not a path: {path!r}", key="--set",
                            allowed="parts joined by dots, e.g. scorers.state.association.contact_share")


# ---------------------------------------------------------------------------- the reform
@dataclass(frozen=True)
class Reform:
    """Overrides grouped by root, checked for syntax and root; applied per document."""

    overrides: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, overrides: Mapping[str, Any] | Iterable[str] | Reform | None) -> Reform:
        if isinstance(overrides, Reform):
            return overrides
        if overrides is None:
            return cls()
        if not isinstance(overrides, Mapping):
            overrides = parse_assignments(overrides)
        roots = _roots()
        items = []
        for path, value in overrides.items():
            _check_syntax(path)
            root, rest = root_of(path)
            spec = roots[root]
            if not spec.available:
                raise ScorelabError(spec.note, key=path,
                                    allowed="regime paths (scorers.<scorer>.<...>, deterrence.<...>) and "
                                            "society.<field>")
            if not rest:
                raise ScorelabError(f"a path must name a key below '{root}'", key=path,
                                    allowed=_allowed_keys(spec))
            items.append((path, _plain(value)))
        return cls(tuple(items))

    def __bool__(self) -> bool:
        return bool(self.overrides)

    def for_root(self, root: str) -> dict[str, Any]:
        """This root's overrides, with paths relative to the root."""
        return {rest: v for p, v in self.overrides for r, rest in [root_of(p)] if r == root}

    def apply(self, root: str, data, origin: str):
        """A deep copy of a document's parsed data with this root's overrides set."""
        spec = _roots()[root]
        data = copy.deepcopy(data) if data is not None else {}
        for path, value in self.for_root(root).items():
            full = path if root == DEFAULT_ROOT else f"{root}.{path}"
            set_path(data, path, value, schema=spec.schema, origin=origin, label=full, fixed=spec.fixed)
        return data

    def load_regime(self, name_or_file):
        """The regime (preset or file) with its overrides; the text is the effective regime."""
        from scorelab.regime.loader import LoadedRegime, load_regime, read_yaml, validate_regime

        if isinstance(name_or_file, LoadedRegime):
            loaded = name_or_file
        else:
            loaded = load_regime(name_or_file)
        mine = self.for_root(DEFAULT_ROOT)
        if not mine:
            return loaded
        data = self.apply(DEFAULT_ROOT, read_yaml(loaded.text, loaded.origin), loaded.origin)
        regime = validate_regime(data, f"{loaded.origin} with --set {', '.join(mine)}")
        header = "".join(f"# --set {p}={_fmt(v)}\n" for p, v in mine.items())
        text = (f"# {loaded.origin} (sha256 {loaded.sha256[:12]}) with overrides:\n{header}"
                + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))
        return LoadedRegime(regime, text, loaded.origin, hashlib.sha256(text.encode()).hexdigest())

    def world(self, base=None):
        """The world (scorelab.world; `base` a preset or file, default census2020) with the reform's
        `world.` paths, validated."""
        from scorelab.world import load_world

        return load_world(base, self)

    def society(self) -> dict[str, Any]:
        """Society spec fields set by the reform, checked against SocietySpec."""
        return self.apply("society", {}, "society")

    def suffix(self, scorers: int = 1) -> str:
        """Readable run-id suffix ('+cameras.misattribution=0.01'), or '+reform-<hash>' when long."""
        if not self.overrides:
            return ""
        parts = [f"{_short(p, scorers)}={_fmt(v)}" for p, v in self.overrides]
        text = "+" + "+".join(parts)
        if len(text) <= MAX_READABLE_SUFFIX and _SAFE.match(text):
            return text
        return f"+reform-{self.digest()[:10]}"

    def digest(self) -> str:
        canonical = json.dumps([[p, v] for p, v in self.overrides], sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def manifest(self) -> list[dict]:
        return [{"path": p, "value": v} for p, v in self.overrides]


def _plain(value):
    """NumPy scalars (from a DataFrame or a sampler) as plain Python values, so YAML and JSON take them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return item()
    return value


def _short(path: str, scorers: int) -> str:
    """Drop what every reader can infer: the only scorer's prefix and the `channels.` container."""
    parts = path.split(".")
    if scorers == 1 and len(parts) > 2 and parts[0] == "scorers":
        parts = parts[2:]
    if len(parts) > 2 and parts[0] == "channels":
        parts = parts[1:]
    return ".".join(parts)


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float, str)):
        return str(value) if not isinstance(value, float) else repr(value)
    return json.dumps(value, sort_keys=True, default=str)


# ---------------------------------------------------------------------------- the walker
def set_path(data, path: str, value, *, schema: type[BaseModel] | None, origin: str, label: str | None = None,
             fixed: tuple[str, ...] = ()) -> None:
    """Set `value` at `path` in parsed YAML `data`, walking `schema` alongside.

    Mappings are walked by key (a missing block that the schema allows is created), lists of
    named items by name or index. A failure names the path up to the failing part and what is
    allowed there; a value is checked against the field's type and bounds.
    """
    label = label or path
    parts = path.split(".")
    shown = label.split(".")[: max(len(label.split(".")) - len(parts), 0)]  # the root's name, if any
    node, shape = data, schema
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(shown + parts[: i + 1])

        def fail(msg: str, allowed: str | None = None, here=here) -> ScorelabError:
            return ScorelabError(msg, path=origin, key=here, allowed=allowed or None)

        if isinstance(node, list):
            index = _select(node, part)
            if index is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x]
                allowed = (", ".join(names) + f" (or an index 0 to {len(node) - 1})") if names else (
                    f"an index 0 to {len(node) - 1}" if node else "none: the list is empty")
                raise fail(f"no item '{part}'", allowed)
            item_shape = _item(shape)
            if last:
                if _model(item_shape) is not None:
                    raise fail("a path must end at a key of the item, not at the item",
                               ", ".join(_model(item_shape).model_fields))
                _check_value(item_shape, None, value, label, origin)
                node[index] = value
                return
            node, shape = node[index], item_shape
        elif isinstance(node, dict):
            model = _model(shape)
            if model is not None:
                fields = {k: f for k, f in model.model_fields.items() if k not in fixed}
                if part in fixed:
                    raise fail(f"'{part}' is a run option (--{part}), not a reform", ", ".join(fields))
                if part not in fields:
                    raise fail("unknown key", ", ".join(fields))
                field = fields[part]
                if last:
                    _check_value(field.annotation, field, value, label, origin)
                    node[part] = value
                    return
                if node.get(part) is None:
                    sub = field.annotation
                    if _model(sub) is not None or _mapping(sub) is not None:
                        node[part] = {}
                    elif _item(sub) is not None:
                        node[part] = []
                    else:
                        raise ScorelabError(f"'{here}' is a plain value; nothing lies below it", path=origin,
                                            key=label, allowed=f"set {here} itself")
                node, shape = node[part], field.annotation
            else:
                values = _mapping(shape)
                if part not in node:
                    creatable = values is not None and _model(values) is None
                    if not last or not creatable:
                        raise fail(f"no entry '{part}'", ", ".join(map(str, node)) or "none defined")
                if last:
                    _check_value(values, None, value, label, origin)
                    node[part] = value
                    return
                node, shape = node[part], values
        else:
            above = ".".join(shown + parts[:i])
            raise ScorelabError(f"'{above}' is a plain value ({node!r}); nothing lies below it", path=origin,
                                key=label, allowed=f"set {above} itself")


def _select(items: list, part: str) -> int | None:
    for k, x in enumerate(items):
        if isinstance(x, dict) and str(x.get("name")) == part:
            return k
    if re.fullmatch(r"-?\d+", part) and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    return None


def _strip(annotation):
    """`X | None` -> X; Annotated[X, ...] -> X."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return annotation


def _model(annotation) -> type[BaseModel] | None:
    a = _strip(annotation)
    return a if isinstance(a, type) and issubclass(a, BaseModel) else None


def _item(annotation):
    a = _strip(annotation)
    if get_origin(a) in (tuple, list):
        args = [x for x in get_args(a) if x is not Ellipsis]
        return args[0] if args else Any
    return None


def _mapping(annotation):
    a = _strip(annotation)
    if get_origin(a) is dict:
        return get_args(a)[1]
    return None


def _check_value(annotation, field: FieldInfo | None, value, label: str, origin: str) -> None:
    """A value is checked against its field alone, so the message names this path. A number may be
    dated, a mapping from day to value (regime/dated.py): each day's value is checked."""
    if annotation is None or annotation is Any:
        return
    if is_dated(value):
        breakpoints({label: value}, origin)
        for v in value.values():
            _check_value(annotation, field, v, label, origin)
        return
    target = Annotated[annotation, field] if field is not None else annotation
    try:
        TypeAdapter(target).validate_python(value)
    except ValidationError:
        raise ScorelabError(f"got {value!r}", path=origin, key=label, allowed=describe(annotation, field)) from None
    except Exception:  # noqa: BLE001 - a type pydantic cannot check alone; validation of the document decides
        return


def describe(annotation, field: FieldInfo | None = None) -> str:
    """What a field accepts, in words: 'a number from 0 to 1', 'one of black, white'."""
    optional = get_origin(_unannotated(annotation)) in (Union, types.UnionType) and type(None) in get_args(
        _unannotated(annotation))
    a = _strip(annotation)
    meta = list(field.metadata) if field is not None else []
    if get_origin(a) is Literal:
        text = "one of " + ", ".join(map(str, get_args(a)))
    elif a is bool:
        text = "true or false"
    elif a in (int, float):
        text = ("a whole number" if a is int else "a number") + _bounds(meta)
    elif a is str:
        text = "text"
    elif _model(a) is not None:
        text = "a mapping with keys " + ", ".join(_model(a).model_fields)
    elif _item(a) is not None:
        text = f"a list of {describe(_item(a))}"
    elif _mapping(a) is not None:
        text = "a mapping"
    else:
        text = str(a)
    return text + (", or null" if optional else "")


def _unannotated(annotation):
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _bounds(meta) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for m in meta:
        for attr, is_lo, is_open in (("ge", True, False), ("gt", True, True), ("le", False, False),
                                     ("lt", False, True)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_lo:
                    lo, lo_open = v, is_open
                else:
                    hi, hi_open = v, is_open
    if lo is not None and hi is not None:
        return f" from {lo}{' (excluded)' if lo_open else ''} to {hi}{' (excluded)' if hi_open else ''}"
    if lo is not None:
        return f" above {lo}" if lo_open else f" from {lo} up"
    if hi is not None:
        return f" below {hi}" if hi_open else f" up to {hi}"
    return ""


def _allowed_keys(root: Root) -> str:
    if root.schema is None:
        return ""
    return ", ".join(k for k in root.schema.model_fields if k not in root.fixed)


def field_kind(path: str) -> str | None:
    """'int', 'float', 'bool' or None: the type of the field a path ends at, walking the schema only.

    Experiments use it to round sampled values for whole-number fields (delay_days, hops).
    """
    root, rest = root_of(path)
    shape = _roots()[root].schema
    for part in rest.split("."):
        model = _model(shape)
        if model is not None:
            field = model.model_fields.get(part)
            if field is None:
                return None
            shape = field.annotation
        elif _item(shape) is not None:
            shape = _item(shape)
        elif _mapping(shape) is not None:
            shape = _mapping(shape)
        else:
            return None
    a = _strip(shape)
    return {int: "int", float: "float", bool: "bool"}.get(a)
