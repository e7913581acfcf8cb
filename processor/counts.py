"""Counts in messages: "1 file", "2 files", "1,234 rows", never "1 files"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` with ``noun`` in the right number (``plural``: where adding "s" is wrong)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
