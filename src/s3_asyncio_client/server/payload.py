"""Request bodies: received in pieces, decoded, hashed, checked; never held whole.

Rules:

1. A body is either plain (Content-Length or HTTP chunked, which aiohttp decodes) or
   ``aws-chunked`` (``x-amz-content-sha256: STREAMING-...``, or ``Content-Encoding:
   aws-chunked`` with ``x-amz-decoded-content-length``; the label alone does not make
   a body framed), decoded by chunked.py.
2. Decoded bytes go to one sink (a temp file, or memory for small XML bodies) in
   batches of about 1 MiB; each batch is written and hashed in the executor while
   the next is read from the socket, so the event loop never hashes a gigabyte.
3. Every digest the request names is checked after the last byte: Content-MD5
   (InvalidDigest/BadDigest), ``x-amz-checksum-<alg>`` headers and trailers
   (BadDigest; CRC32, CRC32C, CRC64NVME, SHA1, SHA256), a hex
   ``x-amz-content-sha256`` (XAmzContentSHA256Mismatch),
   ``x-amz-decoded-content-length`` (IncompleteBody). A body that fails any check is
   never published: the caller discards its temp file.
4. ``Expect: 100-continue`` is answered only when the body is first read, so a request
   refused earlier (no such bucket, bad signature) never invites its body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..protocol.checksums import ChecksumAlgorithm, RunningChecksum
from ..protocol.documents import XmlNode, parse_xml
from ..protocol.errors import ProtocolError
from .auth import Identity
from .blobs import TempBlob
from .chunked import aws_chunked
from .errors import S3Fault, protocol_fault

__all__ = [
    "ALGORITHMS",
    "Digests",
    "Received",
    "continue_body",
    "read_xml",
    "receive",
    "requested_algorithms",
    "sdk_algorithm",
]

ALGORITHMS: tuple[ChecksumAlgorithm, ...] = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
BATCH = 1024 * 1024
XML_LIMIT = 4 * 1024 * 1024
PIECE = 256 * 1024
_DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


class Digests:
    """Everything computed over a decoded body: size, MD5, SHA-256, checksums."""

    def __init__(self, algorithms: set[str], *, sha256: bool) -> None:
        self.size = 0
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256() if sha256 else None
        # A client's checksum is verified even where only the slow CRC64NVME exists.
        self.checksums = {
            alg: RunningChecksum(cast(ChecksumAlgorithm, alg), slow_ok=True)
            for alg in sorted(algorithms)
        }

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self.md5.update(data)
        if self.sha256 is not None:
            self.sha256.update(data)
        for checksum in self.checksums.values():
            checksum.update(data)

    @property
    def etag(self) -> str:
        return f'"{self.md5.hexdigest()}"'

    def values(self) -> dict[str, str]:
        return {alg: checksum.value() for alg, checksum in self.checksums.items()}


class Received:
    """What the request said about its body, and the trailers that came after it."""

    def __init__(self, headers: dict[str, str], trailers: dict[str, str]) -> None:
        self.headers = headers
        self.trailers = trailers

    def declared_checksums(self) -> dict[str, str]:
        """``{algorithm: base64}`` from ``x-amz-checksum-*`` headers and trailers."""
        found = {}
        for source in (self.headers, self.trailers):
            for name, value in source.items():
                alg = name.removeprefix("x-amz-checksum-")
                if name.startswith("x-amz-checksum-") and alg in _DIGEST_SIZES:
                    found[alg] = value.strip()
        return found


def sdk_algorithm(headers: dict[str, str]) -> str | None:
    """The algorithm ``x-amz-sdk-checksum-algorithm`` names: S3 computes and keeps
    that checksum even when its value comes in no header or trailer."""
    alg = headers.get("x-amz-sdk-checksum-algorithm", "").strip().lower() or None
    if alg is not None and alg not in _DIGEST_SIZES:
        raise S3Fault("InvalidRequest", f"Checksum algorithm {alg!r} is not supported.")
    return alg


def requested_algorithms(headers: dict[str, str], extra: str | None = None) -> set[str]:
    """The checksum algorithms a request's body must be hashed with."""
    wanted = {alg for alg in (extra, sdk_algorithm(headers)) if alg}
    for name, _value in headers.items():
        if name.startswith("x-amz-checksum-"):
            alg = name.removeprefix("x-amz-checksum-")
            if alg in _DIGEST_SIZES:
                wanted.add(alg)
            elif alg not in ("algorithm", "type", "mode"):
                raise S3Fault("InvalidRequest", f"Checksum algorithm {alg!r} is not supported.")
    for name in headers.get("x-amz-trailer", "").split(","):
        alg = name.strip().lower().removeprefix("x-amz-checksum-")
        if alg in _DIGEST_SIZES:
            wanted.add(alg)
        elif name.strip():
            raise S3Fault("InvalidRequest", f"The trailer {name.strip()!r} is not supported.")
    return wanted


async def continue_body(request: web.BaseRequest) -> None:
    """Send ``100 Continue`` if the client waits for it (rule 4); each request's body
    is received once, so this runs at most once per request."""
    expect = request.headers.get("expect", "").lower()
    if expect == "100-continue" and request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")


