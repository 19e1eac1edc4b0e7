"""GetObjectAttributes (``GET /bucket/key?attributes``): what HEAD and ListParts say
about an object, in one XML reply.

Rules:

1. ``x-amz-object-attributes`` names the attributes wanted (ETag, Checksum,
   ObjectParts, StorageClass, ObjectSize); none, or another name, is InvalidArgument.
2. Checksum is the stored value without a composite's ``-N`` (the count is in
   ObjectParts), with its ChecksumType.
3. ObjectParts is given for a multipart object; its Part elements, each with the part's
   checksum, only when the object has a checksum (as S3 does), paged by
   ``x-amz-max-parts`` and ``x-amz-part-number-marker``.
"""

from __future__ import annotations

from aiohttp import web

from ..protocol.documents import Content
from .call import Call
from .conditions import http_date
from .errors import S3Fault
from .index import ObjectRecord
from .integers import decimal
from .objects import PART_CHECKSUMS, object_checksums

__all__ = ["get_object_attributes"]

_ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


def _wanted(call: Call) -> set[str]:
    """Rule 1."""
    names = {n.strip() for n in call.headers.get("x-amz-object-attributes", "").split(",")}
    names.discard("")
    if not names or names - _ATTRIBUTES:
        raise S3Fault("InvalidArgument", "Invalid attribute name specified.")
    return names


def _header_number(call: Call, name: str, default: int) -> int:
    text = call.headers.get(name)
    value = default if text is None else decimal(text.strip())
    if value is None or value < 0:
        raise S3Fault("InvalidArgument", f"Provided {name} not an integer or within integer range")
    return value


def _parts(call: Call, record: ObjectRecord) -> list[tuple[str, Content]]:
    """Rule 3."""
    items: list[tuple[str, Content]] = [("PartsCount", record.parts)]
    values = record.checksums.get(PART_CHECKSUMS, "").split()
    checksums = object_checksums(record)
    if not checksums or len(values) != record.parts or len(record.blobs) != record.parts:
        return items
    (alg,) = checksums  # one algorithm per multipart object
    marker = _header_number(call, "x-amz-part-number-marker", 0)
    most = min(_header_number(call, "x-amz-max-parts", 1000), 1000)
    numbers = list(range(marker + 1, record.parts + 1))
    shown, truncated = numbers[:most], len(numbers) > most
    items += [
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", shown[-1] if shown else marker),
        ("MaxParts", most),
        ("IsTruncated", truncated),
    ]
    for number in shown:
        part: list[tuple[str, Content]] = [
            ("PartNumber", number),
            ("Size", record.blobs[number - 1][1]),
            (f"Checksum{alg.upper()}", values[number - 1]),
        ]
        items.append(("Part", part))
    return items


async def get_object_attributes(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    wanted = _wanted(call)
    record = index.get_object(call.bucket, call.key)
    if record is None:
        raise S3Fault("NoSuchKey", "The specified key does not exist.", extra={"Key": call.key})
    items: list[tuple[str, Content]] = []
    if "ETag" in wanted:
        items.append(("ETag", record.etag.strip('"')))
    checksums = object_checksums(record)
    if "Checksum" in wanted and checksums:
        checksum: list[tuple[str, Content]] = []
        for alg, value in checksums.items():
            bare, dash, _ = value.partition("-")
            checksum.append((f"Checksum{alg.upper()}", bare))
            checksum.append(("ChecksumType", "COMPOSITE" if dash else "FULL_OBJECT"))
        items.append(("Checksum", checksum))
    if "ObjectParts" in wanted and record.parts:
        items.append(("ObjectParts", _parts(call, record)))
    if "StorageClass" in wanted:
        items.append(("StorageClass", "STANDARD"))
    if "ObjectSize" in wanted:
        items.append(("ObjectSize", record.size))
    headers = {"Last-Modified": http_date(record.modified)}
    return call.xml("GetObjectAttributesResponse", items, headers=headers)
