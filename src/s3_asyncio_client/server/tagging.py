"""Object and bucket tagging: ``?tagging``, ``x-amz-tagging`` and S3's limits on tags.

Rules:

1. An object's tags are kept in its stored headers under ``:tags`` (JSON, a list of
   ``[key, value]`` in key order, as S3 lists them); a bucket's as its ``tagging``
   setting. No tags: nothing kept, and no ``x-amz-tagging-count`` on GET/HEAD.
2. S3's limits: 10 tags per object (50 per bucket), keys unique, a key 1..128 and a
   value 0..256 Unicode characters counted in UTF-16 units (S3 keeps tags in UTF-16),
   only letters, digits, spaces and ``_ . : / = + - @``, no key starting ``aws:``.
   Too many object tags is 400 BadRequest, the rest 400 InvalidTag, as S3 answers.
3. ``x-amz-tagging`` is a URL query (``a=1&b=2``, ``+`` a space; a key with no ``=``
   holds the empty value); a repeated key or a pair with two ``=`` is InvalidArgument.
4. CopyObject copies the source's tags (``x-amz-tagging-directive: COPY``, the default)
   or takes the request's (``REPLACE``).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_plus

from aiohttp import web

from ..protocol.documents import Content, XmlNode
from .call import Call
from .errors import S3Fault
from .payload import read_xml
from .subresource import Handler, handler_for, no_such_key, target_object

__all__ = [
    "BUCKET_SETTING",
    "TAGS_HEADER",
    "copied_tag_headers",
    "count_header",
    "delete_bucket_tagging",
    "delete_object_tagging",
    "get_bucket_tagging",
    "get_object_tagging",
    "object_tag_headers",
    "put_bucket_tagging",
    "put_object_tagging",
    "route",
]

TAGS_HEADER = ":tags"
BUCKET_SETTING = "tagging"
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_SYMBOLS = frozenset("_.:/=+-@")
_HEADER_FORM = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
    "parameters without tag name duplicates."
)
Tags = list[tuple[str, str]]


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _allowed(text: str) -> bool:
    return all(c in _SYMBOLS or unicodedata.category(c)[0] in "LNZ" for c in text)


def _invalid(message: str) -> S3Fault:
    return S3Fault("InvalidTag", message)


def checked(pairs: Iterable[tuple[str, str]], *, bucket: bool = False) -> Tags:
    """The tag set, in key order, if it keeps S3's limits (rule 2)."""
    tags = list(pairs)
    limit = MAX_BUCKET_TAGS if bucket else MAX_OBJECT_TAGS
    if len(tags) > limit:
        if bucket:
            raise _invalid(f"Bucket tag count cannot be greater than {limit}")
        raise S3Fault("BadRequest", f"Object tags cannot be greater than {limit}")
    if len({key for key, _ in tags}) != len(tags):
        raise _invalid("Cannot provide multiple Tags with the same key")
    for key, value in tags:
        if not key or not _allowed(key):
            raise _invalid("The TagKey you have provided is invalid")
        if _utf16_length(key) > MAX_KEY:
            raise _invalid(f"The TagKey you have provided is too long, max {MAX_KEY}")
        if key.startswith("aws:"):
            raise _invalid("Your TagKey cannot be prefixed with aws:")
        if not _allowed(value):
            raise _invalid("The TagValue you have provided is invalid")
        if _utf16_length(value) > MAX_VALUE:
            raise _invalid(f"The TagValue you have provided is too long, max {MAX_VALUE}")
    return sorted(tags)


def _header_pairs(text: str) -> Tags:
    """Rule 3: the pairs of an ``x-amz-tagging`` value."""
    pairs: Tags = []
    try:
        for item in text.split("&"):
            if not item:
                continue
            key, _, value = item.partition("=")
            if "=" in value:
                raise ValueError(item)
            pairs.append((unquote_plus(key, errors="strict"), unquote_plus(value, errors="strict")))
    except (ValueError, UnicodeDecodeError):
        raise S3Fault(
            "InvalidArgument", _HEADER_FORM, extra={"ArgumentName": "x-amz-tagging"}
        ) from None
    if len({key for key, _ in pairs}) != len(pairs):
        raise S3Fault("InvalidArgument", _HEADER_FORM, extra={"ArgumentName": "x-amz-tagging"})
    return pairs


