"""Byte ranges and conditional requests, decided from headers alone.

Rules (RFC 9110 as S3 applies them):

1. ``Range: bytes=a-b`` (inclusive), ``bytes=a-`` (to the end), ``bytes=-n`` (the last
   n bytes). A syntactically bad or multi-range header is ignored (the whole object is
   sent, as S3 does); a range starting at or past the end is 416 InvalidRange with
   ``Content-Range: bytes */size``. Positions of any length are understood: a number
   too long to convert is simply past the end.
2. Reads: If-Match fails -> 412; else If-Unmodified-Since fails -> 412. Then
   If-None-Match matches -> 304; else If-Modified-Since not modified -> 304. Dates
   compare at whole seconds, as HTTP dates carry no more.
3. Writes (PutObject, CompleteMultipartUpload): ``If-None-Match: *`` fails if the key
   exists; ``If-Match: etag`` fails if it is missing (404) or different (412).
4. Copies: ``x-amz-copy-source-if-*`` failing is always 412.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime

from .errors import S3Fault
from .integers import saturating_decimal

__all__ = ["check_copy_source", "check_read", "check_write", "http_date", "parse_range"]

_BEYOND = 2**63  # more bytes than any object holds


def http_date(timestamp: float) -> str:
    return formatdate(math.floor(timestamp), usegmt=True)


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _etags(value: str) -> list[str]:
    return [item.strip().removeprefix("W/").strip('"') for item in value.split(",")]


def _matches(header: str, etag: str) -> bool:
    tags = _etags(header)
    return "*" in tags or etag.strip('"') in tags


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive, or None for the whole object (rule 1)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not (first_text or last_text):
        return None
    # Positions past any object size mean the same as any other position past the
    # end, so they are capped rather than converted (no int() of 5,000 digits).
    first = saturating_decimal(first_text, _BEYOND) if first_text else None
    last = saturating_decimal(last_text, _BEYOND) if last_text else None
    if (first_text and first is None) or (last_text and last is None):
        return None
    if first is None:
        assert last is not None
        if last == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - last), size - 1
    if last is not None and last < first:
        return None
    if first >= size:
        raise _unsatisfiable(size)
    return first, min(size - 1 if last is None else last, size - 1)


def _unsatisfiable(size: int) -> S3Fault:
    return S3Fault(
        "InvalidRange",
        "The requested range is not satisfiable",
        extra={"ActualObjectSize": str(size)},
        headers={"Content-Range": f"bytes */{size}"},
    )


def check_read(headers: Mapping[str, str], etag: str, modified: float) -> None:
    """Rule 2; raises PreconditionFailed (412) or NotModified (304)."""
    seconds = math.floor(modified)
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _matches(if_match, etag):
            raise S3Fault(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                extra={"Condition": "If-Match"},
            )
    else:
        since = _date(headers.get("if-unmodified-since"))
        if since is not None and seconds > since:
            raise S3Fault(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                extra={"Condition": "If-Unmodified-Since"},
            )
    not_modified = S3Fault(
        "NotModified", "Not Modified", headers={"ETag": etag, "Last-Modified": http_date(modified)}
    )
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if _matches(if_none_match, etag):
            raise not_modified
    else:
        since = _date(headers.get("if-modified-since"))
        if since is not None and seconds <= since:
            raise not_modified


def check_write(headers: Mapping[str, str], existing_etag: str | None) -> None:
    """Rule 3, against the object as it is now (None: absent)."""
    if_none_match = headers.get("if-none-match")
    if (
        if_none_match is not None
        and existing_etag is not None
        and _matches(if_none_match, existing_etag)
    ):
        raise S3Fault(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            extra={"Condition": "If-None-Match"},
        )
    if_match = headers.get("if-match")
    if if_match is not None:
        if existing_etag is None:
            raise S3Fault("NoSuchKey", "The specified key does not exist.")
        if not _matches(if_match, existing_etag):
            raise S3Fault(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                extra={"Condition": "If-Match"},
            )


def check_copy_source(headers: Mapping[str, str], etag: str, modified: float) -> None:
    """Rule 4."""
    seconds = math.floor(modified)
    failed = None
    if_match = headers.get("x-amz-copy-source-if-match")
    if if_match is not None and not _matches(if_match, etag):
        failed = "x-amz-copy-source-If-Match"
    if_none_match = headers.get("x-amz-copy-source-if-none-match")
    if if_none_match is not None and _matches(if_none_match, etag):
        failed = "x-amz-copy-source-If-None-Match"
    since = _date(headers.get("x-amz-copy-source-if-unmodified-since"))
    if since is not None and seconds > since and if_match is None:
        failed = "x-amz-copy-source-If-Unmodified-Since"
    since = _date(headers.get("x-amz-copy-source-if-modified-since"))
    if since is not None and seconds <= since and if_none_match is None:
        failed = "x-amz-copy-source-If-Modified-Since"
    if failed:
        raise S3Fault(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            extra={"Condition": failed},
        )
