"""Byte ranges of a file as request bodies, read on demand instead of held in memory.

An upload part of a file is read twice: once to checksum it (the checksum goes in a
header, before the body), then again, chunk by chunk, as it is sent; the second read
comes from the page cache. So memory is a few ``CHUNK`` buffers per request, whatever
the part size, and a retry simply reads the part again.

Rules:
1. Reads that may wait for the disk run in worker threads, never on the event loop,
   at explicit offsets, with ``os.preadv`` (safe from any thread; no file position
   moves), from a descriptor of a plain file (a path, or a binary file object over
   one), or copied from bytes in memory (a BytesIO).
   The one exception is a read that cannot wait: bytes in memory, or one the kernel
   promises not to wait for (``RWF_NOWAIT``: page cache only): the second read of a
   part, on the loop, saving a thread hop per chunk; whatever it cannot read at once
   goes to a thread.
2. A region never reads past its end. A short read means the file shrank since the
   upload started: S3InvalidRequestError, never a short body.
3. Buffers come from a BufferPool and go back to it: fresh memory costs page faults
   (on some VMs 1 s of system time per GiB touched), reused memory costs nothing.
4. A source is closed only once no read of it is queued or running: a cancelled
   request's body writer may still be waiting for its worker thread after the
   upload has returned, and a descriptor closed under it may meanwhile have been
   reused for another file, whose bytes that read would then take.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar, cast

from ..exceptions import S3InvalidRequestError
from ..protocol.checksums import ChecksumAlgorithm, RunningChecksum

__all__ = [
    "CHUNK",
    "BufferPool",
    "Digests",
    "FileRegion",
    "RandomAccess",
    "digest_headers",
    "in_thread",
    "open_in_thread",
]

# 128 KiB: the 2 x max_concurrency buffers on the wire take 2 MiB instead of 16 (a
# 1 GiB upload's peak RSS: 60 -> 45 MiB), for one page-cache read and socket write
# per chunk on the loop: measured, the same wall and within 0.06 s of CPU per GiB.
CHUNK = 128 * 1024
T = TypeVar("T")
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)

Digests = dict[str, bytes]  # algorithm name ("crc32c", "md5", "sha256", ...) -> digest


async def in_thread(fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """``fn(*args)`` in a worker thread. A cancellation meanwhile waits for the thread
    to finish before it goes on, so nothing the thread uses (a buffer, a file
    descriptor, a file object's position) is reused or closed under it."""
    future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([future])
        raise


def _open_for_reading(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return fd, os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise


async def open_in_thread(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """``path`` opened for reading, and its stat, in a worker thread (opening a file
    can wait on the disk or a network file system: never on the event loop). If the
    caller is cancelled meanwhile, the descriptor is closed once the thread ends."""
    future = asyncio.get_running_loop().run_in_executor(None, _open_for_reading, path)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(
            lambda done: None if done.exception() else os.close(done.result()[0])
        )
        raise


class RandomAccess:
    """Reads at offsets (from ``base``) of a file descriptor, or of bytes in memory.

    ``close()`` ends its use (rule 4): an ``owned`` descriptor is closed, bytes in
    memory released, once no read of them is queued or running any more.
    """

    def __init__(self, source: int | memoryview, base: int = 0, *, owned: bool = False) -> None:
        self._source = source
        self._base = base
        self._owned = owned
        self._lock = threading.Lock()  # readers run in worker threads and on the loop
        self._users = 0
        self._closed = False

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Keep the source open for a read, from before it is queued for a worker
        thread until it is done; S3InvalidRequestError once ``close()`` was called."""
        with self._lock:
            if self._closed:
                raise S3InvalidRequestError("the source was closed: the upload has ended")
            self._users += 1
        try:
            yield
        finally:
            self._leave()

    def _leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._closed and not self._users
        if last:
            self._release()

    def close(self) -> None:
        """No more reads; the source goes when the last one in flight ends (maybe now)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            now = not self._users
        if now:
            self._release()

    def _release(self) -> None:
        if isinstance(self._source, memoryview):
            self._source.release()
        elif self._owned:
            os.close(self._source)

    def read_into(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset``; fewer bytes only at the end of the file."""
        offset += self._base
        with self.in_use():
            if isinstance(self._source, memoryview):
                piece = self._source[offset : offset + len(view)]
                view[: len(piece)] = piece
                return len(piece)
            filled = 0
            while filled < len(view):
                try:
                    count = os.preadv(self._source, [view[filled:]], offset + filled)
                except OSError as exc:  # EIO, or a descriptor not open for reading
                    raise S3InvalidRequestError(f"cannot read the source: {exc.strerror}") from None
                if not count:
                    break
                filled += count
            return filled

    def read_cached(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset`` as far as can be done without waiting (bytes
        in memory: all of it; a descriptor on Linux: what the page cache holds; else
        0): safe on the event loop."""
        if isinstance(self._source, memoryview):
            return self.read_into(view, offset)
        if _NOWAIT is None:
            return 0
        with self.in_use():
            try:
                return os.preadv(self._source, [view], self._base + offset, _NOWAIT)
            except (BlockingIOError, OSError):
                return 0


class BufferPool:
    """Reusable ``size``-byte buffers, made on first need; at most ``keep`` are kept
    while unused. Event-loop thread only."""

    def __init__(self, size: int = CHUNK, keep: int = 64) -> None:
        self.size, self._keep = size, keep
        self._free: list[bytearray] = []
        self.made = 0  # buffers allocated so far

    def take(self) -> bytearray:
        if self._free:
            return self._free.pop()
        self.made += 1
        return bytearray(self.size)

    def give(self, *buffers: bytearray) -> None:
        for buffer in buffers:
            if len(self._free) < self._keep:
                self._free.append(buffer)


class FileRegion:
    """``size`` bytes of ``file`` from ``offset``: a request body read in chunks."""

    __slots__ = ("file", "offset", "size")

    def __init__(self, file: RandomAccess, offset: int, size: int) -> None:
        self.file, self.offset, self.size = file, offset, size

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"FileRegion(offset={self.offset}, size={self.size})"

    def chunk_view(self, buffer: bytearray, start: int) -> memoryview:
        """The part of ``buffer`` that the region's bytes from ``start`` will fill."""
        return memoryview(buffer)[: min(len(buffer), self.size - start)]

    def read_chunk(self, buffer: bytearray, start: int, cached: int = 0) -> memoryview:
        """The region's bytes from ``start`` (relative), as many as fit in ``buffer``;
        the first ``cached`` of them are in it already (``read_cached``)."""
        view = self.chunk_view(buffer, start)
        want = len(view)
        count = cached + self.file.read_into(view[cached:], self.offset + start + cached)
        if count != want:
            raise S3InvalidRequestError(
                f"the source shrank during the upload: bytes {self.offset + start}-"
                f"{self.offset + start + want - 1} are no longer there"
            )
        return view

    def digest(self, algorithms: Iterable[str], buffer: bytearray) -> Digests:
        """One pass over the region, every digest in ``algorithms`` computed (blocking)."""
        running: dict[str, RunningChecksum | hashlib._Hash] = {}
        for name in algorithms:
            running[name] = (
                hashlib.md5() if name == "md5" else RunningChecksum(cast(ChecksumAlgorithm, name))
            )
        start = 0
        while start < self.size:
            view = self.read_chunk(buffer, start)
            for state in running.values():
                state.update(view)
            start += len(view)
        return {name: state.digest() for name, state in running.items()}

    async def digests(self, algorithms: Iterable[str], pool: BufferPool) -> Digests:
        """``digest`` in a worker thread, with a buffer from ``pool``."""
        names = tuple(algorithms)
        if not names:
            return {}
        buffer = pool.take()
        try:
            with self.file.in_use():
                return await in_thread(self.digest, names, buffer)
        finally:
            pool.give(buffer)  # the thread is done with it, whatever happened


async def digest_headers(
    region: FileRegion,
    pool: BufferPool,
    *,
    checksum: ChecksumAlgorithm | None,
    md5: bool = False,
    sha256: bool = False,
) -> dict[str, str]:
    """The checksum header, Content-MD5 and signed payload hash of ``region``, as
    asked, from one read of it in a worker thread."""
    names: set[str] = {checksum} if checksum else set()
    names |= {"md5"} if md5 else set()
    names |= {"sha256"} if sha256 else set()
    digests = await region.digests(sorted(names), pool)
    headers = {}
    if checksum:
        headers[f"x-amz-checksum-{checksum}"] = base64.b64encode(digests[checksum]).decode()
    if md5:
        headers["content-md5"] = base64.b64encode(digests["md5"]).decode()
    if sha256:
        headers["x-amz-content-sha256"] = digests["sha256"].hex()
    return headers