def _kept(tags: Tags) -> dict[str, str]:
    return {TAGS_HEADER: json.dumps(tags)} if tags else {}


def object_tag_headers(call: Call) -> dict[str, str]:
    """What a new object keeps of the request's ``x-amz-tagging`` (rule 1)."""
    text = call.headers.get("x-amz-tagging")
    return _kept(checked(_header_pairs(text))) if text else {}


def copied_tag_headers(call: Call, source: Mapping[str, str]) -> dict[str, str]:
    """Rule 4: the tags a copy keeps, from the source's stored headers or the request."""
    directive = call.headers.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Fault(
            "InvalidArgument",
            "Unknown tagging directive.",
            extra={"ArgumentName": "x-amz-tagging-directive", "ArgumentValue": directive},
        )
    if directive == "REPLACE":
        return object_tag_headers(call)
    return {TAGS_HEADER: source[TAGS_HEADER]} if TAGS_HEADER in source else {}


def count_header(headers: Mapping[str, str]) -> dict[str, str]:
    """``x-amz-tagging-count`` for an object's stored headers, when it has tags."""
    kept = headers.get(TAGS_HEADER)
    return {"x-amz-tagging-count": str(len(json.loads(kept)))} if kept else {}


def _stored(text: str | None) -> Tags:
    return [(key, value) for key, value in json.loads(text)] if text else []


def _reply(call: Call, tags: Tags) -> web.Response:
    items: list[tuple[str, Content]] = [("Tag", {"Key": k, "Value": v}) for k, v in tags]
    return call.xml("Tagging", [("TagSet", items)])


async def _document_tags(call: Call, *, bucket: bool) -> Tags:
    """The tag set of a Put*Tagging body."""
    document: XmlNode = await read_xml(call.request, call.identity)
    tag_set = document.child("TagSet")
    if document.tag != "Tagging" or tag_set is None:
        raise S3Fault("MalformedXML", "The XML you provided was not well-formed")
    pairs: Tags = []
    for node in tag_set.children("Tag"):
        key, value = node.find_text("Key"), node.find_text("Value")
        if key is None or value is None:
            raise S3Fault("MalformedXML", "Each Tag needs a Key and a Value element")
        pairs.append((key, value))
    return checked(pairs, bucket=bucket)


def _replace_tags(call: Call, tags: Tags) -> None:
    """Set the object's tags; no await between the lookup and the update."""
    record = target_object(call)
    headers = {name: value for name, value in record.headers.items() if name != TAGS_HEADER}
    headers.update(_kept(tags))
    if not call.storage.index.set_object_headers(record.bucket, record.key, headers):
        raise no_such_key(record.key)


async def get_object_tagging(call: Call) -> web.StreamResponse:
    return _reply(call, _stored(target_object(call).headers.get(TAGS_HEADER)))


async def put_object_tagging(call: Call) -> web.StreamResponse:
    target_object(call)  # NoSuchKey before the body is read
    _replace_tags(call, await _document_tags(call, bucket=False))
    return call.reply(200)


async def delete_object_tagging(call: Call) -> web.StreamResponse:
    _replace_tags(call, [])
    return call.reply(204)


async def get_bucket_tagging(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    kept = call.storage.index.bucket_setting(call.bucket, BUCKET_SETTING)
    if kept is None:
        raise S3Fault(
            "NoSuchTagSet", "The TagSet does not exist", extra={"BucketName": call.bucket}
        )
    return _reply(call, _stored(kept))


async def put_bucket_tagging(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    tags = await _document_tags(call, bucket=True)
    call.storage.index.set_bucket_setting(call.bucket, BUCKET_SETTING, json.dumps(tags))
    return call.reply(204)


async def delete_bucket_tagging(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.set_bucket_setting(call.bucket, BUCKET_SETTING, None)
    return call.reply(204)


def route(method: str, key: str | None, query: Mapping[str, str]) -> Handler | None:
    """The handler of a ``?tagging`` request, None for any other request."""
    if "tagging" not in query:
        return None
    if key is None:
        table = {
            "GET": get_bucket_tagging,
            "PUT": put_bucket_tagging,
            "DELETE": delete_bucket_tagging,
        }
    else:
        table = {
            "GET": get_object_tagging,
            "PUT": put_object_tagging,
            "DELETE": delete_object_tagging,
        }
    return handler_for(table, method)
