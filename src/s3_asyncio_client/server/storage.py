"""Disk storage: the index (metadata) and the blobs (bodies), kept consistent.

The order of every write is what makes a kill -9 at any moment harmless:

1. stream the body into ``tmp/`` (invisible), verify it;
2. rename it into ``blobs/`` (whole, still unreferenced);
3. commit the index row that names it (the object is now the new version);
4. unlink the blobs the row used to name (the old version is gone).

Killed before 3: the old version stays, and startup removes the temp file or the
unreferenced blob. Killed after 3: the new version is whole; startup removes the old
blobs. Completing a multipart upload is step 3 alone: one transaction turns the part
rows into the object's segments, so there is no copy to interrupt.

Readers pin the blobs of the record they looked up (lookup and pin happen with no
``await`` in between); a blob replaced meanwhile is unlinked when its last reader
unpins, so a GET streams the version it started with, whole.

Durable mode (the default) holds the same order against a power cut: step 2 fsyncs
the blob and its folder, and after step 3 ``settle`` fsyncs the index's WAL before
step 4 and before the write is answered. All of it runs in the executor.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path
from typing import TypeVar

from .blobs import Blobs, TempBlob
from .index import Index, Segment

__all__ = ["Storage"]

T = TypeVar("T")
READ_SLICE = 1024 * 1024


class Storage:
    """Everything under one root folder; create it in the thread that will use it.
    ``durable=False`` skips every fsync: for throwaway data (tests), where a power cut
    may lose the last writes (a killed process still loses nothing)."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self.durable = durable
        root.mkdir(parents=True, exist_ok=True)
        # One server per root: a second one would sweep the first one's temp files.
        # The kernel drops the lock when the process dies, kill -9 included.
        self._lock = os.open(root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise RuntimeError(f"{root} is in use by another server") from None
        try:
            self.blobs = Blobs(root, durable=durable)
            self.index = Index(root / "index.sqlite3", durable=durable)
        except sqlite3.Error as exc:
            os.close(self._lock)
            raise RuntimeError(f"cannot open the index under {root}: {exc}") from exc
        except BaseException:
            os.close(self._lock)
            raise
        self.blobs.sweep(self.index.referenced_blobs())
        self._pins: Counter[str] = Counter()
        self._doomed: set[str] = set()
        self._settled = self.index.changes

    def close(self) -> None:
        self.index.close()
        os.close(self._lock)  # releases the flock

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run blocking file work in the executor, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def settle(self) -> None:
        """Durable mode: return once every index commit made so far is on disk."""
        if not self.durable:
            return
        mark = self.index.changes
        if mark != self._settled:
            await self.run(self.index.sync)
            self._settled = max(self._settled, mark)

    async def publish(self, temp: TempBlob) -> str:
        """Move a finished temp file into ``blobs/``; its name. Durable, in the executor
        (fsyncs); else inline (a rename is one quick metadata call)."""
        if self.durable:
            return await self.run(self.blobs.publish, temp)
        return self.blobs.publish(temp)

    async def link(self, name: str) -> str | None:
        """``Blobs.link``: durable, in the executor (it fsyncs the folder)."""
        if self.durable:
            return await self.run(self.blobs.link, name)
        return self.blobs.link(name)

    async def remove(self, names: Iterable[str]) -> None:
        """Unlink blobs no row names any more; pinned ones when their readers finish.
        The commit that dropped them goes to disk first (a power cut must not bring
        back a row naming an unlinked blob)."""
        names = list(names)
        if names:
            await self.settle()
        now = []
        for name in names:
            if self._pins[name]:
                self._doomed.add(name)
            else:
                now.append(name)
        if now:
            await self.run(self.blobs.remove, now)

    async def discard(self, temp: TempBlob) -> None:
        await self.run(temp.discard)

    def pin(self, segments: Iterable[Segment]) -> list[str]:
        """Keep these blobs on disk until ``unpin``; call with no await since lookup."""
        names = [name for name, _ in segments]
        self._pins.update(names)
        return names

    async def unpin(self, names: list[str]) -> None:
        self._pins.subtract(names)
        released = [name for name in names if not self._pins[name]]
        for name in released:
            del self._pins[name]
        await self.remove(name for name in released if name in self._doomed)
        self._doomed.difference_update(released)

    async def read(
        self, segments: Iterable[Segment], first: int, last: int
    ) -> AsyncGenerator[bytes, None]:
        """Bytes ``first..last`` (inclusive) of the object made of ``segments``, in
        slices read in the executor. The caller has pinned the segments."""
        start = 0
        for name, size in segments:
            end = start + size - 1
            if end >= first and start <= last:
                fd = self.blobs.open(name)
                try:
                    offset, stop = max(first, start) - start, min(last, end) - start
                    while offset <= stop:
                        want = min(READ_SLICE, stop + 1 - offset)
                        chunk = await self.run(os.pread, fd, want, offset)
                        if not chunk:
                            raise OSError(f"blob {name} is shorter than its record")
                        yield chunk
                        offset += len(chunk)
                finally:
                    os.close(fd)
            start += size
            if start > last:
                return
