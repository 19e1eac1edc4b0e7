"""One builder per S3 operation: arguments in, an unsigned HttpRequest out.

Builders validate what they can (bucket, key, part number, metadata) so that bad
input fails before any byte moves. They add checksums when asked; signing, retries
and the payload hash belong to the transport.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .addressing import Endpoint, Query
from .checksums import ChecksumAlgorithm, checksum_header, content_md5
from .documents import render
from .errors import LocalProtocolError
from .http import HttpRequest, RequestBody, in_memory
from .limits import check_bucket, check_key, check_part_number, check_text
from .signing import uri_encode

__all__ = [
    "CompletedPart",
    "build_abort_multipart_upload",
    "build_complete_multipart_upload",
    "build_copy_object",
    "build_create_bucket",
    "build_create_multipart_upload",
    "build_delete_bucket",
    "build_delete_object",
    "build_delete_objects",
    "build_get_object",
    "build_head_bucket",
    "build_head_object",
    "build_list_buckets",
    "build_list_multipart_uploads",
    "build_list_objects_v2",
    "build_list_parts",
    "build_put_object",
    "build_upload_part",
    "build_upload_part_copy",
    "object_headers",
]

CompletedPart = tuple[int, str]  # (part number, ETag)


def _query(**params: str | int | None) -> list[tuple[str, str | None]]:
    """Query pairs from keyword arguments, dropping ``None``; ``_`` becomes ``-``."""
    return [
        (name.replace("_", "-"), str(value)) for name, value in params.items() if value is not None
    ]


def _object(endpoint: Endpoint, bucket: str, key: str, query: Query = ()) -> str:
    return endpoint.url_for(check_bucket(bucket), check_key(key, bucket), query)


def _printable_ascii(text: object) -> bool:
    return isinstance(text, str) and text.isascii() and text.isprintable()


def object_headers(
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Content type, ``x-amz-meta-*`` and extra headers, validated (ASCII only)."""
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["content-type"] = content_type
    for name, value in (metadata or {}).items():
        for text in (name, value):
            if not _printable_ascii(text):
                raise LocalProtocolError(
                    f"metadata names and values must be printable ASCII strings, got {text!r}",
                    value=text,
                )
        headers[f"x-amz-meta-{name.lower()}"] = value
    for name, value in (extra or {}).items():
        headers[name.lower()] = value
    return headers


