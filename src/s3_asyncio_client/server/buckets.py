"""Bucket handlers: list, create, head, delete, location, object listings (V1, V2)
and DeleteObjects.

Bucket names follow S3's rules for new buckets (3-63 of ``a-z 0-9 . -``, starting and
ending with a letter or digit, no ``..``, not an IP address); every identity shares
one namespace, so each may create (and own) any bucket.

Rules S3 keeps for CreateBucket, kept here for the server's one region:

1. A ``LocationConstraint`` naming the server's region is accepted; another is 400
   IllegalLocationConstraintException. An explicit ``us-east-1`` (S3 wants none there)
   and, in another region, none at all are accepted too, but refused under strict,
   as AWS does.
2. Creating a bucket that already exists answers 200 in us-east-1 (S3's legacy
   behaviour) and 409 BucketAlreadyOwnedByYou in any other region.
3. ListBuckets pages by name with ``max-buckets`` (1..10000; 10000 when only
   ``prefix`` or ``continuation-token`` is given) and an opaque ``ContinuationToken``
   in the reply (base64 of the last name), echoing ``Prefix`` when one was sent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from xml.sax.saxutils import escape

from aiohttp import web

from ..protocol.crc import checksum_type
from ..protocol.documents import S3_NAMESPACE, Content
from . import acl
from .call import Call, iso_time
from .errors import S3Fault
from .index import ObjectRecord
from .listing import decode_token, encode_token, list_page, url_encoding
from .objects import object_checksums
from .payload import read_xml

__all__ = [
    "create_bucket",
    "delete_bucket",
    "delete_objects",
    "get_location",
    "head_bucket",
    "list_buckets",
    "list_objects",
    "object_entry",
    "valid_bucket_name",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_DELETE = 1000
MAX_BUCKETS = 10_000
LEGACY_REGION = "us-east-1"
NULL_VERSION = "null"  # the version id of every object (nothing is versioned)
MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


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
    """ListBuckets, one page (rule 3)."""
    prefix = call.query.get("prefix", "")
    token = call.query.get("continuation-token")
    limit = call.int_param("max-buckets", MAX_BUCKETS, 1, MAX_BUCKETS)
    after = decode_token(token) if token else ""
    wanted_region = call.query.get("bucket-region")
    named = [
        (name, created)
        for name, created in call.storage.index.list_buckets()
        if name.startswith(prefix) and name > after
    ]
    if wanted_region is not None and wanted_region != call.settings.region:
        named = []
    page = named[:limit]
    buckets: list[tuple[str, Content]] = [
        (
            "Bucket",
            {"Name": name, "CreationDate": iso_time(created), "BucketRegion": call.settings.region},
        )
        for name, created in page
    ]
    more = len(named) > limit
    return call.xml(
        "ListAllMyBucketsResult",
        [
            ("Owner", call.owner),
            ("Buckets", buckets),
            ("ContinuationToken", encode_token(page[-1][0]) if more else None),
            ("Prefix", prefix if "prefix" in call.query else None),
        ],
    )


async def create_bucket(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    if not valid_bucket_name(call.bucket):
        raise S3Fault(
            "InvalidBucketName",
            "The specified bucket is not valid.",
            extra={"BucketName": call.bucket},
        )
    acl_setting = acl.bucket_acl_setting(call)  # checked before anything is read or made
    if call.request.body_exists:
        document = await read_xml(call.request, call.identity)
        if document.tag != "CreateBucketConfiguration":
            raise S3Fault("MalformedXML", MALFORMED_XML)
        _check_location(call, document.find_text("LocationConstraint") or "")
    else:
        _check_location(call, "")
    created = call.storage.index.create_bucket(call.bucket, call.now())
    if not created and call.settings.region != LEGACY_REGION:
        raise S3Fault(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            extra={"BucketName": call.bucket},
        )
    # Set on a re-create too: S3's legacy 200 resets the bucket's ACL.
    call.storage.index.set_bucket_setting(call.bucket, acl.BUCKET_SETTING, acl_setting)
    return call.reply(200, {"Location": f"/{call.bucket}"})


def _check_location(call: Call, wanted: str) -> None:
    """Rule 1: the constraint (``""`` when none) against the server's region."""
    region = call.settings.region
    if wanted == LEGACY_REGION and region == LEGACY_REGION:
        if call.settings.strict:
            raise S3Fault(
                "InvalidLocationConstraint", "The specified location-constraint is not valid"
            )
        return
    if wanted == region or (not wanted and not call.settings.strict):
        return
    if not wanted and region == LEGACY_REGION:
        return
    raise S3Fault(
        "IllegalLocationConstraintException",
        f"The {wanted or 'unspecified'} location constraint is incompatible for the region "
        "specific endpoint this request was sent to.",
    )


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


def object_entry(
    record: ObjectRecord, text: Callable[[str], str], owner: Content | None, **head: Content
) -> dict[str, Content]:
    """One object as listings show it, in S3's element order; ``head`` goes first
    (after the key), ``owner`` is left out when None."""
    entry: dict[str, Content] = {"Key": text(record.key), **head}
    entry["LastModified"] = iso_time(record.modified)
    entry["ETag"] = record.etag
    for algorithm, value in object_checksums(record).items():
        entry["ChecksumAlgorithm"] = algorithm.upper()
        entry["ChecksumType"] = checksum_type(value)
    entry["Size"] = record.size
    entry["Owner"] = owner
    entry["StorageClass"] = "STANDARD"
    return entry


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
    # V1 always names each object's owner; V2 only when asked (fetch-owner=true).
    fetch_owner = not v2 or call.query.get("fetch-owner", "").lower() == "true"
    owner = call.owner if fetch_owner else None
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
    items += [("Contents", object_entry(record, text, owner)) for record in page.contents]
    items += [("CommonPrefixes", {"Prefix": text(p)}) for p in page.prefixes]
    return call.xml("ListBucketResult", items)


async def delete_objects(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    document = await read_xml(call.request, call.identity)
    if document.tag != "Delete":
        raise S3Fault("MalformedXML", MALFORMED_XML)
    quiet = (document.find_text("Quiet") or "").strip().lower() == "true"
    objects = document.children("Object")
    if len(objects) > MAX_DELETE:
        raise S3Fault("MalformedXML", f"DeleteObjects takes at most {MAX_DELETE} keys per request")
    results: list[tuple[str, Content]] = []
    keys: list[str] = []
    for node in objects:
        key = node.find_text("Key") or ""
        version = node.find_text("VersionId")
        problem = key_problem(key)
        if problem is None and version not in (None, NULL_VERSION):
            # Every object here is version "null": another id names nothing (S3's
            # answer for a version that does not exist; the object is kept).
            problem = "NoSuchVersion", "The specified version does not exist."
        if problem is not None:
            code, message = problem
            failed: dict[str, Content] = {"Key": key, "VersionId": version}
            results.append(("Error", {**failed, "Code": code, "Message": message}))
            continue
        keys.append(key)
        if not quiet:
            results.append(("Deleted", {"Key": key, "VersionId": version}))
    # One transaction for the batch: a thousand commits would cost a thousand times.
    await call.storage.remove(index.delete_objects(call.bucket, keys))
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
