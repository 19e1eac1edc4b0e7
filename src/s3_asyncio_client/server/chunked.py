"""The ``aws-chunked`` body encoding, decoded with bounded memory.

Frames are ``hex-size[;chunk-signature=sig]\\r\\n data \\r\\n``, then a zero-size
frame, optional trailer lines (``x-amz-checksum-crc32c:...``, and
``x-amz-trailer-signature:...`` when signed) and an empty line.

Rules (anything else is 400 IncompleteBody, answered at once: the rest of the body is
never read, so a hostile frame costs no memory and no disk):

1. A size is 1-16 hex digits, nothing else (no sign, ``0x``, spaces).
2. A chunk may not be larger than what is left of the declared decoded length
   (``x-amz-decoded-content-length``), or of the body itself when that is unknown.
3. A header or trailer line is at most ``MAX_LINE`` bytes and all trailers together at
   most ``MAX_TRAILERS``: lines are read here, never with the stream's ``readline``,
   which keeps buffering a line that has no newline.
4. With a signed streaming payload each chunk's signature chains from the previous
   one (the first from the request's seed signature), and so does the trailer's.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from aiohttp import StreamReader

from .auth import STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, Identity
from .errors import S3Fault
from .integers import decimal, hexadecimal

__all__ = ["MAX_LINE", "MAX_TRAILERS", "aws_chunked"]

MAX_LINE = 4096  # a signed chunk header is 83 bytes plus its size digits
MAX_TRAILERS = 16 * 1024
_PIECE = 256 * 1024


class _Reader:
    """Lines of bounded length, then raw bytes, from one body stream (rule 3).

    At most one stream read (``_PIECE``) plus the tail of an unfinished line is held;
    bytes are served from that buffer by offset, so small chunks cost no re-copying.
    """

    def __init__(self, content: StreamReader) -> None:
        self.content = content
        self.buffer = b""
        self.offset = 0  # bytes of ``buffer`` before it are consumed

    async def line(self, *, end_ok: bool = False) -> bytes:
        """The next line without its line break. At the end of the body: b"" when
        ``end_ok`` (a last line lacking its break still counts), else IncompleteBody."""
        while True:
            # A line of MAX_LINE bytes, its CR and its LF: nothing longer is searched.
            cut = self.buffer.find(b"\n", self.offset, self.offset + MAX_LINE + 2)
            if cut >= 0:
                line = self.buffer[self.offset : cut]
                self.offset = cut + 1
                return line.rstrip(b"\r")
            if len(self.buffer) - self.offset >= MAX_LINE + 2:
                raise S3Fault(
                    "IncompleteBody", f"An aws-chunked line is longer than {MAX_LINE} bytes."
                )
            more = await self.content.read(_PIECE)
            if not more:
                if not end_ok:
                    raise S3Fault("IncompleteBody", "The aws-chunked body ended inside a line.")
                line, self.buffer, self.offset = self.buffer[self.offset :], b"", 0
                return line.rstrip(b"\r")
            self.buffer, self.offset = self.buffer[self.offset :] + more, 0

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (at least one unless the body has ended)."""
        if self.offset < len(self.buffer):
            piece = self.buffer[self.offset : self.offset + size]
            self.offset += len(piece)
            return piece
        return await self.content.read(size)


def _budget(headers: dict[str, str], content_length: int | None) -> int | None:
    """The most decoded bytes the body may hold (rule 2), if known."""
    declared = headers.get("x-amz-decoded-content-length")
    if declared is None:
        return content_length
    value = decimal(declared.strip())
    if value is None:
        raise S3Fault(
            "IncompleteBody", f"x-amz-decoded-content-length {declared[:40]!r} is not a length."
        )
    return value


async def aws_chunked(
    content: StreamReader,
    headers: dict[str, str],
    content_length: int | None,
    identity: Identity,
    trailers: dict[str, str],
) -> AsyncIterator[bytes]:
    """The decoded bytes; ``trailers`` receives the trailer fields (lower-case names)."""
    reader = _Reader(content)
    budget = _budget(headers, content_length)
    signer = identity.chunk_signer
    signed = signer is not None and identity.payload_hash in (
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
    )
    previous = identity.seed_signature
    decoded = 0
    while True:
        header = (await reader.line()).decode("latin-1")
        size_text, _, extension = header.partition(";")
        size = hexadecimal(size_text)
        if size is None:
            raise S3Fault("IncompleteBody", f"Bad aws-chunked frame header {header[:80]!r}.")
        if budget is not None and size > budget - decoded:
            raise S3Fault(
                "IncompleteBody",
                f"An aws-chunked chunk of {size} bytes is larger than the {budget} bytes "
                "the body declares.",
            )
        decoded += size
        chunk_hash = hashlib.sha256() if signed else None
        remaining = size
        while remaining:
            piece = await reader.read(min(remaining, _PIECE))
            if not piece:
                raise S3Fault("IncompleteBody", "The aws-chunked body ended inside a chunk.")
            remaining -= len(piece)
            if chunk_hash is not None:
                chunk_hash.update(piece)
            yield piece
        if signer is not None and chunk_hash is not None:
            sent = extension.strip().removeprefix("chunk-signature=")
            expected = signer.chunk(previous, chunk_hash.hexdigest())
            if sent != expected:
                raise S3Fault(
                    "SignatureDoesNotMatch",
                    "The chunk signature we calculated does not match the one you provided.",
                )
            previous = expected
        if size == 0:
            break
        if await reader.line():
            raise S3Fault("IncompleteBody", "An aws-chunked chunk is longer than its size.")
    trailer_bytes = b""
    total = 0
    while line := await reader.line(end_ok=True):
        total += len(line)
        if total > MAX_TRAILERS:
            raise S3Fault("IncompleteBody", f"The trailers are longer than {MAX_TRAILERS} bytes.")
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "x-amz-trailer-signature":
            if signer is not None and signed:
                expected = signer.trailer(previous, trailer_bytes)
                if value.strip() != expected:
                    raise S3Fault("SignatureDoesNotMatch", "The trailer signature does not match.")
            continue
        trailer_bytes += line + b"\n"
        trailers[name.strip().lower()] = value.strip()