def _with_checksum(
    headers: dict[str, str],
    body: RequestBody,
    checksum: ChecksumAlgorithm | None,
    md5: bool,
    value: str | None = None,
    digest_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Add the checksum header (``value`` if already computed) and Content-MD5.

    A streamed body cannot be read here: its digests come ready-made, as
    ``digest_headers`` (``x-amz-checksum-*``, ``content-md5``, ``x-amz-content-sha256``).
    """
    if digest_headers is not None:
        for name, header_value in digest_headers.items():
            if name not in _DIGEST_HEADERS and not name.startswith("x-amz-checksum-"):
                raise LocalProtocolError(f"{name!r} is not a digest header", value=name)
            headers[name] = header_value
        return headers
    if not in_memory(body):
        raise LocalProtocolError("a streamed body needs its digest headers computed first")
    if checksum is not None:
        headers[f"x-amz-checksum-{checksum}"] = value or checksum_header(checksum, body)[1]
    if md5:
        headers["content-md5"] = content_md5(body)
    return headers


_DIGEST_HEADERS = frozenset({"content-md5", "x-amz-content-sha256"})


def build_list_buckets(endpoint: Endpoint) -> HttpRequest:
    return HttpRequest("GET", endpoint.url_for())


def build_create_bucket(
    endpoint: Endpoint, bucket: str, *, region: str | None = None
) -> HttpRequest:
    body = b""
    if region and region != "us-east-1":
        config = [("LocationConstraint", region)]
        body = render("CreateBucketConfiguration", config, strict=True)
    return HttpRequest("PUT", endpoint.url_for(check_bucket(bucket)), {}, body)


def build_delete_bucket(endpoint: Endpoint, bucket: str) -> HttpRequest:
    return HttpRequest("DELETE", endpoint.url_for(check_bucket(bucket)))


def build_head_bucket(endpoint: Endpoint, bucket: str) -> HttpRequest:
    return HttpRequest("HEAD", endpoint.url_for(check_bucket(bucket)))


def build_put_object(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    body: RequestBody,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    checksum: ChecksumAlgorithm | None = None,
    content_md5: bool = False,
    checksum_value: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    digest_headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    headers = object_headers(content_type=content_type, metadata=metadata, extra=extra_headers)
    _with_checksum(headers, body, checksum, content_md5, checksum_value, digest_headers)
    return HttpRequest("PUT", _object(endpoint, bucket, key), headers, body)


def _range(byte_range: tuple[int, int | None] | None) -> dict[str, str]:
    """``(first, last)`` inclusive, ``last=None`` for "to the end"; negative first = suffix."""
    if byte_range is None:
        return {}
    first, last = byte_range
    if first < 0 and last is None:
        return {"range": f"bytes={first}"}
    if first < 0 or (last is not None and last < first):
        raise LocalProtocolError(f"invalid byte range {byte_range!r}", value=byte_range)
    return {"range": f"bytes={first}-{'' if last is None else last}"}


def build_get_object(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    *,
    byte_range: tuple[int, int | None] | None = None,
    if_match: str | None = None,
    part_number: int | None = None,
    checksum_mode: bool = False,
    method: str = "GET",
) -> HttpRequest:
    """``part_number`` asks for one part of a multipart object (not with a range);
    ``checksum_mode`` for the checksum S3 keeps (``x-amz-checksum-*`` in the reply)."""
    headers = _range(byte_range)
    if if_match is not None:
        headers["if-match"] = if_match
    if checksum_mode:
        headers["x-amz-checksum-mode"] = "ENABLED"
    query: Query = ()
    if part_number is not None:
        if byte_range is not None:
            raise LocalProtocolError("ask for a byte range or a part number, not both")
        query = _query(partNumber=check_part_number(part_number))
    return HttpRequest(method, _object(endpoint, bucket, key, query), headers)


def build_head_object(
    endpoint: Endpoint, bucket: str, key: str, *, part_number: int | None = None,
    checksum_mode: bool = False,
) -> HttpRequest:  # fmt: skip
    return build_get_object(
        endpoint, bucket, key, part_number=part_number, checksum_mode=checksum_mode, method="HEAD"
    )


def build_delete_object(endpoint: Endpoint, bucket: str, key: str) -> HttpRequest:
    return HttpRequest("DELETE", _object(endpoint, bucket, key))


def build_delete_objects(
    endpoint: Endpoint, bucket: str, keys: Sequence[str], *, quiet: bool = False
) -> HttpRequest:
    if isinstance(keys, str | bytes):
        raise LocalProtocolError(f"keys must be a list of keys, got the string {keys!r}")
    if not 1 <= len(keys) <= 1000:
        raise LocalProtocolError(f"DeleteObjects takes 1 to 1000 keys, got {len(keys)}")
    objects = [("Object", {"Key": check_key(key, bucket)}) for key in keys]
    try:
        body = render("Delete", [("Quiet", quiet), *objects], strict=True)
    except LocalProtocolError as exc:
        raise LocalProtocolError(
            f"cannot delete by XML request: {exc}", value=exc.value, code=exc.code, bucket=bucket
        ) from None
    headers = {"content-type": "application/xml", "content-md5": content_md5(body)}
    return HttpRequest(
        "POST", endpoint.url_for(check_bucket(bucket), None, [("delete", "")]), headers, body
    )


def _copy_source(bucket: str, key: str) -> str:
    return (
        f"/{uri_encode(check_bucket(bucket))}/{uri_encode(check_key(key, bucket), keep_slash=True)}"
    )


def build_copy_object(
    endpoint: Endpoint,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> HttpRequest:
    """Server-side copy; new ``metadata`` or ``content_type`` replaces the source's."""
    headers = object_headers(content_type=content_type, metadata=metadata)
    headers["x-amz-copy-source"] = _copy_source(source_bucket, source_key)
    if metadata is not None or content_type is not None:
        headers["x-amz-metadata-directive"] = "REPLACE"
    return HttpRequest("PUT", _object(endpoint, bucket, key), headers, error_in_body=True)


def build_list_objects_v2(
    endpoint: Endpoint,
    bucket: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    max_keys: int | None = None,
    continuation_token: str | None = None,
    start_after: str | None = None,
) -> HttpRequest:
    query = _query(
        list_type=2,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        continuation_token=continuation_token,
        start_after=start_after,
        encoding_type="url",  # keys XML cannot carry; the parser decodes them
    )
    return HttpRequest("GET", endpoint.url_for(check_bucket(bucket), None, query))


def build_create_multipart_upload(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    checksum: ChecksumAlgorithm | None = None,
) -> HttpRequest:
    headers = object_headers(content_type=content_type, metadata=metadata)
    if checksum is not None:
        headers["x-amz-checksum-algorithm"] = checksum.upper()
    return HttpRequest("POST", _object(endpoint, bucket, key, [("uploads", None)]), headers)


def _upload(upload_id: object) -> str:
    return check_text(upload_id, "upload_id")


def build_upload_part(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    body: RequestBody,
    *,
    checksum: ChecksumAlgorithm | None = None,
    checksum_value: str | None = None,
    content_md5: bool = False,
    digest_headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    query = _query(partNumber=check_part_number(part_number), uploadId=_upload(upload_id))
    headers = _with_checksum({}, body, checksum, content_md5, checksum_value, digest_headers)
    return HttpRequest("PUT", _object(endpoint, bucket, key, query), headers, body)


def build_upload_part_copy(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    source_bucket: str,
    source_key: str,
    *,
    byte_range: tuple[int, int] | None = None,
) -> HttpRequest:
    query = _query(partNumber=check_part_number(part_number), uploadId=_upload(upload_id))
    headers = {"x-amz-copy-source": _copy_source(source_bucket, source_key)}
    if byte_range is not None:
        headers["x-amz-copy-source-range"] = _range(byte_range)["range"]
    return HttpRequest("PUT", _object(endpoint, bucket, key, query), headers, error_in_body=True)


def build_list_parts(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    *,
    part_number_marker: int | None = None,
    max_parts: int | None = None,
) -> HttpRequest:
    query = _query(
        uploadId=_upload(upload_id), part_number_marker=part_number_marker, max_parts=max_parts
    )
    return HttpRequest("GET", _object(endpoint, bucket, key, query))


def build_complete_multipart_upload(
    endpoint: Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    parts: Iterable[CompletedPart],
    *,
    checksums: Mapping[int, tuple[str, str]] | None = None,
) -> HttpRequest:
    """``parts`` as (number, ETag) in ascending order; ``checksums`` by part number."""
    parts = list(parts)
    if not parts:
        raise LocalProtocolError("CompleteMultipartUpload needs at least one part")
    items = []
    for number, etag in parts:
        check_part_number(number)
        fields: list[tuple[str, str | int | None]] = [("PartNumber", number), ("ETag", etag)]
        if checksums and number in checksums:
            name, value = checksums[number]
            fields.append((f"Checksum{name.rpartition('-')[2].upper()}", value))
        items.append(("Part", fields))
    body = render("CompleteMultipartUpload", items, strict=True)  # type: ignore[arg-type]
    query = [("uploadId", _upload(upload_id))]
    return HttpRequest(
        "POST",
        _object(endpoint, bucket, key, query),
        {"content-type": "application/xml"},
        body,
        error_in_body=True,
    )


def build_abort_multipart_upload(
    endpoint: Endpoint, bucket: str, key: str, upload_id: str
) -> HttpRequest:
    return HttpRequest("DELETE", _object(endpoint, bucket, key, [("uploadId", _upload(upload_id))]))


def build_list_multipart_uploads(
    endpoint: Endpoint,
    bucket: str,
    *,
    prefix: str | None = None,
    key_marker: str | None = None,
    upload_id_marker: str | None = None,
    max_uploads: int | None = None,
) -> HttpRequest:
    query = [
        ("uploads", None),
        *_query(
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        ),
    ]  # no encoding-type: SeaweedFS says "url" here but sends raw keys ("a+b" read as "a b")
    return HttpRequest("GET", endpoint.url_for(check_bucket(bucket), None, query))
