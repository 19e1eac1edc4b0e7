"""The temporary file a download lands in, beside its target, and how it is written.

Rules:
1. Every call on the file's descriptor (creating it, writes, reading it back,
   closing it) runs in one writer thread, in the order submitted, never on the event
   loop. So the clean-up queued after the last write closes the descriptor only when
   no write can still use it (a write cancelled while queued is dropped, one already
   running finishes first), and no pwritev can land on a reused descriptor.
2. The file lives in the target's directory, so the final rename is atomic. It
   replaces the target only through ``close(keep=True)``: fsynced first (unless the
   caller opted out), so a power cut after the rename cannot leave a complete-looking
   file whose data never reached the disk. Anything else (a failure, a cancellation)
   removes it, unless the caller ``leave``s it for a later run to resume.
4. A resumable download's file has a fixed name (``name``) that a later run finds
   again: ``adopt`` opens or creates it without following a symlink and holds an
   exclusive ``flock`` on it for as long as the descriptor is open (the kernel
   drops it when the process dies, even by SIGKILL). A second download of the same
   target finds it locked and is told so (False); the lock is taken on the file the
   name still holds, so one renamed or removed meanwhile is never written.
3. Concurrent pwrite()s to one file contend in the kernel (measured on ext4: 8
   writer threads spent 18x the system time of one): one writer thread it is.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from ..exceptions import S3InvalidRequestError
from ..transport.file_region import in_thread
from .upload import Meter

__all__ = ["CHUNK", "Crc", "PartFile", "RangeWriter", "remove_unused"]

CHUNK = 1024 * 1024  # bytes gathered for one write
_MAX_PIECES = 256  # pieces in one pwritev, well under any IOV_MAX
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

Crc = Callable[[bytes, int], int]
T = TypeVar("T")


def _lock(fd: int, path: Path) -> os.stat_result | Literal["moved"] | None:
    """Lock ``fd`` (rule 4): its stat; "moved" if ``path`` names another file by
    now; None if another download holds it, or it is no plain file of ours."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    held = os.fstat(fd)
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return "moved"
    if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
        return "moved"
    if not stat.S_ISREG(held.st_mode) or held.st_uid != os.geteuid():
        return None
    return held


def remove_unused(path: Path) -> bool:
    """Remove the partial file ``path`` unless a download holds it (blocking);
    whether it is gone. A symlink or a file of another user is left alone."""
    try:
        fd = os.open(path, os.O_RDWR | _NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if not isinstance(_lock(fd, path), os.stat_result):
            return False
        path.unlink()  # while locked: no download adopts it meanwhile
        return True
    finally:
        os.close(fd)


def _write_all(fd: int, pieces: list[bytes], offset: int, crc: Crc | None, value: int) -> int:
    """Write ``pieces`` at ``offset``; the range's CRC carried on over them."""
    if crc is not None:
        for piece in pieces:
            value = crc(piece, value)
    views = [memoryview(piece) for piece in pieces]
    while views:
        written = os.pwritev(fd, views, offset)
        offset += written
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]
    return value


class PartFile:
    """The temporary file beside ``target``: ``open()``, writes (``range_writer``,
    ``run``), then ``close(keep=...)``, always, in a ``finally``, even when
    ``open()`` failed."""

    def __init__(self, target: Path, *, fsync: bool = True, name: str | None = None) -> None:
        self.target = target
        self.fsync = fsync
        self.path = target.with_name(name or f".{target.name}.{uuid.uuid4().hex[:12]}.s3aio-part")
        self.fd = -1
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3aio-writer")
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the writer thread, after everything submitted before;
        an OSError becomes an error naming the target."""
        try:
            return await in_thread(fn, *args, executor=self.writer)
        except OSError as exc:
            raise S3InvalidRequestError(
                f"cannot write {str(self.target)!r}: {exc.strerror}"
            ) from None

    async def open(self) -> None:
        """Create the file (it must not exist yet)."""
        await self.run(self._create)

    def _create(self) -> None:
        # Stored, not returned: a cancellation that waits for this call to finish
        # still leaves ``close`` the descriptor to clean up.
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)

    async def adopt(self) -> os.stat_result | None:
        """Open or create the file of the fixed name, locked (rule 4): its stat, or
        None if another download holds it or it is not a plain file of ours."""
        return await self.run(self._adopt)

    def _adopt(self) -> os.stat_result | None:
        for _ in range(3):  # the name was renamed or removed under us: again
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return None  # a symlink: not ours to write through
                raise
            try:
                verdict = _lock(fd, self.path)
            except BaseException:
                os.close(fd)
                raise
            if verdict is not None and verdict != "moved":
                self.fd = fd
                return verdict
            os.close(fd)
            if verdict is None:
                return None
        return None

    def range_writer(self, meter: Meter, crc: Crc | None) -> RangeWriter:
        return RangeWriter(self.fd, meter, self.writer, crc)

    async def close(self, *, keep: bool, leave: Callable[[], None] | None = None) -> None:
        """With ``keep``, make the file durable and rename it over the target; else
        (or if that fails) remove it, unless ``leave`` is given: then the file is
        synced (with ``fsync``), ``leave()`` called (both in the writer thread, after
        every write) and the file left in place. Idempotent; waits out a cancellation."""
        if self._closed:
            return
        self._closed = True
        try:
            if keep:
                await self.run(self._finish, True, None)
            else:
                await in_thread(self._finish, False, leave, executor=self.writer)
        finally:
            self.writer.shutdown(wait=False)  # idle by now: its thread ends on its own

    def _finish(self, keep: bool, leave: Callable[[], None] | None) -> None:
        if self.fd < 0:
            return  # never created (and a file of that name is not ours to remove)
        done = False
        try:
            if (keep or leave is not None) and self.fsync:
                os.fsync(self.fd)
            # Renamed or removed before the descriptor (and with it a lock) is let go.
            if keep:
                os.replace(self.path, self.target)
                done = True
            elif leave is not None:
                leave()
                done = True
        finally:
            if not done:
                self.path.unlink(missing_ok=True)
            fd, self.fd = self.fd, -1
            os.close(fd)


class RangeWriter:
    """One range's pieces on their way to the file: one batch written (in the
    writer thread) while the next is gathered; progress counts bytes on disk."""

    def __init__(self, fd: int, meter: Meter, writer: ThreadPoolExecutor, crc: Crc | None) -> None:
        self._fd, self._meter, self._writer, self._crc = fd, meter, writer, crc
        self._writing: tuple[asyncio.Future[int], int] | None = None
        self.batch: list[bytes] = []
        self.start = self.size = self.written = self.crc = 0

    def begin(self, offset: int) -> None:
        """Gather from ``offset``; anything gathered and not yet submitted is dropped."""
        self.batch, self.start, self.size = [], offset, 0

    async def add(self, piece: bytes, last: bool) -> None:
        self.batch.append(piece)
        self.size += len(piece)
        if last or self.size >= CHUNK or len(self.batch) >= _MAX_PIECES:
            await self.wait()
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._writer, _write_all, self._fd, self.batch, self.start, self._crc, self.crc
            )
            self._writing = (future, self.size)
            self.begin(self.start + self.size)

    def roll_back(self) -> None:
        """The range failed: its bytes no longer count as done."""
        self._meter(-self.written)
        self.written = 0

    async def wait(self) -> None:
        """Until the batch being written is on disk (batches of a range go in order,
        so its CRC runs over its bytes in order)."""
        if self._writing is not None:
            future, size = self._writing
            self._writing = None
            self.crc = await future
            self.written += size
            self._meter(size)
