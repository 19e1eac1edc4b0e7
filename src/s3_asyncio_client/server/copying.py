"""CopyObject, and the copy source that UploadPartCopy reads too.

A copy shares the source's blobs by hard link when the file system allows it, so a
copy of any size costs no data I/O; otherwise the bytes are copied once.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from aiohttp import web

from ..protocol.limits import MAX_PUT_SIZE
from . import acl, tagging
from .call import Call, iso_time
from .conditions import check_copy_source
from .errors import S3Fault
from .objects import (
    DEFAULT_TYPE,
    MADE_BY,
    MADE_OF,
    commit,
    object_checksums,
    stored_headers,
    user_metadata,
)
from .records import ObjectRecord, Segment

__all__ = ["copy_object", "copy_source"]


def copy_source(call: Call) -> ObjectRecord:
    """The object ``x-amz-copy-source`` names (URL-encoded ``bucket/key``)."""
    raw = call.headers["x-amz-copy-source"].split("?", 1)[0]
    # Query-string style, as S3 reads it: "+" is a space (s5cmd sends it so); a
    # literal "+" arrives as %2B.
    text = unquote_plus(raw).lstrip("/")
    bucket, _, key = text.partition("/")
    if not bucket or not key:
        raise S3Fault(
            "InvalidArgument", "Copy Source must mention the source bucket and key: bucket/key"
        )
    index = call.storage.index
    if not index.bucket_exists(bucket):
        raise S3Fault("NoSuchBucket", "The specified bucket does not exist")
    record = index.get_object(bucket, key)
    if record is None:
        raise S3Fault("NoSuchKey", "The specified key does not exist.", extra={"Key": key})
    check_copy_source(call.headers, record.etag, record.modified)
    return record


async def copy_object(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    storage = call.storage
    storage.index.require_bucket(call.bucket)
    source = copy_source(call)
    directive = call.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Fault("InvalidArgument", "Unknown metadata directive.")
    if directive == "COPY" and (source.bucket, source.key) == (call.bucket, call.key):
        raise S3Fault(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    if call.settings.strict and source.size > MAX_PUT_SIZE:
        raise S3Fault(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {MAX_PUT_SIZE}",
        )
    # The copy's ACL is the request's (private by default), its tags per the tagging
    # directive: neither comes with the source's headers.
    attributes = acl.object_acl_headers(call)
    attributes.update(tagging.copied_tag_headers(call, source.headers))
    segments = await _duplicate(call, source)
    replace = directive == "REPLACE"
    base = stored_headers(call.headers) if replace else _copied_headers(source)
    base = {k: v for k, v in base.items() if k not in (acl.ACL_HEADER, tagging.TAGS_HEADER)}
    record = ObjectRecord(
        call.bucket,
        call.key,
        segments,
        source.size,
        source.etag,
        call.now(),
        (call.headers.get("content-type") or DEFAULT_TYPE) if replace else source.content_type,
        user_metadata(call.headers) if replace else source.metadata,
        {**base, **attributes},
        source.checksums,
        source.parts,
    )
    await storage.remove(await commit(call, record))
    items: list[tuple[str, object]] = [
        ("ETag", record.etag),
        ("LastModified", iso_time(record.modified)),
    ]
    for alg, value in object_checksums(record).items():
        items.append((f"Checksum{alg.upper()}", value))
    return call.xml("CopyObjectResult", items)  # type: ignore[arg-type]


def _copied_headers(source: ObjectRecord) -> dict[str, str]:
    """The source's stored headers, less the marks of the upload that made it (the
    copy is no upload's result)."""
    return {k: v for k, v in source.headers.items() if k not in (MADE_BY, MADE_OF)}


async def _duplicate(call: Call, source: ObjectRecord) -> tuple[Segment, ...]:
    """New blobs with the source's bytes: hard links when possible, else one copy of
    each segment (so a multipart object keeps its parts).

    Call it with no ``await`` since the source was looked up: its blobs are pinned
    first, so a concurrent overwrite cannot remove them mid-copy.
    """
    storage, blobs = call.storage, call.storage.blobs
    pinned = storage.pin(source.blobs)
    linked: list[Segment] = []
    try:
        for name, size in source.blobs:
            new = await storage.link(name)
            if new is None:
                break
            linked.append((new, size))
        else:
            return tuple(linked)
        await storage.remove(name for name, _ in linked)
        copied: list[Segment] = []
        try:
            for name, size in source.blobs:
                temp = await storage.run(blobs.create_temp)
                try:
                    await storage.run(blobs.concat, [name], temp)
                    copied.append((await storage.run(blobs.publish, temp), size))
                except BaseException:
                    await storage.discard(temp)
                    raise
        except BaseException:
            await storage.remove(name for name, _ in copied)
            raise
        return tuple(copied)
    finally:
        await storage.unpin(pinned)
