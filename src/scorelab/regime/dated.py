"""Parameters that change over time: a number may be given as a mapping from day to value.

`coverage: {0: 0.25, 180: 0.5}` means 0.25 from day 0 and 0.5 from day 180 on (piecewise
constant). The plain number form stays. One mechanism serves every numeric parameter of a
regime (and the society's economy): the file is read into data with such mappings; the data
in effect on a day is the same data with each mapping replaced by its value on that day, and
that is validated and compiled like any regime. The engine swaps the compiled parameters at
each day where a value changes (the breakpoints); structure (rules, lists, measures) cannot
change, only numbers.
"""

from __future__ import annotations

from typing import Any

from scorelab.errors import ScorelabError

MAX_DAY = 36500


def is_dated(node: Any) -> bool:
    """A mapping whose keys are all whole numbers (YAML int keys) is a dated value."""
    return isinstance(node, dict) and bool(node) and all(isinstance(k, int) and not isinstance(k, bool)
                                                         for k in node)


def breakpoints(data: Any, origin: str = "<regime>") -> list[int]:
    """Days (after 0) on which some dated value changes; checks every dated value on the way."""
    days: set[int] = set()
    for path, node in _dated(data, ""):
        keys = list(node)
        where = path or "(top)"
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise ScorelabError(f"days of a dated value must rise (got {keys})", path=origin, key=where,
                                allowed="a mapping {0: value, day: value, ...} with rising days")
        if keys[0] != 0:
            raise ScorelabError(f"a dated value must say what holds from day 0 (first day given: {keys[0]})",
                                path=origin, key=where, allowed="a mapping whose first day is 0")
        if keys[-1] > MAX_DAY:
            raise ScorelabError(f"day {keys[-1]} is beyond any run", path=origin, key=where,
                                allowed=f"days from 0 to {MAX_DAY}")
        for k, v in node.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ScorelabError(f"got {v!r} on day {k}", path=origin, key=where,
                                    allowed="a number for each day")
        days.update(keys[1:])
    return sorted(days)


def on_day(data: Any, day: int) -> Any:
    """The data in effect on `day`: every dated value replaced by its value on that day."""
    if is_dated(data):
        value = None
        for k, v in data.items():
            if k <= day:
                value = v
        return value
    if isinstance(data, dict):
        return {k: on_day(v, day) for k, v in data.items()}
    if isinstance(data, list):
        return [on_day(v, day) for v in data]
    return data


def has_dated(data: Any) -> bool:
    return any(True for _ in _dated(data, ""))


def _dated(node: Any, path: str):
    if is_dated(node):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _dated(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _dated(v, f"{path}[{i}]")
