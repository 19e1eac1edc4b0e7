"""The download engine: parallel ranged GETs written in place, verified, renamed when whole.

Rules:
1. The object's ETag is read first and pinned: every range asks ``If-Match`` it, so
   an object replaced mid-download fails the download (PreconditionFailed) instead
   of mixing two versions.
2. Ranges are written at their offsets into a temporary file beside the target
   (same directory, so the final rename is atomic). The target appears only when
   every byte has arrived, the size matches and the checksum agrees; a failure
   removes the temporary.
3. The HEAD that pins the ETag asks for the checksum S3 keeps (CRC32C or CRC32, of
   the whole object or composite over its parts: see ``protocol.crc``). For a
   composite one, a HEAD of part 1 gives the part size, and ranges are cut so that
   none crosses a part boundary. Each range's CRC is computed as its bytes are
   written; combined, they must give the object's checksum, or the download fails
   with S3IntegrityError. An object with no such checksum is not verified.
4. A range whose body breaks off is asked again from the first missing byte, up to
   ``RANGE_ATTEMPTS`` times; progress is rolled back for bytes that must come again.
5. Every reply's Content-Range must be the range asked for.
6. Body pieces are written as they arrived, never copied: about 1 MiB of them goes to
   the file in one ``pwritev`` (and into the range's CRC) while the next 1 MiB
   arrives, so each of the ``max_concurrency`` workers holds at most 2 MiB. Writes
   run in one writer thread, never on the event loop: concurrent pwrite()s to one
   file contend in the kernel (measured on ext4: 8 writer threads spent 18x the
   system time of one).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .allocator import tune_for_downloads
from .config import TransferConfig
from .exceptions import (
    S3ConnectionError,
    S3Error,
    S3IntegrityError,
    S3InvalidRequestError,
    S3TimeoutError,
)
from .file_region import FileRegion, RandomAccess, in_thread
from .protocol.checksums import crc_function
from .protocol.crc import ObjectChecksum, RangeCrc, object_checksum, verify_parts
from .protocol.limits import plan_part_size
from .tasks import in_task_group
from .transfer import Meter, Progress, TransferResult

if TYPE_CHECKING:
    from .client import S3Client

__all__ = ["RANGE_ATTEMPTS", "download_file"]

RANGE_ATTEMPTS = 5
CHUNK = 1024 * 1024  # bytes gathered for one write
_MAX_PIECES = 256  # pieces in one pwritev, well under any IOV_MAX

Crc = Callable[[bytes, int], int]


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


class _RangeWriter:
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


@dataclass(frozen=True, slots=True)
class _Remote:
    """The object being downloaded, pinned to the ETag its HEAD gave (rule 1)."""

    client: S3Client
    bucket: str
    key: str
    etag: str
    size: int

    async def part_size(self, number: int) -> int:
        # Not pinned with If-Match: moto answers a part's HEAD with the part's own ETag.
        info = await self.client.head_object(self.bucket, self.key, part_number=number)
        return info["content_length"]

    def integrity_error(self, message: str) -> S3IntegrityError:
        return S3IntegrityError(message, bucket=self.bucket, key=self.key)


async def _fetch_range(remote: _Remote, span: tuple[int, int], range_writer: _RangeWriter) -> None:
    first, last = span
    range_writer.begin(first)
    try:
        for attempt in range(RANGE_ATTEMPTS):
            position = range_writer.start  # the first byte not yet handed to the writer
            try:
                async with remote.client.open_object(
                    remote.bucket, remote.key, byte_range=(position, last), if_match=remote.etag
                ) as stream:
                    expected = f"bytes {position}-{last}/"
                    content_range = stream.headers.get("content-range", "")
                    if stream.status != 206 or not content_range.startswith(expected):
                        raise remote.integrity_error(
                            f"asked for bytes {position}-{last}, "
                            f"got {content_range or stream.status}"
                        )
                    while position <= last:
                        piece = await stream.read_chunk()
                        if not piece:
                            raise S3ConnectionError(
                                "reply ended early", bucket=remote.bucket, key=remote.key
                            )
                        if len(piece) > last - position + 1:
                            raise remote.integrity_error(
                                f"the reply to bytes {first}-{last} is too long"
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
        try:
            await range_writer.wait()
        finally:
            range_writer.roll_back()
        raise


async def _part_sizes(
    remote: _Remote, expected: ObjectChecksum | None
) -> tuple[list[int], ObjectChecksum | None]:
    """The object's parts as S3 stored them, guessed from part 1 (one part when that
    does not matter), and the checksum still to verify (rule 3)."""
    size = remote.size
    count = (expected.parts or expected.ambiguous_parts) if expected else None
    if expected is None or count is None or count <= 1:
        return [size], expected
    try:
        first = await remote.part_size(1)
    except S3Error:
        first = 0
    if not (first > 0 and (count - 1) * first < size <= count * first):
        # Part sizes unknown: a composite cannot be checked. An ambiguous value still
        # may be the whole object's CRC (``_verify`` condemns nothing it cannot tell).
        return [size], expected if expected.parts is None else None
    return [first] * (count - 1) + [size - (count - 1) * first], expected


async def _exact_parts(remote: _Remote, count: int, concurrency: int) -> list[int] | None:
    """Every part's size, one HEAD each (the layout guessed from part 1 is wrong if
    the parts differ in size); None if the server cannot tell (it refuses a part
    number, or the sizes do not add up). Any other error propagates: a failed HEAD
    must not turn a detected mismatch into an unverified success."""
    sizes = [0] * count
    slots = asyncio.Semaphore(concurrency)

    async def head(number: int) -> None:
        async with slots:
            sizes[number - 1] = await remote.part_size(number)

    async def start(group: asyncio.TaskGroup) -> None:
        for number in range(1, count + 1):
            group.create_task(head(number))

    try:
        await in_task_group(start)
    except S3Error as exc:
        if exc.status_code in (400, 416):  # InvalidPartNumber, InvalidArgument
            return None
        raise
    return sizes if sum(sizes) == remote.size else None


def _file_crcs(fd: int, part_sizes: list[int], algorithm: str) -> list[list[RangeCrc]]:
    """Each part's CRC, read back from the file (blocking)."""
    crcs, offset, buffer, file = [], 0, bytearray(CHUNK), RandomAccess(fd)
    for length in part_sizes:
        digest = FileRegion(file, offset, length).digest((algorithm,), buffer)[algorithm]
        crcs.append([(int.from_bytes(digest, "big"), length)])
        offset += length
    return crcs


