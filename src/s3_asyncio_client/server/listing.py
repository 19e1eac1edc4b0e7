"""One page of a listing: prefix, delimiter, marker and max-keys, as S3 pages.

Rules:

1. Entries are keys and common prefixes in key order; ``max-keys`` counts both.
   ``IsTruncated`` is true only if another entry exists after the page.
2. With a delimiter, every key whose remainder after the prefix contains it is folded
   into one common prefix (up to and including the first delimiter); the scan then
   jumps past that prefix instead of reading every key under it.
3. A page resumes strictly after its marker (V1 ``marker``, V2 ``start-after`` or the
   continuation token). A marker that is itself a common prefix skips everything under
   it, so a prefix never appears on two pages.
4. The V2 continuation token is opaque to clients: base64 of the last entry.
5. With ``encoding-type=url`` keys, prefixes, delimiters and markers are sent
   URL-encoded as S3 does: UTF-8 bytes as ``%XX`` except letters, digits and
   ``- _ . * /``, a space as ``+`` (so ``~`` is ``%7E``, a literal ``+`` is ``%2B``);
   version ids and continuation tokens are not encoded.
6. A version listing (``?versions``) pages like V1 with ``key-marker``: every object has
   one version, ``null``, so a page never ends between two versions of a key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from .errors import S3Fault
from .index import ObjectRecord

__all__ = ["Page", "decode_token", "encode_token", "list_page", "url_encoding"]

_BATCH = 1001  # a full page and one more
_PAST_EVERYTHING = "\U0010ffff"

Scan = Callable[[str, bool, int], list[ObjectRecord]]  # (start, inclusive, limit)


@dataclass
class Page:
    contents: list[ObjectRecord] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None  # the last entry returned: the next marker


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode()


def decode_token(token: str) -> str:
    try:
        # validate: a token with characters base64 lacks was not ours (S3 refuses it).
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise S3Fault("InvalidArgument", "The continuation token provided is incorrect") from None


def url_encoding(query: Mapping[str, str]) -> Callable[[str], str] | None:
    """The listing's ``encoding-type`` (rule 5): how to encode keys, or None for none."""
    value = query.get("encoding-type")
    if value is None:
        return None
    if value != "url":
        raise S3Fault("InvalidArgument", "Invalid Encoding Method specified in Request")
    return _url_encoded


def _url_encoded(value: str) -> str:
    # quote() never encodes "~"; S3 does, and leaves "*" alone. A space is "%20", not
    # "+": decoders that treat "+" as a space (botocore) and those that do not
    # (s3-tests compare raw values) then both read the key right.
    return quote(value, safe="/*").replace("~", "%7E")


def _folded(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return key[: at + len(delimiter)] if at >= 0 else None


def list_page(scan: Scan, *, prefix: str, delimiter: str, after: str | None, max_keys: int) -> Page:
    """One page (rules 1-3); ``scan`` reads the index in key order, no more rows than
    the page can use: the count left plus one (to tell ``IsTruncated``), and after a
    jump past a common prefix one row, doubling while keys are not folded (a page of
    1,000 prefixes reads about 1,000 rows, not 1,000 batches)."""
    page = Page()
    if max_keys <= 0:
        return page
    skip = None
    if after is not None and after >= prefix:
        start, inclusive = after, False
        if _folded(after, prefix, delimiter) == after:
            skip, start = after, after + _PAST_EVERYTHING  # rule 3, without reading them
    else:
        start, inclusive = prefix, True
    count = 0
    want = 1 if delimiter else _BATCH
    while True:
        rows = scan(start, inclusive, min(want, max_keys - count + 1))
        if not rows:
            return page
        jumped = False
        for record in rows:
            key = record.key
            if not key.startswith(prefix):
                return page
            if skip is not None and key.startswith(skip):
                continue
            folded = _folded(key, prefix, delimiter)
            if count == max_keys:
                page.truncated = True
                return page
            count += 1
            if folded is not None:
                page.prefixes.append(folded)
                page.last = skip = folded
                start, inclusive, jumped = folded + _PAST_EVERYTHING, False, True
                break
            page.contents.append(record)
            page.last = key
        if jumped:
            want = 1
        else:
            start, inclusive = rows[-1].key, False
            want = min(want * 2, _BATCH)
