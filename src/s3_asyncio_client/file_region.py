"""Byte ranges of a file as request bodies, read on demand instead of held in memory.

An upload part of a file is read twice: once to checksum it (the checksum goes in a
header, before the body), then again, chunk by chunk, as it is sent; the second read
comes from the page cache. So memory is a few 1 MiB buffers per request, whatever the
part size, and a retry simply reads the part again.

Rules:
1. Reads that may wait for the disk run in worker threads, never on the event loop,
   at explicit offsets: with ``os.preadv`` from a descriptor (safe from any thread), or
   under a lock from a seekable file object. Nothing else moves the file position.
   The one exception is a read the kernel promises not to wait for (``RWF_NOWAIT``:
   page cache only): the second read of a part, on the loop, saving a thread hop
   per chunk; whatever it cannot read at once goes to a thread.
2. A region never reads past its end. A short read means the file shrank since the
   upload started: S3InvalidRequestError, never a short body.
3. Buffers come from a BufferPool and go back to it: fresh memory costs page faults
   (on some VMs 1 s of system time per GiB touched), reused memory costs nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import threading
from collections.abc import Iterable
from typing import IO

from .exceptions import S3InvalidRequestError
from .protocol.checksums import ChecksumAlgorithm, RunningChecksum

__all__ = ["CHUNK", "BufferPool", "Digests", "FileRegion", "RandomAccess", "digest_headers"]

CHUNK = 1024 * 1024
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)

Digests = dict[str, bytes]  # algorithm name ("crc32c", "md5", "sha256", ...) -> digest


class RandomAccess:
    """Reads at offsets from a file descriptor or a seekable binary file object
    (offsets count from the object's position when it was wrapped)."""

    def __init__(self, source: int | IO[bytes]) -> None:
        self._source = source
        self._base = 0 if isinstance(source, int) else source.tell()
        self._lock = threading.Lock()

    def read_into(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset``; fewer bytes only at the end of the file."""
        filled = 0
        while filled < len(view):
            rest = view[filled:]
            if isinstance(self._source, int):
                count = os.preadv(self._source, [rest], offset + filled)
            else:
                with self._lock:
                    self._source.seek(self._base + offset + filled)
                    count = self._source.readinto(rest)  # type: ignore[attr-defined]
            if not count:
                break
            filled += count
        return filled

    def read_cached(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset`` as far as the page cache allows without
        waiting (a descriptor on Linux; else 0): safe on the event loop."""
        if _NOWAIT is None or not isinstance(self._source, int):
            return 0
        try:
            return os.preadv(self._source, [view], offset, _NOWAIT)
        except (BlockingIOError, OSError):
            return 0


class BufferPool:
    """Reusable ``size``-byte buffers, made on first need; at most ``keep`` are kept
    while unused. Event-loop thread only."""

    def __init__(self, size: int = CHUNK, keep: int = 64) -> None:
        self.size, self._keep = size, keep
        self._free: list[bytearray] = []

    def take(self) -> bytearray:
        return self._free.pop() if self._free else bytearray(self.size)

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
            running[name] = hashlib.md5() if name == "md5" else RunningChecksum(_algorithm(name))
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
        # Back to the pool only once the thread is done with it (not on cancellation).
        result = await asyncio.to_thread(self.digest, names, buffer)
        pool.give(buffer)
        return result


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


def _algorithm(name: str) -> ChecksumAlgorithm:
    if name not in ("crc32c", "crc32", "sha256", "sha1"):
        raise ValueError(f"checksum algorithm {name!r} is not available")
    return name  # type: ignore[return-value]
