"""One parser per S3 operation: an HttpResponse (already known to be a success) in,
a plain TypedDict out. ETags keep their quotes, as S3 sends them.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from ..exceptions import S3ServerError
from .documents import XmlNode, parse_xml
from .http import HttpResponse

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
        raise S3ServerError(f"malformed reply: <{tag}> is {text!r}, not a number") from None


def _truncated(node: XmlNode) -> bool:
    return _text(node, "IsTruncated").lower() == "true"


def _checksums(response: HttpResponse) -> dict[str, str]:
    prefix = "x-amz-checksum-"
    return {
        name[len(prefix) :]: value
        for name, value in response.headers.items()
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
    if checksums := _checksums(response):
        result["checksums"] = checksums
    return result


def parse_head_object(response: HttpResponse, *, part: bool = False) -> ObjectInfo:
    """``content_length`` is the object's size; with ``part`` (a part number was asked
    for), the part's size, as S3's own ContentLength is."""
    headers = response.headers
    length = headers.get("content-length", "0")
    if "content-range" in headers and not part:
        length = headers["content-range"].rpartition("/")[2]
    info = ObjectInfo(
        etag=headers.get("etag", ""),
        content_length=int(length) if length.isdigit() else 0,
        content_type=headers.get("content-type"),
        last_modified=headers.get("last-modified"),
        metadata={
            name[len("x-amz-meta-") :]: value
            for name, value in headers.items()
            if name.startswith("x-amz-meta-")
        },
    )
    if checksums := _checksums(response):
        info["checksums"] = checksums
    if checksum_type := headers.get("x-amz-checksum-type"):
        info["checksum_type"] = checksum_type
    if (count := headers.get("x-amz-mp-parts-count", "")).isdigit():
        info["parts_count"] = int(count)
    return info


def parse_list_objects_v2(response: HttpResponse) -> ListObjectsPage:
    root = parse_xml(response.body)
    contents = []
    for item in root.children("Contents"):
        summary = ObjectSummary(
            key=_text(item, "Key"),
            size=_int(item, "Size"),
            etag=_etag(item.find_text("ETag")),
            last_modified=_text(item, "LastModified"),
        )
        if storage := item.find_text("StorageClass"):
            summary["storage_class"] = storage
        contents.append(summary)
    return ListObjectsPage(
        contents=contents,
        common_prefixes=[_text(p, "Prefix") for p in root.children("CommonPrefixes")],
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
        raise S3ServerError("CreateMultipartUpload reply has no UploadId")
    return upload_id


def parse_list_parts(response: HttpResponse) -> ListPartsPage:
    root = parse_xml(response.body)
    parts = []
    for item in root.children("Part"):
        part = PartInfo(
            part_number=_int(item, "PartNumber"),
            etag=_etag(item.find_text("ETag")),
            size=_int(item, "Size"),
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
    root = parse_xml(response.body)
    return ListUploadsPage(
        uploads=[
            UploadInfo(
                key=_text(u, "Key"), upload_id=_text(u, "UploadId"), initiated=_text(u, "Initiated")
            )
            for u in root.children("Upload")
        ],
        is_truncated=_truncated(root),
        next_key_marker=root.find_text("NextKeyMarker") or None,
        next_upload_id_marker=root.find_text("NextUploadIdMarker") or None,
    )
