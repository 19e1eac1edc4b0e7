"""Object handlers: PutObject, GetObject, HeadObject, DeleteObject.

Bodies are streamed both ways (see payload.py and storage.py); GET reads the blob in
1 MiB slices in the executor, so neither memory nor event-loop stalls grow with size.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from ..protocol.crc import checksum_type
from ..protocol.limits import MAX_PUT_SIZE
from . import acl, tagging
from .auth import Identity
from .call import Call
from .conditions import check_read, check_write, http_date, parse_range
from .errors import S3Fault
from .index import ObjectRecord
from .integers import decimal
from .payload import Digests, receive, requested_algorithms, sdk_algorithm
from .rawheaders import reply_class, stream_class

__all__ = [
    "DEFAULT_TYPE",
    "INTERNAL",
    "MADE_BY",
    "MADE_OF",
    "PART_CHECKSUMS",
    "attribute_headers",
    "checksum_headers",
    "commit",
    "delete_object",
    "get_object",
    "head_object",
    "object_checksums",
    "put_object",
    "store_body",
    "stored_headers",
    "user_metadata",
]

# In ObjectRecord.checksums, beside each algorithm's value: the parts' values of a
# multipart object, space-separated, for GET/HEAD ?partNumber=N.
PART_CHECKSUMS = "parts"
# S3 keeps it for an object sent with no checksum (here each such part too).
DEFAULT_CHECKSUM = "crc64nvme"

DEFAULT_TYPE = "binary/octet-stream"
# Names in ObjectRecord.headers that are kept for the server (ACL, tags, ...), never
# sent as reply headers: no HTTP header name starts with this.
INTERNAL = ":"
# Kept with an object a multipart upload made: the upload's id and its part numbers,
# so a repeated CompleteMultipartUpload of that upload gets the same answer.
MADE_BY = INTERNAL + "upload-id"
MADE_OF = INTERNAL + "upload-parts"
# System headers S3 stores with an object and returns on GET/HEAD.
_STORED = ("cache-control", "content-disposition", "content-language", "expires")
_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def user_metadata(headers: dict[str, str]) -> dict[str, str]:
    return {
        name.removeprefix("x-amz-meta-"): value
        for name, value in headers.items()
        if name.startswith("x-amz-meta-")
    }


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    """The system headers an object keeps; Content-Encoding without ``aws-chunked``
    (a transfer framing), the other codings kept in order and as written."""
    kept = {name: headers[name] for name in _STORED if name in headers}
    codings = headers.get("content-encoding", "").split(",")
    encoding = ",".join(c for c in codings if c.strip().lower() != "aws-chunked").strip(" ,")
    if encoding:
        kept["content-encoding"] = encoding
    return kept


def attribute_headers(call: Call) -> dict[str, str]:
    """The ACL and tags a new object keeps from the request, as internal headers."""
    return {**acl.object_acl_headers(call), **tagging.object_tag_headers(call)}


def _payload_sha256(identity: Identity) -> bool:
    value = identity.payload_hash
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _size_limit(call: Call) -> int | None:
    return MAX_PUT_SIZE if call.settings.strict else None


async def store_body(
    call: Call, algorithm: str | None = None, limit: int | None = None, *, default: bool = False
) -> tuple[str, Digests, dict[str, str]]:
    """Receive the body into a blob: (name, digests, checksums to echo); ``default``:
    DEFAULT_CHECKSUM if the body names no checksum (kept, not echoed)."""
    wanted = requested_algorithms(call.headers, algorithm)
    if default and not wanted:
        wanted = {DEFAULT_CHECKSUM}
    digests = Digests(wanted, sha256=_payload_sha256(call.identity))
    declared = call.headers.get("x-amz-decoded-content-length") or call.headers.get(
        "content-length", ""
    )
    size = decimal(declared)
    if limit is not None and size is not None and size > limit:
        raise S3Fault(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            extra={"ProposedSize": declared, "MaxSizeAllowed": str(limit)},
        )
    storage = call.storage
    # Creating a file is one metadata syscall: done inline, while the body's bytes are
    # written and hashed in the executor (publishing too, when it fsyncs).
    temp = storage.blobs.create_temp()
    try:
        received, _ = await receive(call.request, call.identity, digests, temp, limit=limit)
        name = await storage.publish(temp)
    except BaseException:
        await storage.discard(temp)
        raise
    computed = digests.values()
    echo = {alg: computed[alg] for alg in received.declared_checksums()}
    for kept in (algorithm, sdk_algorithm(call.headers)):
        if kept and kept in computed:
            echo[kept] = computed[kept]
    return name, digests, echo


async def put_object(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    call.storage.index.require_bucket(call.bucket)
    kept = {**stored_headers(call.headers), **attribute_headers(call)}  # refused before the body
    name, digests, echo = await store_body(call, limit=_size_limit(call), default=True)
    record = ObjectRecord(
        call.bucket,
        call.key,
        ((name, digests.size),),
        digests.size,
        digests.etag,
        call.now(),
        call.headers.get("content-type") or DEFAULT_TYPE,
        user_metadata(call.headers),
        kept,
        digests.values(),
    )
    await call.storage.remove(await commit(call, record))
    headers = {"ETag": record.etag}
    headers.update({f"x-amz-checksum-{alg}": value for alg, value in echo.items()})
    return call.reply(200, headers)


async def commit(call: Call, record: ObjectRecord) -> list[str]:
    """Publish ``record`` if the write preconditions hold (else drop its blobs); the
    blobs of the version it replaced."""
    index = call.storage.index
    try:
        if "if-match" in call.headers or "if-none-match" in call.headers:
            existing = index.get_object(record.bucket, record.key)
            check_write(call.headers, existing.etag if existing else None)
        return index.put_object(record)
    except BaseException:
        await call.storage.remove(name for name, _ in record.blobs)
        raise


def _no_such_key(call: Call) -> S3Fault:
    return S3Fault("NoSuchKey", "The specified key does not exist.", extra={"Key": call.key or ""})


def object_checksums(record: ObjectRecord) -> dict[str, str]:
    """``{algorithm: value}`` of the whole object, without its parts' values."""
    return {alg: value for alg, value in record.checksums.items() if alg != PART_CHECKSUMS}


