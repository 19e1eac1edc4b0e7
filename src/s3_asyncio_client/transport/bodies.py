"""Request bodies as aiohttp payloads: bytes-like bodies in slices, file regions in
chunks through pooled buffers, with progress that a failed attempt takes back.

A body whose bytes stop leaving fails the attempt (``Watchdog``): aiohttp's
``sock_read`` starts only once the body is written, so a server that stops reading
a body mid-way would hold the write, and the request, forever. A stall is "no byte
acknowledged for ``stall`` seconds", not "a write took that long": a slow but
healthy link acknowledges bytes all the time and never trips it. A written body
returns only once the kernel holds little of it (``settle``), so the server's time
to receive the rest is not taken for a silent server by ``sock_read``.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable

import aiohttp
from aiohttp.abc import AbstractStreamWriter

from ..exceptions import S3InvalidRequestError
from ..protocol.http import Body, RequestBody, in_memory
from .errors import SendStalled
from .file_region import BufferPool, FileRegion, in_thread

_OUTQ: int | None  # the kernel's count of bytes sent but not yet acknowledged
try:
    from fcntl import ioctl
    from termios import TIOCOUTQ

    _OUTQ = TIOCOUTQ
except ImportError:  # pragma: no cover - not on every platform
    _OUTQ = None

__all__ = [
    "BodyPayload",
    "RegionPayload",
    "SentCounter",
    "Watchdog",
    "payload_for",
    "settle",
    "stall_of",
]

_CHECKS = 4  # progress is looked at this many times per stall period
# Unacknowledged bytes a written body may leave to aiohttp's sock_read: on any link
# worth the name they arrive well within a stall timeout.
_SETTLED = 256 * 1024


def _unsent(writer: AbstractStreamWriter) -> int | None:
    """Body bytes not yet acknowledged by the peer: queued in the transport plus,
    where the kernel says, in the socket (None: the transport cannot tell)."""
    transport = getattr(writer, "transport", None)
    queued = getattr(transport, "get_write_buffer_size", None)
    if transport is None or not callable(queued):
        return None
    total: int = queued()
    sock = transport.get_extra_info("socket")
    if _OUTQ is not None and sock is not None:
        with contextlib.suppress(OSError, ValueError):
            total += struct.unpack("i", ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
    return total


class Watchdog:
    """Aborts a body's connection once no byte of it has moved for ``stall`` seconds:
    none handed to the transport (``moved``) and none acknowledged by the peer. One
    timer per body, looked at ``_CHECKS`` times per stall period: nothing per write."""

    def __init__(self, writer: AbstractStreamWriter, stall: float) -> None:
        self._writer, self._stall = writer, stall
        self._loop = asyncio.get_running_loop()
        # The kernel's count is first read at the first look, not here: a syscall
        # less per request, for the small ones that end long before that.
        self._moved = self._loop.time()
        self._unsent: int | None = None
        self.stalled = False
        self._timer = self._loop.call_later(stall / _CHECKS, self._check)

    def moved(self) -> None:
        self._moved = self._loop.time()

    def _check(self) -> None:
        now, unsent = self._loop.time(), _unsent(self._writer)
        if unsent is not None and self._unsent is not None and unsent < self._unsent:
            self._moved = now  # acknowledged since the last look: not stalled
        self._unsent = unsent
        if now - self._moved < self._stall:
            self._timer = self._loop.call_later(self._stall / _CHECKS, self._check)
            return
        self.stalled = True
        # Closing would wait for the queued bytes to leave, which they never will:
        # the socket would stay open. The connection is lost anyway.
        transport = getattr(self._writer, "transport", None)
        if transport is not None:
            transport.abort()

    def failure(self) -> SendStalled | None:
        """The error to raise for a write that failed because of the abort, if it was."""
        if not self.stalled:
            return None
        return SendStalled(
            f"no byte of the request body went out for {self._stall:g} s "
            "(Timeouts.read): the server stopped reading it"
        )

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Stop looking; a write that failed because of the abort is a SendStalled."""
        self._timer.cancel()
        if kind is not None and issubclass(kind, Exception):
            stalled = self.failure()
            if stalled is not None:
                raise stalled from None


