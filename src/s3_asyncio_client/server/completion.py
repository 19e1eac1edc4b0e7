"""CompleteMultipartUpload: check the request, then swap the upload for the object.

Rules:

1. The request is checked first: parts ascending (InvalidPartOrder),
   each part present with the ETag (and checksum) given (InvalidPart), and in strict
   mode every part but the last at least 5 MiB (EntityTooSmall) and a checksum for
   every part when the upload has an algorithm. Parts not named are discarded.
2. Nothing is copied: the chosen parts' blobs become the object's segments, and one
   index transaction swaps upload for object (see storage.py for why a kill at any
   moment leaves the old version or the new one, whole). So completion takes
   milliseconds at any size, and S3's 200-then-whitespace keep-alive is never needed.
   The ETag is MD5 of the part MD5s, ``-N``.
3. With a checksum algorithm, the object checksum is the upload's type of it: for
   COMPOSITE the algorithm over the part checksums, ``-N``; for FULL_OBJECT the CRC
   of every byte, combined from the parts' CRCs and sizes (nothing is read again). An
   ``x-amz-checksum-<alg>`` header on the request names the value expected
   (BadDigest when it differs).
4. A Complete repeated after success (a client retrying a reply it lost) gets the
   same result while the object at the key is still the one the upload made (its
   upload id and part numbers are kept with it, never echoed) and the request names
   the same parts; otherwise NoSuchUpload, as for any finished upload.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

from aiohttp import web

from ..protocol.crc import checksum_type, combine, composite_value, encode_crc
from ..protocol.documents import Content, XmlNode
from ..protocol.limits import MIN_PART_SIZE
from .call import Call
from .conditions import check_write
from .errors import S3Fault
from .index import ObjectRecord, PartRecord, UploadRecord
from .integers import decimal
from .multipart import TYPE_HEADER, upload_checksum_type, upload_of
from .objects import DEFAULT_CHECKSUM, MADE_BY, MADE_OF, PART_CHECKSUMS, object_checksums
from .payload import read_xml

__all__ = ["assemble", "complete_upload"]


def _requested_parts(document: XmlNode) -> list[tuple[int, str, dict[str, str]]]:
    if document.tag != "CompleteMultipartUpload":
        raise S3Fault("MalformedXML", "The XML you provided was not well-formed")
    wanted = []
    for node in document.children("Part"):
        number = decimal((node.find_text("PartNumber") or "").strip())
        if number is None:
            raise S3Fault(
                "MalformedXML", "Each Part needs a PartNumber: a whole number of at most 19 digits"
            )
        checksums = {
            child.tag.removeprefix("Checksum").lower(): child.text.strip()
            for child in node.children()
            if child.tag.startswith("Checksum") and child.tag != "ChecksumType"
        }
        wanted.append((number, (node.find_text("ETag") or "").strip(), checksums))
    if not wanted:
        raise S3Fault(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
        )
    return wanted


def _invalid_part(number: int, why: str) -> S3Fault:
    return S3Fault(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part may not have "
        f"been uploaded, or the specified entity tag may not match the part's entity tag. "
        f"(part {number}: {why})",
        extra={"PartNumber": str(number)},
    )


def _chosen_parts(call: Call, upload: UploadRecord, document: XmlNode) -> list[PartRecord]:
    """Rule 2: the parts named, checked against what is staged."""
    wanted = _requested_parts(document)
    staged = {part.number: part for part in call.storage.index.parts(upload.upload_id)}
    chosen = []
    previous = 0
    for number, etag, checksums in wanted:
        if number <= previous:
            raise S3Fault(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by "
                "part number.",
            )
        previous = number
        part = staged.get(number)
        if part is None:
            raise _invalid_part(number, "not uploaded")
        if etag.strip('"') != part.etag.strip('"'):
            raise _invalid_part(number, f"ETag {etag} given, {part.etag} stored")
        for alg, value in checksums.items():
            if part.checksums.get(alg, value) != value:
                raise _invalid_part(number, f"checksum {alg.upper()} does not match")
        if call.settings.strict and upload.algorithm and upload.algorithm not in checksums:
            raise S3Fault(
                "InvalidRequest",
                f"The upload was created using a {upload.algorithm} checksum. The complete "
                "request must include the checksum for each part. It was missing for part "
                f"{number} in the request.",
            )
        chosen.append(part)
    if call.settings.strict:
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise S3Fault(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    extra={
                        "ProposedSize": str(part.size),
                        "MinSizeAllowed": str(MIN_PART_SIZE),
                        "PartNumber": str(part.number),
                        "ETag": part.etag,
                    },
                )
    return chosen


def _checksums(call: Call, upload: UploadRecord, parts: list[PartRecord]) -> dict[str, str]:
    """Rule 3's object checksum, when every part has one."""
    alg = upload.algorithm or DEFAULT_CHECKSUM  # none named: S3's default, full-object
    if any(alg not in part.checksums for part in parts):
        return {}
    digests = [base64.b64decode(part.checksums[alg]) for part in parts]
    if (upload_checksum_type(upload) or "FULL_OBJECT") == "FULL_OBJECT":
        crc = 0
        for part, digest in zip(parts, digests, strict=True):
            crc = combine(alg, crc, int.from_bytes(digest, "big"), part.size)
        value = encode_crc(alg, crc)
    else:
        value = composite_value(alg, digests)
    expected = call.headers.get(f"x-amz-checksum-{alg}")
    if expected is not None and expected.strip() not in (value, value.rpartition("-")[0]):
        raise S3Fault(
            "BadDigest",
            f"The {alg.upper()} you specified ({expected}) did not match the calculated "
            f"checksum ({value}).",
        )
    return {alg: value, PART_CHECKSUMS: " ".join(part.checksums[alg] for part in parts)}


