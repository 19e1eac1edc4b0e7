"""Checking that a server stored the bytes we sent.

Rules:
1. Every upload carries the client's checksum (``x-amz-checksum-*``). A server that
   echoes it verified it; a different value echoed is an integrity error.
2. A server that does not echo it ignored it: the client's capabilities note that
   (``note_checksums_ignored``), and from then on uploads carry Content-MD5 too, which
   every S3 server verifies. Until then, the reply's ETag, when it is a plain MD5, is
   compared with the MD5 of what was sent.
3. A file region's digests are computed in one read of it, in a worker thread (the
   MD5 of rule 2's ETag check, needed once per server at most, in one more).
"""

from __future__ import annotations

import hashlib

from ..exceptions import S3IntegrityError, S3InvalidRequestError
from ..protocol.checksums import ChecksumAlgorithm, check_stored
from ..protocol.http import HttpRequest, HttpResponse, RequestBody, in_memory
from ..transport.file_region import BufferPool, FileRegion
from ..transport.file_region import digest_headers as region_digest_headers
from .ports import Data, ObjectStore

__all__ = ["digest_headers", "verify_stored"]


async def digest_headers(
    store: ObjectStore, body: Data, checksum: ChecksumAlgorithm | None
) -> dict[str, str] | None:
    """A file region's headers: ``checksum``'s, and Content-MD5 and the payload hash
    where the store's endpoint needs them (rules 1-3); None for an in-memory body,
    whose headers the request builders compute."""
    if not isinstance(body, FileRegion):
        return None
    return await region_digest_headers(
        body,
        store.buffers,
        checksum=checksum,
        md5=store.capabilities.checksums_ignored,
        sha256=store.capabilities.signs_payload,
    )


async def verify_stored(
    store: ObjectStore, request: HttpRequest, response: HttpResponse, *, key: str
) -> None:
    """Raise S3IntegrityError if the server stored other bytes than the request's
    body; note a server that ignores checksum headers (rule 2)."""
    check = check_stored(request.headers, response.headers)
    if check.sent and not check.echoed and "content-md5" not in request.headers:
        store.capabilities.note_checksums_ignored()
    problem = check.problem
    if check.etag is not None and check.etag != await _md5_hex(store.buffers, request.body):
        problem = f"server stored ETag {check.etag}, not the MD5 of the bytes we sent"
    if problem is not None:
        raise S3IntegrityError(problem, key=key)


async def _md5_hex(buffers: BufferPool, body: RequestBody) -> str:
    if isinstance(body, FileRegion):
        return (await body.digests(("md5",), buffers))["md5"].hex()
    if in_memory(body):
        return hashlib.md5(body).hexdigest()
    raise S3InvalidRequestError(f"cannot read a body of type {type(body).__name__}")
