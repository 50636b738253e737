"""Mutations of the preset regimes for the regime fuzzer (tests/test_fuzz_regimes.py, `make fuzz`).

Each mutation is drawn with hypothesis from a preset's parsed data or its text: wrong types,
out-of-range, NaN and infinite numbers, huge sizes, deep nesting, alias bombs, bad bytes. Data
mutations are applied to a copy and dumped back to YAML.
"""

from __future__ import annotations

import copy
import math

import yaml
from hypothesis import strategies as st

from _support import preset_text
from scorelab.regime.loader import preset_names

PRESETS = tuple(preset_names())
PRESET_DATA = {name: yaml.safe_load(preset_text(name)) for name in PRESETS}
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 0.5, 1.0000001, -0.0, 1e-300, 1e9, 1e12, 2**31, 2**63, 127, 128, 32767, 32768,
                     math.inf, -math.inf, math.nan]),
)
SCALARS = st.one_of(
    NUMBERS, st.booleans(), st.none(),
    st.text(max_size=20), st.text(alphabet="ab:/\\. -_\x00\u2028é中", min_size=60, max_size=300),
    st.sampled_from(["", "a" * 250, "../../etc", "x" * 20_000, "2020-13-45", "0x1F", "1e400", ".nan", "~"]),
)


def paths(data, max_depth: int = 40) -> list[tuple]:
    """Every location in a nested structure (to a depth), as tuples of keys and indices."""
    out, todo = [], [((), data)]
    while todo:
        loc, value = todo.pop()
        out.append(loc)
        if len(loc) >= max_depth:
            continue
        if isinstance(value, dict):
            todo.extend(((*loc, k), v) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend(((*loc, i), v) for i, v in enumerate(value))
    return sorted(out, key=repr)


PRESET_PATHS = {name: paths(data) for name, data in PRESET_DATA.items()}


def numeric_paths(data) -> list[tuple]:
    return [p for p in paths(data) if p and isinstance(get(data, p), int | float)
            and not isinstance(get(data, p), bool)]


def get(data, loc):
    for part in loc:
        data = data[part]
    return data


def put(data, loc, value):
    if not loc:
        return value
    get(data, loc[:-1])[loc[-1]] = value
    return data


def nest(value, depth: int, as_map: bool):
    for _ in range(depth):
        value = {"a": value} if as_map else [value]
    return value


def dump(data, unicode: bool = False) -> bytes:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=unicode).encode()


@st.composite
def data_mutation(draw, data, locs=None):
    """One change at one place of the data: a new value, a deletion, a repetition or a nesting."""
    locs = locs or paths(data)
    loc = draw(st.sampled_from(locs))
    old = get(data, loc) if loc else data
    kind = draw(st.sampled_from(["scalar", "scale", "delete", "repeat", "nest", "empty", "unknown_key"]))
    if kind == "scalar":
        return put(data, loc, draw(SCALARS))
    if kind == "scale" and isinstance(old, int | float) and not isinstance(old, bool):
        factor = draw(st.sampled_from([-1, 0, 2, 10, 1000, 1e6, 1e12, 0.5, 1e-9, math.inf, math.nan]))
        return put(data, loc, old * factor if isinstance(factor, float) or old else factor)
    if kind == "delete" and loc:
        parent = get(data, loc[:-1])
        del parent[loc[-1]]
        return data
    if kind == "repeat" and isinstance(old, list | dict):
        k = draw(st.sampled_from([2, 10, 129, 1001, 5000]))
        if isinstance(old, list) and old:
            return put(data, loc, [old[i % len(old)] for i in range(k)])  # shared items are dumped as aliases
        if isinstance(old, dict):
            return put(data, loc, {**old, **{f"k{i}": next(iter(old.values()), 1) for i in range(k)}})
    if kind == "nest":
        return put(data, loc, nest(old, draw(st.sampled_from([2, 30, 200])), draw(st.booleans())))
    if kind == "empty":
        return put(data, loc, draw(st.sampled_from([[], {}, ""])))
    if kind == "unknown_key" and isinstance(old, dict):
        old[draw(st.sampled_from(["colour", "x" * 100, "on", "1"]))] = draw(SCALARS)
        return data
    return put(data, loc, draw(SCALARS))


