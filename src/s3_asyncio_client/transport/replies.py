"""Reading a reply's whole body into memory, within a limit.

Rules:
1. An error reply's body is read up to ``ERROR_REPLY_LIMIT`` (64 KiB; S3's largest,
   SignatureDoesNotMatch with the canonical request and its bytes in hex, is a few
   KiB).
2. Any other reply read whole (XML documents) up to ``XML_REPLY_LIMIT`` (16 MiB): a
   listing page holds at most 1,000 entries of a key up to 1,024 bytes (5 KiB once
   escaped) and a few hundred bytes more, so about 6 MiB at worst; the whitespace S3
   sends while CompleteMultipartUpload works counts too, and is a few bytes a second.
   An object body the caller asked for (get_object) has no limit.
3. A Content-Length over the limit fails before a byte is read; a body that grows
   over it fails as soon as it does, and its connection is closed, not reused. The
   error is S3ReplyTooLargeError, not retried: a server that sends 1 GiB once would
   send it again.
4. A body shorter than its Content-Length is a broken connection (retried).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from ..exceptions import S3ConnectionError, S3ReplyTooLargeError
from ..protocol.http import HttpRequest

__all__ = ["ERROR_REPLY_LIMIT", "XML_REPLY_LIMIT", "operation_name", "read_body"]

ERROR_REPLY_LIMIT = 64 * 1024
XML_REPLY_LIMIT = 16 * 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})

# (method, query parameter, operation): the first match names the request.
_BY_QUERY = (
    ("GET", "list-type", "ListObjectsV2"),
    ("GET", "uploads", "ListMultipartUploads"),
    ("GET", "uploadId", "ListParts"),
    ("POST", "uploads", "CreateMultipartUpload"),
    ("POST", "uploadId", "CompleteMultipartUpload"),
    ("POST", "delete", "DeleteObjects"),
    ("PUT", "partNumber", "UploadPart"),
    ("DELETE", "uploadId", "AbortMultipartUpload"),
)
_ON_OBJECT = {
    "GET": "GetObject",
    "HEAD": "HeadObject",
    "PUT": "PutObject",
    "DELETE": "DeleteObject",
}
_ON_BUCKET = {
    "GET": "ListObjects",
    "HEAD": "HeadBucket",
    "PUT": "CreateBucket",
    "DELETE": "DeleteBucket",
}


def operation_name(request: HttpRequest, bucket: str | None, key: str | None) -> str:
    """The S3 operation ``request`` stands for (for error messages)."""
    method = request.method
    names = {part.partition("=")[0] for part in urlsplit(request.url).query.split("&") if part}
    operation = next((op for m, name, op in _BY_QUERY if m == method and name in names), None)
    if operation is None and bucket is None:
        operation = "ListBuckets" if method == "GET" else f"{method} request"
    elif operation is None:
        table = _ON_BUCKET if key is None else _ON_OBJECT
        operation = table.get(method, f"{method} request")
    if method == "PUT" and "x-amz-copy-source" in request.headers:
        operation = "UploadPartCopy" if operation == "UploadPart" else "CopyObject"
    return operation


def _size(count: int) -> str:
    return f"{count // 1024**2} MiB" if count >= 1024**2 else f"{count // 1024} KiB"


async def read_body(
    reply: aiohttp.ClientResponse,
    request: HttpRequest,
    limit: int | None,
    *,
    bucket: str | None = None,
    key: str | None = None,
) -> bytes:
    """The whole body of ``reply``, or S3ReplyTooLargeError past ``limit`` bytes."""

    def too_large(what: str) -> S3ReplyTooLargeError:
        assert limit is not None
        reply.close()  # the rest stays unread: this connection cannot be reused
        operation = operation_name(request, bucket, key)
        kind = "error reply" if reply.status >= 300 else "reply"
        return S3ReplyTooLargeError(
            f"the {kind} to {operation} {what}, over the {_size(limit)} this client "
            "reads into memory",
            limit=limit,
            operation=operation,
            status_code=reply.status,
            bucket=bucket,
            key=key,
        )

    has_body = request.method != "HEAD" and reply.status not in _NO_BODY_STATUS
    declared = reply.content_length if has_body else None
    if limit is not None and declared is not None and declared > limit:
        raise too_large(f"declares {declared} bytes")
    pieces, received = [], 0
    while piece := await reply.content.readany():
        received += len(piece)
        if limit is not None and received > limit:
            raise too_large(f"is longer than {limit} bytes")
        pieces.append(piece)
    if declared is not None and received < declared:
        raise S3ConnectionError(f"reply body cut short: {received} of {declared} bytes")
    return b"".join(pieces)
