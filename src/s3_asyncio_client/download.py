"""The download engine: parallel ranged GETs written in place, renamed when whole.

Rules:
1. The object's ETag is read first and pinned: every range asks ``If-Match`` it, so
   an object replaced mid-download fails the download (PreconditionFailed) instead
   of mixing two versions.
2. Ranges are written at their offsets into a temporary file beside the target
   (same directory, so the final rename is atomic). The target appears only when
   every byte has arrived and the size matches; a failure removes the temporary.
3. A range whose body breaks off is asked again from the first missing byte, up to
   ``RANGE_ATTEMPTS`` times; progress is rolled back for bytes that must come again.
4. Every reply's Content-Range must be the range asked for.
5. Body pieces are written as they arrived, never copied: about 1 MiB of them goes to
   the file in one ``pwritev`` while the next 1 MiB arrives, so each of the
   ``max_concurrency`` workers holds at most 2 MiB. Writes run in one writer thread,
   never on the event loop: concurrent pwrite()s to one file contend in the kernel
   (measured on ext4: 8 writer threads spent 18x the system time of one).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .config import TransferConfig
from .exceptions import S3ConnectionError, S3IntegrityError, S3InvalidRequestError, S3TimeoutError
from .protocol.limits import plan_part_size
from .tasks import in_task_group
from .transfer import Meter, Progress, TransferResult

if TYPE_CHECKING:
    from .client import S3Client

__all__ = ["RANGE_ATTEMPTS", "download_file"]

RANGE_ATTEMPTS = 5
CHUNK = 1024 * 1024  # bytes gathered for one write
_MAX_PIECES = 256  # pieces in one pwritev, well under any IOV_MAX


def _write_all(fd: int, pieces: list[bytes], offset: int) -> None:
    views = [memoryview(piece) for piece in pieces]
    while views:
        written = os.pwritev(fd, views, offset)
        offset += written
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


class _RangeWriter:
    """One range's pieces on their way to the file: one batch written (in the
    writer thread) while the next is gathered; progress counts bytes on disk."""

    def __init__(self, fd: int, meter: Meter, writer: ThreadPoolExecutor) -> None:
        self._fd, self._meter, self._writer = fd, meter, writer
        self._writing: tuple[asyncio.Future[None], int] | None = None
        self.batch: list[bytes] = []
        self.start = self.size = self.written = 0

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
                self._writer, _write_all, self._fd, self.batch, self.start
            )
            self._writing = (future, self.size)
            self.begin(self.start + self.size)

    def roll_back(self) -> None:
        """The range failed: its bytes no longer count as done."""
        self._meter(-self.written)
        self.written = 0

    async def wait(self) -> None:
        """Until the batch being written is on disk."""
        if self._writing is not None:
            future, size = self._writing
            self._writing = None
            await future
            self.written += size
            self._meter(size)


async def _fetch_range(
    client: S3Client,
    bucket: str,
    key: str,
    etag: str,
    span: tuple[int, int],
    range_writer: _RangeWriter,
) -> None:
    first, last = span
    range_writer.begin(first)
    try:
        for attempt in range(RANGE_ATTEMPTS):
            position = range_writer.start  # the first byte not yet handed to the writer
            try:
                async with client.open_object(
                    bucket, key, byte_range=(position, last), if_match=etag
                ) as stream:
                    expected = f"bytes {position}-{last}/"
                    content_range = stream.headers.get("content-range", "")
                    if stream.status != 206 or not content_range.startswith(expected):
                        raise S3IntegrityError(
                            f"asked for bytes {position}-{last}, "
                            f"got {content_range or stream.status}",
                            bucket=bucket,
                            key=key,
                        )
                    while position <= last:
                        piece = await stream.read_chunk()
                        if not piece:
                            raise S3ConnectionError("reply ended early", bucket=bucket, key=key)
                        if len(piece) > last - position + 1:
                            raise S3IntegrityError(
                                f"the reply to bytes {first}-{last} is too long",
                                bucket=bucket,
                                key=key,
                            )
                        position += len(piece)
                        await range_writer.add(piece, position > last)
                await range_writer.wait()
                return
            except (S3ConnectionError, S3TimeoutError):
                range_writer.begin(range_writer.start)  # what was not submitted comes again
                if attempt + 1 == RANGE_ATTEMPTS:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
    except BaseException:
        await range_writer.wait()
        range_writer.roll_back()
        raise


async def download_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: str | os.PathLike[str],
    *,
    config: TransferConfig,
    progress: Progress | None = None,
) -> TransferResult:
    """``S3Client.download_file``: see there."""
    target = Path(path)
    if await asyncio.to_thread(target.is_dir):
        raise S3InvalidRequestError(f"{str(target)!r} is a directory; give a file path")
    info = await client.head_object(bucket, key)
    size, etag = info["content_length"], info["etag"]
    meter = Meter(size, progress)
    part_size = plan_part_size(size, config.part_size)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.s3aio-part")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise S3InvalidRequestError(f"cannot write {str(target)!r}: {exc.strerror}") from None
    slots = asyncio.Semaphore(config.max_concurrency)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3aio-writer")

    async def worker(first: int, last: int) -> None:
        async with slots:
            span = (first, last)
            await _fetch_range(client, bucket, key, etag, span, _RangeWriter(fd, meter, writer))

    try:
        await asyncio.to_thread(os.ftruncate, fd, size)

        async def start(group: asyncio.TaskGroup) -> None:
            for first in range(0, size, part_size):
                group.create_task(worker(first, min(first + part_size, size) - 1))

        await in_task_group(start)
        if os.fstat(fd).st_size != size:
            raise S3IntegrityError(
                f"file is {os.fstat(fd).st_size} bytes, object is {size}", bucket=bucket, key=key
            )
        os.close(fd)
        fd = -1
        os.replace(temporary, target)
    finally:
        writer.shutdown(wait=True)
        if fd >= 0:
            os.close(fd)
        temporary.unlink(missing_ok=True)
    return TransferResult(etag=etag, size=size, parts_count=-(-size // part_size), skipped_bytes=0)
