"""Bucket handlers: list, create, head, delete, location, object listings (V1, V2)
and DeleteObjects.

Bucket names follow S3's rules for new buckets (3-63 of ``a-z 0-9 . -``, starting and
ending with a letter or digit, no ``..``, not an IP address); every identity shares
one namespace, so BucketAlreadyOwnedByYou answers any second create.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from xml.sax.saxutils import escape

from aiohttp import web

from ..protocol.documents import S3_NAMESPACE, Content
from .call import Call, iso_time
from .errors import S3Fault
from .index import ObjectRecord
from .listing import decode_token, encode_token, list_page, url_encoding
from .payload import read_xml

__all__ = [
    "create_bucket",
    "delete_bucket",
    "delete_objects",
    "get_location",
    "head_bucket",
    "list_buckets",
    "list_objects",
    "valid_bucket_name",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_DELETE = 1000


def valid_bucket_name(name: str) -> bool:
    if not _NAME.match(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith("xn--") or name.endswith("-s3alias"):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


async def list_buckets(call: Call) -> web.StreamResponse:
    buckets: list[tuple[str, Content]] = [
        ("Bucket", {"Name": name, "CreationDate": iso_time(created)})
        for name, created in call.storage.index.list_buckets()
    ]
    return call.xml("ListAllMyBucketsResult", [("Owner", call.owner), ("Buckets", buckets)])


async def create_bucket(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    if not valid_bucket_name(call.bucket):
        raise S3Fault(
            "InvalidBucketName",
            "The specified bucket is not valid.",
            extra={"BucketName": call.bucket},
        )
    if call.request.body_exists:
        document = await read_xml(call.request, call.identity)
        wanted = document.find_text("LocationConstraint") or ""
        if wanted and wanted != call.settings.region:
            raise S3Fault(
                "InvalidLocationConstraint",
                f"The {wanted} location constraint is incompatible with the region "
                f"specific endpoint this request was sent to ({call.settings.region}).",
            )
    if not call.storage.index.create_bucket(call.bucket, call.now()):
        raise S3Fault(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            extra={"BucketName": call.bucket},
        )
    return call.reply(200, {"Location": f"/{call.bucket}"})


async def head_bucket(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    return call.reply(200, {"x-amz-bucket-region": call.settings.region})


async def delete_bucket(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    await call.storage.remove(call.storage.index.delete_bucket(call.bucket))
    return call.reply(204)


async def get_location(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    region = "" if call.settings.region == "us-east-1" else call.settings.region
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{S3_NAMESPACE}">'
        f"{escape(region)}</LocationConstraint>"
    )
    return call.reply(200, {"Content-Type": "application/xml"}, body.encode())


def _entry(record: ObjectRecord, text: Callable[[str], str]) -> dict[str, Content]:
    return {
        "Key": text(record.key),
        "LastModified": iso_time(record.modified),
        "ETag": record.etag,
        "Size": record.size,
        "StorageClass": "STANDARD",
    }


async def list_objects(call: Call) -> web.StreamResponse:
    """ListObjectsV2 (``list-type=2``) or V1, one page."""
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    v2 = call.query.get("list-type") == "2"
    encode = url_encoding(call.query)
    text = encode or str

    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    max_keys = min(call.int_param("max-keys", 1000), 1000)
    token = call.query.get("continuation-token")
    start_after = call.query.get("start-after")
    if v2:
        after = decode_token(token) if token else start_after or None
    else:
        after = call.query.get("marker") or None
    bucket = call.bucket

    def scan(start: str, inclusive: bool, limit: int) -> list[ObjectRecord]:
        return index.scan_objects(bucket, start, inclusive=inclusive, limit=limit)

    page = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
    items: list[tuple[str, Content]] = [
        ("Name", call.bucket),
        ("Prefix", text(prefix)),
        ("Delimiter", text(delimiter) if delimiter else None),
        ("MaxKeys", max_keys),
        ("EncodingType", "url" if encode is not None else None),
        ("IsTruncated", page.truncated),
    ]
    if v2:
        items += [
            ("KeyCount", len(page.contents) + len(page.prefixes)),
            ("ContinuationToken", token),
            ("StartAfter", text(start_after) if start_after is not None else None),
            (
                "NextContinuationToken",
                encode_token(page.last) if page.truncated and page.last else None,
            ),
        ]
    else:
        items += [
            ("Marker", text(call.query.get("marker", ""))),
            ("NextMarker", text(page.last) if page.truncated and page.last else None),
        ]
    items += [("Contents", _entry(record, text)) for record in page.contents]
    items += [("CommonPrefixes", {"Prefix": text(p)}) for p in page.prefixes]
    return call.xml("ListBucketResult", items)


async def delete_objects(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    document = await read_xml(call.request, call.identity)
    if document.tag != "Delete":
        raise S3Fault("MalformedXML", "The XML you provided was not well-formed")
    quiet = (document.find_text("Quiet") or "").strip().lower() == "true"
    objects = document.children("Object")
    if len(objects) > MAX_DELETE:
        raise S3Fault("MalformedXML", f"DeleteObjects takes at most {MAX_DELETE} keys per request")
    results: list[tuple[str, Content]] = []
    removed: list[str] = []
    for node in objects:
        key = node.find_text("Key") or ""
        problem = key_problem(key)
        if problem is not None:
            code, message = problem
            results.append(("Error", {"Key": key, "Code": code, "Message": message}))
            continue
        removed += index.delete_object(call.bucket, key)
        if not quiet:
            results.append(("Deleted", {"Key": key}))
    await call.storage.remove(removed)
    return call.xml("DeleteResult", results)


def key_problem(key: str) -> tuple[str, str] | None:
    """Why a key is refused (code, message), or None when it is fine."""
    if not key:
        return "InvalidArgument", "The key must not be empty."
    if "\x00" in key:
        return "InvalidArgument", "The key must not contain a NUL character."
    if len(key.encode("utf-8", "surrogatepass")) > 1024:
        return "KeyTooLongError", "Your key is too long (over 1024 bytes)."
    return None
