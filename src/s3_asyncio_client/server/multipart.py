"""Multipart upload handlers: create, upload part (and part copy), list parts, abort,
list uploads. Completion, the subtle one, lives in completion.py.

Rules:

1. Parts are blobs, staged in the index under their upload; a re-sent part number
   replaces the old part (whose blob is then removed).
2. A part's checksum is computed with the upload's algorithm (``x-amz-checksum-algorithm``
   at create) even when the client sends none, so ListParts and the object's checksum
   have it. The upload's checksum type (``x-amz-checksum-type``: COMPOSITE, the
   default, or FULL_OBJECT, the only one for CRC64NVME; SHA is composite only) is
   kept with its headers until completion.
3. Part numbers are 1..2**31-1 by default; 1..10,000 in strict mode, where parts over
   5 GiB are refused too.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from ..protocol.documents import Content
from ..protocol.limits import MAX_PART_NUMBER, MAX_PART_SIZE
from .call import Call, iso_time
from .copying import copy_source
from .errors import S3Fault
from .index import PartRecord, UploadRecord
from .integers import decimal
from .listing import url_encoding
from .objects import DEFAULT_TYPE, attribute_headers, store_body, stored_headers, user_metadata
from .payload import ALGORITHMS, Digests

__all__ = [
    "TYPE_HEADER",
    "abort_upload",
    "create_upload",
    "list_parts",
    "list_uploads",
    "upload_checksum_type",
    "upload_of",
    "upload_part",
]

TYPE_HEADER = "x-amz-checksum-type"


def upload_of(call: Call) -> UploadRecord:
    assert call.bucket is not None
    assert call.key is not None
    call.storage.index.require_bucket(call.bucket)
    return call.storage.index.get_upload(call.query["uploadId"], call.bucket, call.key)


async def create_upload(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    algorithm = call.headers.get("x-amz-checksum-algorithm", "").lower() or None
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise S3Fault("InvalidRequest", f"Checksum algorithm {algorithm!r} is not supported.")
    kind = _checksum_type(algorithm, call.headers.get(TYPE_HEADER, "").upper() or None)
    kept = stored_headers(call.headers)
    kept.update(attribute_headers(call))  # the completed object's ACL and tags
    if kind is not None:
        kept[TYPE_HEADER] = kind
    record = UploadRecord(
        secrets.token_urlsafe(36),
        call.bucket,
        call.key,
        call.now(),
        call.headers.get("content-type") or DEFAULT_TYPE,
        user_metadata(call.headers),
        kept,
        algorithm,
    )
    headers = {}
    if algorithm is not None and kind is not None:
        headers = {"x-amz-checksum-algorithm": algorithm.upper(), TYPE_HEADER: kind}
    reply = call.xml(
        "InitiateMultipartUploadResult",
        [("Bucket", call.bucket), ("Key", call.key), ("UploadId", record.upload_id)],
        headers=headers,
    )
    # Committed only once the reply exists: a reply that cannot be made must not
    # leave an upload behind that nobody was told of (and that retries would repeat).
    call.storage.index.create_upload(record)
    return reply


def _checksum_type(algorithm: str | None, kind: str | None) -> str | None:
    """Rule 2: the upload's checksum type, checked against its algorithm."""
    if algorithm is None:
        if kind is not None:
            raise S3Fault(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return None
    kind = kind or ("FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE")
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise S3Fault("InvalidRequest", f"Value for x-amz-checksum-type header is invalid: {kind}")
    if (kind == "COMPOSITE" and algorithm == "crc64nvme") or (
        kind == "FULL_OBJECT" and algorithm.startswith("sha")
    ):
        raise S3Fault(
            "InvalidRequest",
            f"The {kind} checksum type cannot be used with the {algorithm} checksum algorithm.",
        )
    return kind


def upload_checksum_type(upload: UploadRecord) -> str | None:
    """COMPOSITE or FULL_OBJECT for an upload with a checksum algorithm (rule 2)."""
    return upload.headers.get(TYPE_HEADER) if upload.algorithm else None


def _part_number(call: Call) -> int:
    high = MAX_PART_NUMBER if call.settings.strict else 2**31 - 1
    number = decimal(call.query.get("partNumber"))
    if number is None or not 1 <= number <= high:
        raise S3Fault(
            "InvalidArgument", f"Part number must be an integer between 1 and {high}, inclusive"
        )
    return number


async def upload_part(call: Call) -> web.StreamResponse:
    upload = upload_of(call)
    number = _part_number(call)
    if "x-amz-copy-source" in call.headers:
        return await _upload_part_copy(call, upload, number)
    limit = MAX_PART_SIZE if call.settings.strict else None
    # An upload with no algorithm still gets S3's default over its parts (combined at
    # completion into the object's FULL_OBJECT value).
    name, digests, echo = await store_body(
        call, upload.algorithm, limit, default=upload.algorithm is None
    )
    record = PartRecord(
        upload.upload_id, number, name, digests.size, digests.etag, call.now(), digests.values()
    )
    await _stage(call, upload, record)
    headers = {"ETag": record.etag}
    headers.update({f"x-amz-checksum-{alg}": value for alg, value in echo.items()})
    return call.reply(200, headers)


async def _stage(call: Call, upload: UploadRecord, record: PartRecord) -> None:
    try:
        old = call.storage.index.put_part(record, upload.bucket, upload.key)
    except BaseException:
        await call.storage.remove([record.blob])
        raise
    await call.storage.remove([old] if old else [])


def _copy_range(call: Call, size: int) -> tuple[int, int]:
    text = call.headers.get("x-amz-copy-source-range")
    if text is None:
        return 0, size
    unit, _, spec = text.strip().partition("=")
    first_text, _, last_text = spec.partition("-")
    first, last = decimal(first_text), decimal(last_text)
    if unit != "bytes" or first is None or last is None or last < first:
        raise S3Fault(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
        )
    if last >= size:
        raise S3Fault(
            "InvalidRange",
            f"The requested range is not satisfiable: the source is {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return first, last - first + 1


async def _upload_part_copy(call: Call, upload: UploadRecord, number: int) -> web.StreamResponse:
    source = copy_source(call)
    start, length = _copy_range(call, source.size)
    if call.settings.strict and length > MAX_PART_SIZE:
        raise S3Fault("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    digests = Digests({upload.algorithm} if upload.algorithm else set(), sha256=False)
    storage = call.storage
    pinned = storage.pin(source.blobs)  # no await since the lookup: see storage.py
    try:
        temp = await storage.run(storage.blobs.create_temp)
        try:
            await storage.run(
                storage.blobs.copy_range, source.blobs, start, length, temp, digests.update
            )
            name = await storage.run(storage.blobs.publish, temp)
        except BaseException:
            await storage.discard(temp)
            raise
    finally:
        await storage.unpin(pinned)
    record = PartRecord(
        upload.upload_id, number, name, digests.size, digests.etag, call.now(), digests.values()
    )
    await _stage(call, upload, record)
    items: list[tuple[str, Content]] = [
        ("ETag", record.etag),
        ("LastModified", iso_time(record.modified)),
    ]
    items += [(f"Checksum{alg.upper()}", value) for alg, value in record.checksums.items()]
    return call.xml("CopyPartResult", items)


def _part_items(part: PartRecord) -> list[tuple[str, Content]]:
    items: list[tuple[str, Content]] = [
        ("PartNumber", part.number),
        ("LastModified", iso_time(part.modified)),
        ("ETag", part.etag),
        ("Size", part.size),
    ]
    items += [(f"Checksum{alg.upper()}", value) for alg, value in part.checksums.items()]
    return items


async def list_parts(call: Call) -> web.StreamResponse:
    upload = upload_of(call)
    marker = call.int_param("part-number-marker", 0)
    max_parts = min(call.int_param("max-parts", 1000), 1000)
    parts = call.storage.index.parts(upload.upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    items: list[tuple[str, Content]] = [
        ("Bucket", upload.bucket),
        ("Key", upload.key),
        ("UploadId", upload.upload_id),
        ("Initiator", call.owner),
        ("Owner", call.owner),
        ("StorageClass", "STANDARD"),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].number if parts else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
    ]
    if upload.algorithm:
        items.append(("ChecksumAlgorithm", upload.algorithm.upper()))
        items.append(("ChecksumType", upload_checksum_type(upload)))
    items += [("Part", _part_items(part)) for part in parts]
    return call.xml("ListPartsResult", items)


async def abort_upload(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    call.storage.index.require_bucket(call.bucket)
    blobs = call.storage.index.abort_upload(call.query["uploadId"], call.bucket, call.key)
    await call.storage.remove(blobs)
    return call.reply(204)


async def list_uploads(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    key_marker = call.query.get("key-marker", "")
    id_marker = call.query.get("upload-id-marker", "")
    max_uploads = min(call.int_param("max-uploads", 1000), 1000)
    encode = url_encoding(call.query)
    text = encode or str
    entries: list[tuple[str, Content]] = []
    seen_prefixes: set[str] = set()
    truncated = False
    last_key = last_id = ""
    for upload in call.storage.index.uploads(call.bucket, prefix):
        if key_marker and (
            upload.key < key_marker
            or (upload.key == key_marker and (not id_marker or upload.upload_id <= id_marker))
        ):
            continue
        at = upload.key.find(delimiter, len(prefix)) if delimiter else -1
        folded = upload.key[: at + len(delimiter)] if at >= 0 else None
        if folded is not None and (folded in seen_prefixes or folded == key_marker):
            continue  # a prefix appears once, and not again on the page after it
        if len(entries) == max_uploads:
            truncated = True
            break
        if folded is not None:
            seen_prefixes.add(folded)
            entries.append(("CommonPrefixes", {"Prefix": text(folded)}))
            last_key, last_id = folded, ""
            continue
        last_key, last_id = upload.key, upload.upload_id
        entries.append(
            (
                "Upload",
                {
                    "Key": text(upload.key),
                    "UploadId": upload.upload_id,
                    "Initiator": call.owner,
                    "Owner": call.owner,
                    "StorageClass": "STANDARD",
                    "Initiated": iso_time(upload.initiated),
                },
            )
        )
    items: list[tuple[str, Content]] = [
        ("Bucket", call.bucket),
        ("KeyMarker", text(key_marker)),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", text(last_key) if truncated else None),
        ("NextUploadIdMarker", last_id if truncated and last_id else None),
        ("Prefix", text(prefix)),
        ("Delimiter", text(delimiter) if delimiter else None),
        ("MaxUploads", max_uploads),
        ("IsTruncated", truncated),
        *entries,
        ("EncodingType", "url" if encode is not None else None),
    ]
    return call.xml("ListMultipartUploadsResult", items)