def billion_laughs(levels: int, width: int) -> str:
    lines = ["lol0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@st.composite
def text_mutation(draw, text: str) -> bytes:
    """A change to the file's text or bytes: flipped or bad bytes, truncation, aliases, sizes."""
    kind = draw(st.sampled_from(["flip", "truncate", "invalid_utf8", "bomb", "recursive", "huge", "deep_text",
                                 "control", "tab"]))
    raw = text.encode()
    at = draw(st.integers(0, max(len(raw) - 1, 0)))
    if kind == "flip":
        b = draw(st.integers(1, 255))
        return raw[:at] + bytes([raw[at] ^ b]) + raw[at + 1:]
    if kind == "truncate":
        return raw[:at]
    if kind == "invalid_utf8":
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + raw[at:]
    if kind == "bomb":
        bomb = billion_laughs(draw(st.integers(2, 12)), draw(st.integers(2, 12)))
        key = draw(st.sampled_from(["title", "description", "mechanisms", "scorers"]))
        return (bomb + text.replace(f"\n{key}:", f"\n{key}: *a0\nold_{key}:", 1)).encode()
    if kind == "recursive":
        return (text + "\nloop: &loop [1, *loop]\n").encode()
    if kind == "huge":
        return raw + b"\n# " + b"x" * draw(st.sampled_from([10, 900_000, 1_000_001, 2_000_000])) + b"\n"
    if kind == "deep_text":
        d = draw(st.sampled_from([50, 5000, 50_000]))
        return raw + b"\nextra: " + b"[" * d + b"]" * d + b"\n"
    if kind == "control":
        return raw[:at] + draw(st.sampled_from([b"\x00", b"\x1b", b"\xef\xbb\xbf", b"\t"])) + raw[at:]
    return raw.replace(b"  ", b"\t", draw(st.integers(1, 5)))


@st.composite
def mutated_regime(draw) -> bytes:
    """A mutated preset, as the bytes of a file."""
    preset = draw(st.sampled_from(PRESETS))
    if draw(st.integers(0, 3)) == 0:
        return draw(text_mutation(preset_text(preset)))
    data = copy.deepcopy(PRESET_DATA[preset])
    for i in range(draw(st.integers(1, 3))):
        data = draw(data_mutation(data, PRESET_PATHS[preset] if i == 0 else None))
    try:
        return dump(data, draw(st.booleans()))
    except (yaml.YAMLError, RecursionError, ValueError):  # e.g. nesting that PyYAML itself cannot dump
        return preset_text(preset).encode()


def edge_values(old) -> list:
    """Values at the edges of what a field like this one allows (judged by its current value)."""
    if isinstance(old, bool):
        return [not old]
    if isinstance(old, int):
        return [1, 2, old * 2, old * 10, 365, 3650] if old > 0 else [0, -1, -100, -1000, -1e6]
    if 0 <= old <= 1:
        return [0.0, 1.0, 1e-9, 0.999999, old / 2]
    return [old * 10, old / 10, -old, 0.0, 1e6, -1e6, 1e-6]


@st.composite
def plausible_regime(draw) -> bytes:
    """A preset with numbers moved to the edges of what is allowed, and more of everything, for
    runs of files that validate."""
    preset = draw(st.sampled_from([p for p in PRESETS if p != "none"]))
    data = copy.deepcopy(PRESET_DATA[preset])
    locs = numeric_paths(data)
    for _ in range(draw(st.integers(1, 8))):
        loc = draw(st.sampled_from(locs))
        put(data, loc, draw(st.sampled_from(edge_values(get(data, loc)))))
    if draw(st.booleans()):
        # more of everything: repeated lists and measures with fresh names
        for scorer in data.get("scorers") or []:
            k = draw(st.sampled_from([0, 3, 40]))
            for key in ("sanctions", "rewards", "responses", "lists"):
                items = scorer.get(key) or []
                if items:
                    scorer[key] = items + [{**copy.deepcopy(items[i % len(items)]), "name": f"{key}_{i}"}
                                           for i in range(k)]
    return dump(data)
