"""Integers read from request text (query, headers, XML, aws-chunked frames).

Every number the server reads goes through here, never straight to ``int()``: the
text must be ASCII digits of a bounded length. ``int()`` alone takes ``+5``, `` 5``,
``5_0`` and digits of other scripts, raises ValueError on ``"²"`` (which
``str.isdigit`` accepts) and on anything past 4,300 digits: a 500 where S3 says 400.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DECIMAL_DIGITS", "decimal", "hexadecimal", "saturating_decimal"]

MAX_DECIMAL_DIGITS = 19  # 10**19 - 1 is past any size or count the server deals in
_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")


def decimal(text: str | None, max_digits: int = MAX_DECIMAL_DIGITS) -> int | None:
    """The value of 1..``max_digits`` ASCII digits; None for anything else."""
    if text is None or not 0 < len(text) <= max_digits or not _DECIMAL.fullmatch(text):
        return None
    return int(text)


def hexadecimal(text: str, max_digits: int = 16) -> int | None:
    """The value of 1..``max_digits`` ASCII hex digits; None for anything else."""
    if not 0 < len(text) <= max_digits or not _HEX.fullmatch(text):
        return None
    return int(text, 16)


def saturating_decimal(text: str, ceiling: int) -> int | None:
    """ASCII digits of any length, capped at ``ceiling``; None if not digits.

    For byte positions, where RFC 9110 gives a number beyond the object a meaning
    (a range past the end, a suffix longer than the object) whatever its length.
    """
    if not _DECIMAL.fullmatch(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > len(str(ceiling)):
        return ceiling
    return min(int(significant or "0"), ceiling)
