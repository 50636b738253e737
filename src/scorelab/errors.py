"""Errors meant for people: one message naming the file, the key and what is allowed."""

from __future__ import annotations


class ScorelabError(Exception):
    """A problem with the user's input or environment, shown as one line without a traceback."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None,
                 allowed: str | None = None) -> None:
        self.path = path
        self.key = key
        self.allowed = allowed
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.path:
            parts.append(str(self.path))
        if self.key:
            parts.append(f"key '{self.key}'")
        head = ": ".join(parts)
        text = f"{head}: {self.detail}" if head else self.detail
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return one_line(text)


def one_line(text: str) -> str:
    """Control characters and line breaks (a file name or a value may hold them) as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def check_positive_int(value: int, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Validate a whole-number parameter such as --citizens or --days."""
    if not isinstance(value, int) or value < minimum or (maximum is not None and value > maximum):
        rng = f"a whole number from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
        raise ScorelabError(f"got {show(value)}", key=name, allowed=rng)
    return value


def show(value) -> str:
    """A value as a message may show it: short (a 5,000-digit number has no repr)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


MAX_SEED = 2**32 - 1  # seeds are documented as 0 to 2**32-1 (they are stored in int64 columns and JSON)


def check_seed(value: int, name: str = "seed") -> int:
    """Validate a random seed: a whole number from 0 to MAX_SEED."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
        raise ScorelabError(f"got {show(value)}", key=name, allowed=f"a whole number from 0 to {MAX_SEED} (2**32-1)")
    return value