def checksum_headers(record: ObjectRecord, part: int | None) -> dict[str, str]:
    """The object's checksum and type, or part ``part``'s checksum when it is kept (a
    single PUT is its own part 1)."""
    headers = {}
    parts = record.checksums.get(PART_CHECKSUMS, "").split()
    for alg, value in object_checksums(record).items():
        headers["x-amz-checksum-type"] = checksum_type(value)
        if part is None or (part == 1 and not record.parts):
            headers[f"x-amz-checksum-{alg}"] = value
        elif len(parts) == record.parts == len(record.blobs) and 1 <= part <= len(parts):
            headers[f"x-amz-checksum-{alg}"] = parts[part - 1]
    return headers


def object_headers(call: Call, record: ObjectRecord) -> dict[str, str]:
    headers = {
        "ETag": record.etag,
        "Last-Modified": http_date(record.modified),
        "Content-Type": record.content_type,
        "Accept-Ranges": "bytes",
    }
    for name, value in record.headers.items():
        if not name.startswith(INTERNAL):
            headers[name.title()] = value
    for name, value in record.metadata.items():
        headers[f"x-amz-meta-{name}"] = value
    enabled = call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    if enabled and "range" not in call.headers:
        number = decimal(call.query["partNumber"]) if "partNumber" in call.query else None
        headers.update(checksum_headers(record, number))
    if record.parts:
        headers["x-amz-mp-parts-count"] = str(record.parts)
    headers.update(tagging.count_header(record.headers))
    headers.update(_overrides(call))
    return headers


def _overrides(call: Call) -> dict[str, str]:
    """The ``response-*`` query parameters as reply headers. Each must be a value a
    header can carry: ISO-8859-1 without control characters, else InvalidArgument."""
    found = {}
    for param, header in _OVERRIDES.items():
        value = call.query.get(param)
        if value is None:
            continue
        if any(not ("\x20" <= c <= "\xff" or c == "\t") or c == "\x7f" for c in value):
            raise S3Fault(
                "InvalidArgument",
                "Header value cannot be represented using ISO-8859-1.",
                extra={"ArgumentName": param},
            )
        found[header] = value
    return found


async def get_object(call: Call, *, head: bool = False) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    storage = call.storage
    storage.index.require_bucket(call.bucket)
    record = storage.index.get_object(call.bucket, call.key)
    if record is None:
        raise _no_such_key(call)
    check_read(call.headers, record.etag, record.modified)
    if "partNumber" in call.query:
        span = _part_span(call, record)
    else:
        span = parse_range(call.headers.get("range"), record.size)
    headers = call.base_headers()
    headers.update(object_headers(call, record))
    status = 200
    first, last = 0, record.size - 1
    if span is not None:
        first, last = span
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{record.size}"
    length = last - first + 1
    if head:
        headers["Content-Length"] = str(length)
        return reply_class(headers)(status=status, headers=headers)
    pinned = storage.pin(record.blobs)  # no await since the lookup: see storage.py
    try:
        response = stream_class(headers)(status=status, headers=headers)
        response.content_length = length
        await response.prepare(call.request)
        async with contextlib.aclosing(storage.read(record.blobs, first, last)) as chunks:
            async for chunk in chunks:
                await response.write(chunk)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-body: nothing to answer
    except OSError:
        # Headers are out: an error reply is impossible, so cut the connection and let
        # the client see a short body rather than wait for the rest.
        if call.request.transport is not None:
            call.request.transport.close()
        raise
    finally:
        await storage.unpin(pinned)
    return response


def _part_span(call: Call, record: ObjectRecord) -> tuple[int, int] | None:
    """The bytes of part ``partNumber`` (a single PUT is one part), as S3 serves them."""
    if "range" in call.headers:
        raise S3Fault(
            "InvalidRequest", "Cannot specify both Range header and partNumber query parameter."
        )
    number = decimal(call.query["partNumber"]) or 0
    if not 1 <= number <= 10_000:
        raise S3Fault(
            "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"
        )
    # An object whose segments are not its parts (one blob for several parts) has
    # lost its part boundaries: it is served as one part.
    parts = record.parts if len(record.blobs) == record.parts else 0
    if number > max(parts, 1):
        raise S3Fault("InvalidPartNumber", "The requested partnumber is not satisfiable")
    if not parts:
        return (0, record.size - 1) if record.size else None
    first = sum(size for _, size in record.blobs[: number - 1])
    return first, first + record.blobs[number - 1][1] - 1


async def head_object(call: Call) -> web.StreamResponse:
    return await get_object(call, head=True)


async def delete_object(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    await call.storage.remove(index.delete_object(call.bucket, call.key))
    return call.reply(204)
