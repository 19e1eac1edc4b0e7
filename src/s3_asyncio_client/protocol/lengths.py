"""Lengths a server sends: Content-Length, Content-Range and listed sizes, checked.

A missing, malformed or impossible length is a RemoteLengthError carrying the value the
server sent, never a zero: a download sized by a missing length would write nothing
and call it done. Digits are ASCII only, and no length passes the largest object S3
can hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from .errors import RemoteLengthError
from .limits import MAX_OBJECT_SIZE

__all__ = ["ByteSpan", "object_span", "parse_body_span", "parse_length"]

_DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII only: int() also takes "+1", " 1", "١"
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,20})-([0-9]{1,20})/([0-9]{1,20})")


class ByteSpan(NamedTuple):
    """The bytes ``first..last`` (inclusive; ``last = first - 1`` when none) of an
    object of ``total`` bytes."""

    first: int
    last: int
    total: int


def parse_length(value: str | None, what: str, **where: str | None) -> int:
    """A byte count a server sent (``what`` names it): ASCII digits, at most the
    largest object S3 can hold; else RemoteLengthError carrying ``value``. ``where``:
    the bucket and key the error is about."""
    if value is None or not _DIGITS.fullmatch(value):
        shown = "missing" if value is None else f"{value!r}, not a byte count"
        raise RemoteLengthError(f"malformed reply: {what} is {shown}", value=value, **where)
    if int(value) > MAX_OBJECT_SIZE:
        raise RemoteLengthError(
            f"malformed reply: {what} is {value}, more than any object holds ({MAX_OBJECT_SIZE})",
            value=value,
            **where,
        )
    return int(value)


def _content_range(value: str | None, **where: str | None) -> ByteSpan:
    match = _CONTENT_RANGE.fullmatch(value or "")
    span = ByteSpan(*map(int, match.groups())) if match else None
    if span is None or not span.first <= span.last < span.total <= MAX_OBJECT_SIZE:
        shown = "missing" if value is None else f"{value!r}, not a byte range of an object"
        raise RemoteLengthError(f"malformed reply: Content-Range is {shown}", value=value, **where)
    return span


def object_span(headers: Mapping[str, str], ranged: bool, **where: str | None) -> ByteSpan:
    """The bytes a reply's Content-Range says it holds (``ranged``: it must say), or
    else the whole object; its Content-Length must agree."""
    length = parse_length(headers.get("content-length"), "Content-Length", **where)
    value = headers.get("content-range")
    if value is None and not ranged:
        return ByteSpan(0, length - 1, length)
    span = _content_range(value, **where)
    if span.last - span.first + 1 != length:
        message = f"Content-Range {value} is not the {length} bytes of Content-Length"
        raise RemoteLengthError(message, value=value, **where)
    return span


def parse_body_span(
    status: int,
    headers: Mapping[str, str],
    byte_range: tuple[int, int | None] | None,
    **where: str | None,
) -> ByteSpan:
    """Which bytes of the object a GET reply's body holds. Its Content-Length is
    always needed (without it a body cut short cannot be told from a whole one); a
    206's Content-Range must be the range asked for (``byte_range`` as
    ``build_get_object`` takes it; S3 ends it at the object's end). A 200 to a range
    is the whole object: right only if that is what the range covers. Anything else
    is a RemoteLengthError carrying the offending value."""
    span = object_span(headers, status == 206, **where)
    shown = headers.get("content-range") or f"the whole object ({span.total} bytes)"
    first, last = byte_range or (0, None)
    if first < 0:  # a suffix: the last -first bytes
        first, last = max(span.total + first, 0), None
    wanted_last = span.total - 1 if last is None else min(last, span.total - 1)
    if (span.first, span.last) != (first, wanted_last):
        asked = "the whole object" if byte_range is None else _range_text(byte_range)
        raise RemoteLengthError(f"asked for {asked}, got {shown}", value=shown, **where)
    return span


def _range_text(byte_range: tuple[int, int | None]) -> str:
    first, last = byte_range
    return f"bytes {first}" if first < 0 else f"bytes {first}-{'' if last is None else last}"