def _object(call: Call, upload: UploadRecord, parts: list[PartRecord]) -> ObjectRecord:
    """Rule 2: the object the chosen parts make, their blobs as its segments."""
    md5s = b"".join(bytes.fromhex(part.etag.strip('"')) for part in parts)
    return ObjectRecord(
        upload.bucket,
        upload.key,
        tuple((part.blob, part.size) for part in parts),
        sum(part.size for part in parts),
        f'"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"',
        call.now(),
        upload.content_type,
        upload.metadata,
        {name: value for name, value in upload.headers.items() if name != TYPE_HEADER},
        _checksums(call, upload, parts),
        len(parts),
    )


def assemble(call: Call, upload: UploadRecord, parts: list[PartRecord]) -> ObjectRecord:
    """The object ``parts`` (checked, in order) make, marked as this upload's (rule 4);
    ``index.complete_upload`` publishes it."""
    record = _object(call, upload, parts)
    record.headers[MADE_BY] = upload.upload_id
    record.headers[MADE_OF] = " ".join(str(part.number) for part in parts)
    return record


def _check_type(call: Call, upload: UploadRecord) -> None:
    """A checksum type named at completion must be the one the upload was created with
    (an upload naming no algorithm gets S3's default, a full-object CRC64NVME)."""
    sent = call.headers.get(TYPE_HEADER, "").strip().upper()
    kept = upload_checksum_type(upload) or "FULL_OBJECT"
    if sent and sent != kept:
        raise S3Fault(
            "InvalidRequest",
            f"The upload was created using the {kept} checksum mode. The complete request "
            f"must use the same checksum mode, not {sent}.",
        )


def _result(call: Call, record: ObjectRecord) -> web.Response:
    host = f"{call.request.scheme}://{call.request.host}"
    items: list[tuple[str, Content]] = [
        ("Location", f"{host}/{quote(record.bucket)}/{quote(record.key, safe='/')}"),
        ("Bucket", record.bucket),
        ("Key", record.key),
        ("ETag", record.etag),
    ]
    checksums = object_checksums(record)
    items += [(f"Checksum{alg.upper()}", value) for alg, value in checksums.items()]
    items += [("ChecksumType", checksum_type(value)) for value in checksums.values()][:1]
    return call.xml("CompleteMultipartUploadResult", items)


def _made_by(call: Call) -> ObjectRecord | None:
    """The object at the key, if the upload named in the request made it."""
    assert call.bucket is not None
    assert call.key is not None
    record = call.storage.index.get_object(call.bucket, call.key)
    if record is None or record.headers.get(MADE_BY) != call.query["uploadId"]:
        return None
    return record


async def _repeated(call: Call, gone: S3Fault) -> web.StreamResponse:
    """A Complete of an upload already completed: its result again, if the object is
    still the one it made and the request names the same parts; else ``gone``."""
    if _made_by(call) is None:
        raise gone
    document = await read_xml(call.request, call.identity, checksum_headers=False)
    record = _made_by(call)  # again: the object may have changed meanwhile
    wanted = _requested_parts(document)
    try:
        md5s = b"".join(bytes.fromhex(etag.strip('"')) for _, etag, _ in wanted)
    except ValueError:
        raise gone from None
    numbers = " ".join(str(number) for number, _, _ in wanted)
    etag = f'"{hashlib.md5(md5s).hexdigest()}-{len(wanted)}"'
    if record is None or record.headers.get(MADE_OF) != numbers or record.etag != etag:
        raise gone
    return _result(call, record)


async def complete_upload(call: Call) -> web.StreamResponse:
    try:
        upload_of(call)  # NoSuchUpload before the body is read
    except S3Fault as fault:
        if fault.code != "NoSuchUpload":
            raise
        return await _repeated(call, fault)
    # Its x-amz-checksum-* headers are the object's, not the XML body's (rule 3).
    document = await read_xml(call.request, call.identity, checksum_headers=False)
    # From here on no await until the commit: the parts checked are the parts used,
    # even if the same upload is being completed, aborted or added to concurrently.
    upload = upload_of(call)
    _check_type(call, upload)
    parts = _chosen_parts(call, upload, document)
    record = assemble(call, upload, parts)
    index = call.storage.index
    if "if-match" in call.headers or "if-none-match" in call.headers:
        existing = index.get_object(record.bucket, record.key)
        check_write(call.headers, existing.etag if existing else None)
    reply = _result(call, record)  # whole before the commit
    await call.storage.remove(index.complete_upload(upload, record))
    return reply
