"""Versioning as an unversioned S3 bucket answers it: ListObjectVersions,
Get/PutBucketVersioning.

Rules:

1. Nothing is versioned: every object has one version, ``null``, which is the latest.
   ListObjectVersions lists each object once as that version (no delete markers),
   paged by ``key-marker`` like V1 by ``marker`` (listing.py); ``version-id-marker``
   needs a ``key-marker``, and ``null`` (or none) resumes after that key.
2. GetBucketVersioning of a bucket never enabled is an empty VersioningConfiguration.
3. PutBucketVersioning ``Suspended`` is accepted and kept: a suspended bucket behaves
   exactly as this server does (new objects are version ``null`` and replace the
   old). ``Enabled`` (or MFA delete) would need real versions: 501 NotImplemented.
4. An object request with ``versionId=null`` names the object; any other id names
   nothing this server made: 400 InvalidArgument, and nothing is read or deleted
   (DeleteObjects answers that key NoSuchVersion, as S3 does, in buckets.py).
"""

from __future__ import annotations

from aiohttp import web

from ..protocol.documents import Content
from .buckets import MALFORMED_XML, NULL_VERSION, object_entry
from .call import Call
from .errors import S3Fault
from .index import ObjectRecord
from .listing import list_page, url_encoding
from .payload import read_xml

__all__ = ["check_version_id", "get_versioning", "list_versions", "put_versioning"]

SETTING = "versioning"
_STATES = ("Enabled", "Suspended")


async def list_versions(call: Call) -> web.StreamResponse:
    """ListObjectVersions, one page (rule 1)."""
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    encode = url_encoding(call.query)
    text = encode or str
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    max_keys = min(call.int_param("max-keys", 1000), 1000)
    key_marker = call.query.get("key-marker", "")
    version_marker = call.query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise S3Fault(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            extra={"ArgumentName": "version-id-marker", "ArgumentValue": version_marker},
        )
    if version_marker not in ("", NULL_VERSION):
        raise S3Fault(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "version-id-marker", "ArgumentValue": version_marker},
        )
    bucket = call.bucket

    def scan(start: str, inclusive: bool, limit: int) -> list[ObjectRecord]:
        return index.scan_objects(bucket, start, inclusive=inclusive, limit=limit)

    page = list_page(
        scan, prefix=prefix, delimiter=delimiter, after=key_marker or None, max_keys=max_keys
    )
    next_key = next_version = None
    if page.truncated and page.last is not None:
        next_key = text(page.last)
        if page.last not in page.prefixes[-1:]:  # a key: resume after its only version
            next_version = NULL_VERSION
    owner = call.owner
    items: list[tuple[str, Content]] = [
        ("Name", call.bucket),
        ("Prefix", text(prefix)),
        ("KeyMarker", text(key_marker)),
        ("VersionIdMarker", version_marker),
        ("NextKeyMarker", next_key),
        ("NextVersionIdMarker", next_version),
        ("MaxKeys", max_keys),
        ("Delimiter", text(delimiter) if delimiter else None),
        ("EncodingType", "url" if encode is not None else None),
        ("IsTruncated", page.truncated),
    ]
    items += [
        ("Version", object_entry(record, text, owner, VersionId=NULL_VERSION, IsLatest=True))
        for record in page.contents
    ]
    items += [("CommonPrefixes", {"Prefix": text(p)}) for p in page.prefixes]
    return call.xml("ListVersionsResult", items)


def check_version_id(key: str | None, query: dict[str, str]) -> None:
    """Rule 4: an object request naming a version other than ``null`` is refused
    before it can read or delete the one version there is."""
    version = query.get("versionId")
    if key is not None and version is not None and version != NULL_VERSION:
        raise S3Fault(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": version},
        )


async def get_versioning(call: Call) -> web.StreamResponse:
    """Rule 2 (or the ``Suspended`` state rule 3 kept)."""
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    status = call.storage.index.bucket_setting(call.bucket, SETTING)
    return call.xml("VersioningConfiguration", [("Status", status)])


async def put_versioning(call: Call) -> web.StreamResponse:
    """Rule 3."""
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    document = await read_xml(call.request, call.identity)
    status = document.find_text("Status")
    mfa_delete = document.find_text("MfaDelete")
    if (
        document.tag != "VersioningConfiguration"
        or status not in (None, *_STATES)
        or mfa_delete not in (None, "Enabled", "Disabled")
    ):
        raise S3Fault("MalformedXML", MALFORMED_XML)
    if status == "Enabled" or mfa_delete == "Enabled":
        raise S3Fault(
            "NotImplemented",
            "This server does not keep object versions: bucket versioning cannot be "
            "enabled (Suspended is accepted; every object is version null).",
        )
    if status is not None:
        call.storage.index.set_bucket_setting(call.bucket, SETTING, status)
    return call.reply(200)
