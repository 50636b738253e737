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
        return text


def check_positive_int(value: int, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Validate a whole-number parameter such as --citizens or --days."""
    if not isinstance(value, int) or value < minimum or (maximum is not None and value > maximum):
        rng = f"a whole number from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
        raise ScorelabError(f"got {value!r}", key=name, allowed=rng)
    return value