async def _verify(
    remote: _Remote,
    expected: ObjectChecksum | None,
    part_sizes: list[int],
    crcs: list[list[RangeCrc]],
    fd: int,
    writer: ThreadPoolExecutor,
    concurrency: int,
) -> ObjectChecksum | None:
    """The checksum the bytes matched, None if there is none to check; a mismatch is
    an S3IntegrityError (rule 3)."""
    if expected is None:
        return None
    computed = verify_parts(expected, crcs)
    if computed is not None and len(part_sizes) > 1:
        # The layout was guessed from part 1: check it before crying foul.
        exact = await _exact_parts(remote, len(part_sizes), concurrency)
        if exact is None:
            return None  # the parts cannot be told: unverified, not condemned
        if exact != part_sizes:
            crcs = await in_thread(_file_crcs, fd, exact, expected.algorithm, executor=writer)
            computed = verify_parts(expected, crcs)
    if computed is not None and expected.ambiguous_parts not in (None, len(crcs)):
        return None  # maybe a composite without its suffix, of parts we could not tell
    if computed is not None:
        raise remote.integrity_error(
            "the bytes received do not match the object's checksum: the server keeps "
            f"{expected}, they give {computed}"
        )
    return expected


def _ranges(part_sizes: list[int], range_size: int) -> list[list[tuple[int, int]]]:
    """Per part, the inclusive byte ranges to fetch: at most ``range_size`` each."""
    plan, start = [], 0
    for length in part_sizes:
        end = start + length
        plan.append(
            [(first, min(first + range_size, end) - 1) for first in range(start, end, range_size)]
        )
        start = end
    return plan


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
    tune_for_downloads()
    target = Path(path)
    if await asyncio.to_thread(target.is_dir):
        raise S3InvalidRequestError(f"{str(target)!r} is a directory; give a file path")
    info = await client.head_object(bucket, key, checksum_mode=True)
    remote = _Remote(client, bucket, key, info["etag"], info["content_length"])
    size = remote.size
    expected = object_checksum(
        info.get("checksums", {}), info.get("checksum_type"), remote.etag, info.get("parts_count")
    )
    part_sizes, expected = await _part_sizes(remote, expected)
    plan = _ranges(part_sizes, plan_part_size(size, config.part_size))
    crc = crc_function(expected.algorithm) if expected else None
    meter = Meter(size, progress)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.s3aio-part")
    try:
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise S3InvalidRequestError(f"cannot write {str(target)!r}: {exc.strerror}") from None
    slots = asyncio.Semaphore(config.max_concurrency)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3aio-writer")
    crcs: list[list[RangeCrc]] = [[(0, 0)] * len(ranges) for ranges in plan]

    async def worker(part: int, index: int, span: tuple[int, int]) -> None:
        async with slots:
            range_writer = _RangeWriter(fd, meter, writer, crc)
            await _fetch_range(remote, span, range_writer)
            crcs[part][index] = (range_writer.crc, span[1] - span[0] + 1)

    async def start(group: asyncio.TaskGroup) -> None:
        for part, ranges in enumerate(plan):
            for index, span in enumerate(ranges):
                group.create_task(worker(part, index, span))

    try:
        await in_thread(os.ftruncate, fd, size, executor=writer)
        await in_task_group(start)
        if (written := os.fstat(fd).st_size) != size:
            raise remote.integrity_error(f"file is {written} bytes, object is {size}")
        verified = await _verify(
            remote, expected, part_sizes, crcs, fd, writer, config.max_concurrency
        )
        os.close(fd)
        fd = -1
        os.replace(temporary, target)
    finally:
        writer.shutdown(wait=True)
        if fd >= 0:
            os.close(fd)
        temporary.unlink(missing_ok=True)
    result = TransferResult(
        etag=remote.etag, size=size, parts_count=sum(map(len, plan)), skipped_bytes=0
    )
    if verified is not None:
        result["checksum"] = str(verified)
    return result
