"""Conditional writes: the If-None-Match / If-Match headers of a PUT, a copy or a
CompleteMultipartUpload, checked before any byte moves.

Rules (as S3 takes them on writes):
1. ``if_none_match`` may only be ``"*"``: write only if the key does not exist.
2. ``if_match`` is one ETag, with or without its quotes; it is sent quoted. A weak
   (``W/``), listed (``a, b``) or empty ETag is refused: S3 compares one strong ETag.
3. Both at once are refused: the write would need the key both absent and present.
"""

from __future__ import annotations

from typing import TypedDict

from .errors import LocalProtocolError

__all__ = ["WriteConditions", "normalise_etag", "write_conditions"]


class WriteConditions(TypedDict, total=False):
    """The keyword arguments of a conditional write."""

    if_none_match: str | None
    if_match: str | None


def normalise_etag(etag: object, name: str = "if_match") -> str:
    """``etag`` in its quoted form (rule 2), or LocalProtocolError naming the value."""
    text = etag.strip() if isinstance(etag, str) else ""
    bare = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    if (
        not bare
        or not bare.isascii()
        or not bare.isprintable()
        or any(c in bare for c in '", ')
        or text.startswith("W/")
    ):
        raise LocalProtocolError(
            f"{name} must be one ETag (with or without quotes), got {etag!r}", value=etag
        )
    return f'"{bare}"'


def write_conditions(
    if_none_match: str | None = None, if_match: str | None = None
) -> dict[str, str]:
    """The headers for a conditional write (rules 1-3); empty when unconditional."""
    if if_none_match is not None and if_none_match != "*":
        raise LocalProtocolError(
            f'if_none_match only takes "*" (never overwrite), got {if_none_match!r}',
            value=if_none_match,
        )
    if if_none_match is not None and if_match is not None:
        raise LocalProtocolError("give if_none_match or if_match, not both")
    if if_none_match is not None:
        return {"if-none-match": "*"}
    if if_match is not None:
        return {"if-match": normalise_etag(if_match)}
    return {}