def _is_aws_chunked(request: web.BaseRequest, identity: Identity) -> bool:
    """Rule 1. ``Content-Encoding: aws-chunked`` alone labels a body sent plain (the
    label is dropped from the stored encoding); with ``x-amz-decoded-content-length``
    as well the client did frame it, even under an UNSIGNED-PAYLOAD hash."""
    if identity.payload_hash.startswith("STREAMING-"):
        return True
    codings = request.headers.get("content-encoding", "").lower().split(",")
    labelled = any(coding.strip() == "aws-chunked" for coding in codings)
    return labelled and "x-amz-decoded-content-length" in request.headers


async def _plain(request: web.BaseRequest) -> AsyncIterator[bytes]:
    while piece := await request.content.read(PIECE):
        yield piece


async def receive(
    request: web.BaseRequest,
    identity: Identity,
    digests: Digests,
    into: TempBlob | None,
    *,
    limit: int | None = None,
    checksum_headers: bool = True,
) -> tuple[Received, bytes]:
    """Read, decode, hash and store the body (rules 1-3); memory bodies are returned.

    ``limit`` caps the decoded size (MaxMessageLengthExceeded for small XML bodies,
    EntityTooLarge for objects in strict mode). Without ``checksum_headers`` the
    ``x-amz-checksum-*`` headers are not the body's (CompleteMultipartUpload's name
    the object's checksum).
    """
    await continue_body(request)
    headers = {
        name.lower(): value
        for name, value in request.headers.items()
        if checksum_headers or not name.lower().startswith("x-amz-checksum-")
    }
    trailers: dict[str, str] = {}
    chunked = _is_aws_chunked(request, identity)
    source = (
        aws_chunked(request.content, headers, request.content_length, identity, trailers)
        if chunked
        else _plain(request)
    )
    loop = asyncio.get_running_loop()
    memory: list[bytes] = []
    consume: Callable[[list[bytes]], None]
    if into is None:

        def consume(pieces: list[bytes]) -> None:
            for piece in pieces:
                digests.update(piece)
            memory.extend(pieces)

    else:
        blob = into

        def consume(pieces: list[bytes]) -> None:
            for piece in pieces:
                blob.write(piece)
                digests.update(piece)

    pending: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batched = total = 0
    try:
        async for piece in source:
            total += len(piece)
            if limit is not None and total > limit:
                code = "MaxMessageLengthExceeded" if into is None else "EntityTooLarge"
                raise S3Fault(code, f"Your request is larger than the {limit} bytes allowed.")
            batch.append(piece)
            batched += len(piece)
            if batched >= BATCH:
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, consume, batch)
                batch, batched = [], 0
        if pending is not None:
            await pending
            pending = None
        if batched >= PIECE:
            await loop.run_in_executor(None, consume, batch)
        else:
            consume(batch)  # a small tail: not worth a trip to the executor
    except (
        ConnectionError,
        asyncio.IncompleteReadError,
        HttpProcessingError,
        web.HTTPException,
    ) as exc:
        raise S3Fault("IncompleteBody", f"The request body was cut short: {exc}") from exc
    finally:
        if pending is not None:
            await asyncio.wait([pending])
    received = Received(headers, trailers)
    _check(request, received, digests, chunked)
    return received, b"".join(memory)


def _decode_digest(value: str, size: int, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        code = "InvalidDigest" if name == "Content-MD5" else "InvalidRequest"
        raise S3Fault(code, f"Value for {name} header is invalid.")
    return raw


def _check(request: web.BaseRequest, received: Received, digests: Digests, chunked: bool) -> None:
    """Rule 3: every declared digest and length must hold."""
    headers = received.headers
    expected_length = headers.get("x-amz-decoded-content-length") if chunked else None
    if expected_length is None and not chunked and request.content_length is not None:
        expected_length = str(request.content_length)
    if expected_length is not None and expected_length.strip() != str(digests.size):
        raise S3Fault(
            "IncompleteBody",
            f"You did not provide the number of bytes specified ({expected_length}); "
            f"{digests.size} arrived.",
        )
    if "content-md5" in headers:
        sent = _decode_digest(headers["content-md5"], 16, "Content-MD5")
        if sent != digests.md5.digest():
            raise S3Fault(
                "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
    computed = digests.values()
    for alg, value in received.declared_checksums().items():
        _decode_digest(value, _DIGEST_SIZES[alg], f"x-amz-checksum-{alg}")
        if computed.get(alg) != value:
            raise S3Fault(
                "BadDigest",
                f"The {alg.upper()} you specified did not match the calculated checksum.",
            )
    if digests.sha256 is not None:
        declared = headers.get("x-amz-content-sha256", "")
        actual = digests.sha256.hexdigest()
        if declared != actual:
            raise S3Fault(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                extra={"ClientComputedContentSHA256": declared, "S3ComputedContentSHA256": actual},
            )


async def read_xml(
    request: web.BaseRequest,
    identity: Identity,
    *,
    checksum_headers: bool = True,
    limit: int = XML_LIMIT,
) -> XmlNode:
    """A small XML request body of at most ``limit`` bytes, verified like any other
    body (see ``receive`` for ``checksum_headers``)."""
    headers = {
        name.lower(): value
        for name, value in request.headers.items()
        if checksum_headers or not name.lower().startswith("x-amz-checksum-")
    }
    digests = Digests(requested_algorithms(headers), sha256=len(identity.payload_hash) == 64)
    _, body = await receive(
        request, identity, digests, None, limit=limit, checksum_headers=checksum_headers
    )
    try:
        return parse_xml(body, strict=True)  # S3 refuses &#x1; in requests too
    except ProtocolError as exc:
        raise protocol_fault(exc) from None
