"""Request bodies as aiohttp payloads: bytes-like bodies in slices, file regions in
chunks through pooled buffers, with progress that a failed attempt takes back."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp.abc import AbstractStreamWriter

from ..exceptions import S3InvalidRequestError
from ..protocol.http import Body, RequestBody, in_memory
from .file_region import BufferPool, FileRegion, in_thread

__all__ = ["BodyPayload", "RegionPayload", "SentCounter", "payload_for"]


class BodyPayload(aiohttp.payload.Payload):
    """A request body written in slices of one buffer: no copy, and the event loop
    gets a turn between slices (aiohttp writes plain bytes in one go)."""

    _SLICE = 1024 * 1024

    def __init__(self, body: Body, on_sent: SentCounter | None) -> None:
        self._view = memoryview(body).cast("B")
        super().__init__(self._view, content_type=None)
        self._size = self._view.nbytes
        self._on_sent = on_sent

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._view).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        for start in range(0, len(self._view), self._SLICE):
            piece = self._view[start : start + self._SLICE]
            await writer.write(piece)
            if self._on_sent is not None:
                self._on_sent.add(len(piece))


class RegionPayload(aiohttp.payload.Payload):
    """A file region written chunk by chunk through two pooled buffers.

    A buffer handed to the transport may be read by it until it has been sent, so a
    buffer is filled again only once fewer bytes are queued than the chunk written
    after it (the queue is FIFO: it has left), and the buffers go back to the pool
    only once the whole body was written and the server accepted it (``release``).
    A failure to read the file is kept in ``failure``: aiohttp would report it as a
    broken connection, which would be retried.
    """

    def __init__(self, region: FileRegion, pool: BufferPool, on_sent: SentCounter | None):
        super().__init__(region, content_type=None)
        self._size = self._length = len(region)
        self._region, self._pool, self._on_sent = region, pool, on_sent
        self._buffers: list[bytearray] = []
        self._written = False
        self.failure: Exception | None = None

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return repr(self._region)

    async def write(self, writer: AbstractStreamWriter) -> None:
        pool = self._pool
        self._buffers = buffers = [pool.take()]
        if self._length > pool.size:  # a second only for a body of several chunks
            buffers.append(pool.take())
        start, turn = 0, 0
        while start < self._length:
            view = await self._read(buffers[turn], start)
            await writer.write(view)
            if self._on_sent is not None:
                self._on_sent.add(len(view))
            start, turn = start + len(view), turn ^ 1
            if start < self._length and not _sent_all_but(writer, len(view)):
                buffers[turn] = pool.take()  # that one may still be queued: leave it
        self._written = True

    async def _read(self, buffer: bytearray, start: int) -> memoryview:
        """The next chunk: from the page cache on the loop if it is there, else (or
        for the rest) in a worker thread (see ``file_region`` rule 1)."""
        region = self._region
        try:
            view = region.chunk_view(buffer, start)
            cached = region.file.read_cached(view, region.offset + start)
            if cached < len(view):
                # Held from before the read is queued: a cancelled request leaves this
                # task waiting for the thread, unawaited, while the upload returns.
                with region.file.in_use():
                    view = await in_thread(region.read_chunk, buffer, start, cached)
        except Exception as exc:  # the source's fault, not the connection's
            self.failure = exc
            raise
        return view

    def release(self) -> None:
        """The server accepted the request: the buffers are free again."""
        if self._written:
            self._pool.give(*self._buffers)
        self._buffers = []


def _sent_all_but(writer: AbstractStreamWriter, newest: int) -> bool:
    """True if at most the ``newest`` bytes written are still queued in the transport
    (after ``write()``'s drain, at most its high-water mark is), so everything written
    before them has left; False if it cannot tell. (uvloop's transports are not
    asyncio.WriteTransport subclasses: ask for the method, not the class.)"""
    queued = getattr(getattr(writer, "transport", None), "get_write_buffer_size", None)
    return callable(queued) and queued() <= newest


class SentCounter:
    """Reports body bytes as they are written; takes them back if the attempt fails,
    so progress never counts a byte twice."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        self._sent = 0

    def add(self, count: int) -> None:
        self._sent += count
        self._callback(count)

    def roll_back(self) -> None:
        if self._sent:
            self._callback(-self._sent)
            self._sent = 0


def payload_for(
    body: RequestBody, pool: BufferPool, on_sent: SentCounter | None
) -> BodyPayload | RegionPayload | None:
    """The payload that writes ``body`` (None for an empty one)."""
    if not len(body):
        return None
    if isinstance(body, FileRegion):
        return RegionPayload(body, pool, on_sent)
    if in_memory(body):
        return BodyPayload(body, on_sent)
    raise S3InvalidRequestError(f"cannot send a body of type {type(body).__name__}")
