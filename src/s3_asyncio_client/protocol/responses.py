"""One parser per S3 operation: an HttpResponse (already known to be a success) in,
a plain TypedDict out. ETags keep their quotes, as S3 sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NotRequired, TypedDict
from urllib.parse import unquote_plus

from .documents import XmlNode, parse_xml
from .errors import RemoteLengthError, RemoteProtocolError
from .http import HttpResponse
from .lengths import object_span, parse_body_span, parse_length

__all__ = [
    "BucketInfo",
    "CompleteResult",
    "CopyResult",
    "DeleteObjectsResult",
    "ListObjectsPage",
    "ListPartsPage",
    "ListUploadsPage",
    "ObjectInfo",
    "ObjectSummary",
    "PartInfo",
    "PutResult",
    "UploadInfo",
    "parse_complete_multipart_upload",
    "parse_copy_object",
    "parse_create_multipart_upload",
    "parse_delete_objects",
    "parse_get_object",
    "parse_head_object",
    "parse_list_buckets",
    "parse_list_multipart_uploads",
    "parse_list_objects_v2",
    "parse_list_parts",
    "parse_put_object",
    "parse_upload_part_copy",
]


class BucketInfo(TypedDict):
    name: str
    creation_date: str


class PutResult(TypedDict):
    etag: str
    version_id: NotRequired[str]
    checksums: NotRequired[dict[str, str]]


class ObjectInfo(TypedDict):
    etag: str
    content_length: int
    content_type: str | None
    last_modified: str | None
    metadata: dict[str, str]
    checksums: NotRequired[dict[str, str]]  # with checksum mode: {"crc32c": "...", ...}
    checksum_type: NotRequired[str]  # FULL_OBJECT or COMPOSITE, where the server says
    parts_count: NotRequired[int]  # of a multipart object, where the server says


class ObjectSummary(TypedDict):
    key: str
    size: int
    etag: str
    last_modified: str
    storage_class: NotRequired[str]


class ListObjectsPage(TypedDict):
    contents: list[ObjectSummary]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None


class DeleteObjectsResult(TypedDict):
    deleted: list[str]
    errors: list[dict[str, str]]


class CopyResult(TypedDict):
    etag: str
    last_modified: str | None
    checksum: NotRequired[str]


class PartInfo(TypedDict):
    part_number: int
    etag: str
    size: int
    checksum: NotRequired[str]
    last_modified: NotRequired[str]


class ListPartsPage(TypedDict):
    parts: list[PartInfo]
    is_truncated: bool
    next_part_number_marker: int | None


class CompleteResult(TypedDict):
    etag: str
    location: str | None
    bucket: str | None
    key: str | None


class UploadInfo(TypedDict):
    key: str
    upload_id: str
    initiated: str


class ListUploadsPage(TypedDict):
    uploads: list[UploadInfo]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


def _text(node: XmlNode, tag: str) -> str:
    return node.find_text(tag) or ""


def _etag(value: str | None) -> str:
    """ETags quoted, as S3 sends them (some servers drop the quotes in XML)."""
    if not value:
        return ""
    return value if value.startswith('"') else f'"{value}"'


def _element_checksum(node: XmlNode) -> str | None:
    """The value of a ``Checksum<ALGORITHM>`` child, if any."""
    for child in node.children():
        name = child.tag
        if name.startswith("Checksum") and name not in ("ChecksumAlgorithm", "ChecksumType"):
            return child.text or None
    return None


def _int(node: XmlNode, tag: str) -> int:
    text = node.find_text(tag) or "0"
    try:
        return int(text)
    except ValueError:
        raise RemoteProtocolError(f"malformed reply: <{tag}> is {text!r}, not a number") from None


def _size(item: XmlNode) -> int:
    """A listed ``<Size>``; an error names the key or part it belongs to."""
    owner = item.find_text("Key") or f"part {item.find_text('PartNumber')}"
    return parse_length(item.find_text("Size"), f"the <Size> of {owner!r}")


def _truncated(node: XmlNode) -> bool:
    return _text(node, "IsTruncated").lower() == "true"


def _url_decoder(root: XmlNode) -> Callable[[str], str]:
    """How to read the keys of a listing: URL-decoded only if the reply says it
    encoded them (a server that ignores ``encoding-type`` sends keys as they are)."""
    if root.find_text("EncodingType") != "url":
        return str

    def decode(value: str) -> str:
        try:
            return unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            raise RemoteProtocolError(
                f"malformed listing: {value!r} is not URL-encoded UTF-8"
            ) from None

    return decode


def _checksums(headers: Mapping[str, str]) -> dict[str, str]:
    prefix = "x-amz-checksum-"
    return {
        name[len(prefix) :]: value
        for name, value in headers.items()
        if name.startswith(prefix) and name[len(prefix) :] not in ("type", "algorithm")
    }


def parse_list_buckets(response: HttpResponse) -> list[BucketInfo]:
    buckets = parse_xml(response.body).child("Buckets")
    return [
        BucketInfo(name=_text(b, "Name"), creation_date=_text(b, "CreationDate"))
        for b in (buckets.children("Bucket") if buckets else [])
    ]


def parse_put_object(response: HttpResponse) -> PutResult:
    result = PutResult(etag=response.headers.get("etag", ""))
    if "x-amz-version-id" in response.headers:
        result["version_id"] = response.headers["x-amz-version-id"]
    if checksums := _checksums(response.headers):
        result["checksums"] = checksums
    return result


def _object_info(headers: Mapping[str, str], length: int) -> ObjectInfo:
    info = ObjectInfo(
        etag=headers.get("etag", ""),
        content_length=length,
        content_type=headers.get("content-type"),
        last_modified=headers.get("last-modified"),
        metadata={
            name[len("x-amz-meta-") :]: value
            for name, value in headers.items()
            if name.startswith("x-amz-meta-")
        },
    )
    if checksums := _checksums(headers):
        info["checksums"] = checksums
    if checksum_type := headers.get("x-amz-checksum-type"):
        info["checksum_type"] = checksum_type
    if (count := headers.get("x-amz-mp-parts-count", "")).isdigit():
        info["parts_count"] = int(count)
    return info


def parse_head_object(
    response: HttpResponse, *, part: bool = False, **where: str | None
) -> ObjectInfo:
    """``content_length`` is the object's size; with ``part`` (a part number was asked
    for), the part's size, as S3's own ContentLength is. A length missing, malformed
    or at odds with the Content-Range is a RemoteLengthError (``where``: bucket, key)."""
    span = object_span(response.headers, False, **where)
    return _object_info(response.headers, span.last - span.first + 1 if part else span.total)


def parse_get_object(
    response: HttpResponse, byte_range: tuple[int, int | None] | None, **where: str | None
) -> ObjectInfo:
    """A GetObject reply's info; ``content_length`` is the body's. Its lengths are
    checked as ``parse_body_span`` says, and against the body that arrived."""
    span = parse_body_span(response.status, response.headers, byte_range, **where)
    if len(response.body) != span.last - span.first + 1:
        raise RemoteLengthError(
            f"the body is {len(response.body)} bytes, Content-Length says "
            f"{span.last - span.first + 1}",
            value=response.headers.get("content-length"),
            **where,
        )
    return _object_info(response.headers, len(response.body))


def parse_list_objects_v2(response: HttpResponse) -> ListObjectsPage:
    """Keys and prefixes decoded if the reply is URL-encoded; the token is opaque."""
    root = parse_xml(response.body)
    decode = _url_decoder(root)
    contents = []
    for item in root.children("Contents"):
        summary = ObjectSummary(
            key=decode(_text(item, "Key")),
            size=_size(item),
            etag=_etag(item.find_text("ETag")),
            last_modified=_text(item, "LastModified"),
        )
        if storage := item.find_text("StorageClass"):
            summary["storage_class"] = storage
        contents.append(summary)
    return ListObjectsPage(
        contents=contents,
        common_prefixes=[decode(_text(p, "Prefix")) for p in root.children("CommonPrefixes")],
        is_truncated=_truncated(root),
        next_continuation_token=root.find_text("NextContinuationToken") or None,
    )


def parse_delete_objects(response: HttpResponse) -> DeleteObjectsResult:
    root = parse_xml(response.body)
    return DeleteObjectsResult(
        deleted=[_text(d, "Key") for d in root.children("Deleted")],
        errors=[
            {"key": _text(e, "Key"), "code": _text(e, "Code"), "message": _text(e, "Message")}
            for e in root.children("Error")
        ],
    )


def parse_copy_object(response: HttpResponse) -> CopyResult:
    root = parse_xml(response.body)
    result = CopyResult(
        etag=_etag(root.find_text("ETag")), last_modified=root.find_text("LastModified")
    )
    if checksum := _element_checksum(root):
        result["checksum"] = checksum
    return result


parse_upload_part_copy = parse_copy_object


def parse_create_multipart_upload(response: HttpResponse) -> str:
    upload_id = parse_xml(response.body).find_text("UploadId")
    if not upload_id:
        raise RemoteProtocolError("CreateMultipartUpload reply has no UploadId")
    return upload_id


def parse_list_parts(response: HttpResponse) -> ListPartsPage:
    root = parse_xml(response.body)
    parts = []
    for item in root.children("Part"):
        part = PartInfo(
            part_number=_int(item, "PartNumber"),
            etag=_etag(item.find_text("ETag")),
            size=_size(item),
        )
        if modified := item.find_text("LastModified"):
            part["last_modified"] = modified
        if checksum := _element_checksum(item):
            part["checksum"] = checksum
        parts.append(part)
    marker = root.find_text("NextPartNumberMarker")
    return ListPartsPage(
        parts=parts,
        is_truncated=_truncated(root),
        next_part_number_marker=int(marker) if marker else None,
    )


def parse_complete_multipart_upload(response: HttpResponse) -> CompleteResult:
    root = parse_xml(response.body)
    return CompleteResult(
        etag=_etag(root.find_text("ETag")),
        location=root.find_text("Location"),
        bucket=root.find_text("Bucket"),
        key=root.find_text("Key"),
    )


def parse_list_multipart_uploads(response: HttpResponse) -> ListUploadsPage:
    """Keys and the key marker decoded if the reply is URL-encoded."""
    root = parse_xml(response.body)
    decode = _url_decoder(root)
    next_key_marker = root.find_text("NextKeyMarker")
    return ListUploadsPage(
        uploads=[
            UploadInfo(
                key=decode(_text(u, "Key")),
                upload_id=_text(u, "UploadId"),
                initiated=_text(u, "Initiated"),
            )
            for u in root.children("Upload")
        ],
        is_truncated=_truncated(root),
        next_key_marker=decode(next_key_marker) if next_key_marker else None,
        next_upload_id_marker=root.find_text("NextUploadIdMarker") or None,
    )