async def settle(writer: AbstractStreamWriter, size: int, watchdog: Watchdog) -> None:
    """Return once at most ``_SETTLED`` bytes of a written body of ``size`` bytes are
    unacknowledged (at once for a small body).

    aiohttp starts ``sock_read`` once the body is handed to the socket; on a slow
    link the kernel may still hold megabytes of it, which the server is busy
    receiving: that time must count as moving, not as waiting for the reply."""
    if size <= _SETTLED:
        return
    pause = 0.001
    while (unsent := _unsent(writer)) is not None and unsent > _SETTLED:
        if watchdog.stalled:
            raise watchdog.failure() or AssertionError("stalled")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)


class BodyPayload(aiohttp.payload.Payload):
    """A request body written in slices of one buffer: no copy, and the event loop
    gets a turn between slices (aiohttp writes plain bytes in one go)."""

    _SLICE = 1024 * 1024

    def __init__(self, body: Body, on_sent: SentCounter | None, stall: float) -> None:
        self._view = memoryview(body).cast("B")
        super().__init__(self._view, content_type=None)
        self._size = self._view.nbytes
        self._on_sent, self._stall = on_sent, stall
        self.watchdog: Watchdog | None = None

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._view).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        with Watchdog(writer, self._stall) as watchdog:
            self.watchdog = watchdog
            for start in range(0, len(self._view), self._SLICE):
                piece = self._view[start : start + self._SLICE]
                await writer.write(piece)
                watchdog.moved()
                if self._on_sent is not None:
                    self._on_sent.add(len(piece))
            await settle(writer, self._view.nbytes, watchdog)


class RegionPayload(aiohttp.payload.Payload):
    """A file region written chunk by chunk through two pooled buffers.

    A buffer handed to the transport may be read by it until it has been sent, so a
    buffer is filled again only once fewer bytes are queued than the chunk written
    after it (the queue is FIFO: it has left), and the buffers go back to the pool
    only once the whole body was written and the server accepted it (``release``).
    A failure to read the file is kept in ``failure``: aiohttp would report it as a
    broken connection, which would be retried.
    """

    def __init__(
        self, region: FileRegion, pool: BufferPool, on_sent: SentCounter | None, stall: float
    ) -> None:
        super().__init__(region, content_type=None)
        self._size = self._length = len(region)
        self._region, self._pool, self._on_sent = region, pool, on_sent
        self._stall = stall
        self.watchdog: Watchdog | None = None
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
        with Watchdog(writer, self._stall) as watchdog:
            self.watchdog = watchdog
            while start < self._length:
                view = await self._read(buffers[turn], start)
                await writer.write(view)
                watchdog.moved()
                if self._on_sent is not None:
                    self._on_sent.add(len(view))
                start, turn = start + len(view), turn ^ 1
                if start < self._length and not _sent_all_but(writer, len(view)):
                    buffers[turn] = pool.take()  # that one may still be queued: leave it
            await settle(writer, self._length, watchdog)
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


def stall_of(payload: BodyPayload | RegionPayload | None) -> SendStalled | None:
    """Why a request failed, if its body's watchdog cut the connection: the failure
    may show first as the reply's "server disconnected"."""
    watchdog = payload.watchdog if payload is not None else None
    return watchdog.failure() if watchdog is not None else None


def payload_for(
    body: RequestBody, pool: BufferPool, on_sent: SentCounter | None, stall: float
) -> BodyPayload | RegionPayload | None:
    """The payload that writes ``body`` (None for an empty one), failing with
    SendStalled once no byte of it moved for ``stall`` seconds."""
    if not len(body):
        return None
    if isinstance(body, FileRegion):
        return RegionPayload(body, pool, on_sent, stall)
    if in_memory(body):
        return BodyPayload(body, on_sent, stall)
    raise S3InvalidRequestError(f"cannot send a body of type {type(body).__name__}")
