"""The download engine: parallel ranged GETs written in place, verified, renamed when whole.

Rules:
1. The object's ETag and size are read first (HEAD) and pinned: every range asks
   ``If-Match`` it, so an object replaced mid-download fails the download
   (PreconditionFailed) instead of mixing two versions; and every reply must carry
   that ETag, for a server that ignores If-Match (S3ObjectChangedError). A HEAD
   without a usable length fails (S3LengthError); one that says 0 bytes is checked
   with a GET, so a broken HEAD never yields an empty file called a success.
2. Ranges are written at their offsets into a temporary file beside the target
   (``partfile``: one writer thread, off the event loop). The target appears only
   when every byte has arrived, the size matches and the checksum agrees, and then
   fsynced; a failure or a cancellation removes the temporary.
3. The HEAD that pins the ETag asks for the checksum S3 keeps (CRC64NVME, CRC32C
   or CRC32, else SHA256 or SHA1; of the whole object or composite over its parts:
   see ``protocol.crc``). For a composite one, a HEAD of part 1 gives the part size,
   and ranges are cut so that none crosses a part boundary. Each range's CRC is
   computed as its bytes are written (a SHA cannot be combined: each part is hashed
   from the file once all is written); they must give the object's checksum, or the
   download fails with S3IntegrityError. An object with no checksum that can be
   checked is not verified, or, with ``require_checksum``, fails before the target
   appears.
4. A range whose body breaks off is asked again from the first missing byte, up to
   ``RANGE_ATTEMPTS`` times; progress is rolled back for bytes that must come again.
5. Every reply's Content-Length and Content-Range must be the range asked for, of
   an object of the HEAD's size (``protocol.lengths``); a body longer or shorter
   than declared is an error, never a success.
6. Body pieces are written as they arrived, never copied: about 1 MiB of them goes to
   the file in one ``pwritev`` (and into the range's CRC) while the next 1 MiB
   arrives, so each of the ``max_concurrency`` workers holds at most 2 MiB.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import TransferConfig
from ..exceptions import (
    S3ConnectionError,
    S3Error,
    S3IntegrityError,
    S3InvalidRequestError,
    S3LengthError,
    S3ObjectChangedError,
    S3TimeoutError,
)
from ..protocol.checksums import crc_function
from ..protocol.crc import ObjectChecksum, RangeCrc, object_checksum, verify_digests, verify_parts
from ..protocol.lengths import parse_body_span
from ..protocol.limits import plan_part_size
from ..protocol.responses import ObjectInfo
from ..transport.file_region import FileRegion, RandomAccess, in_thread
from .allocator import tune_for_downloads
from .fanout import fan_out, in_task_group
from .partfile import CHUNK, PartFile, RangeWriter
from .ports import ObjectStore, ReplyStream
from .upload import Meter, Progress, TransferResult

__all__ = ["RANGE_ATTEMPTS", "download_file"]

RANGE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class _Remote:
    """The object being downloaded, pinned to the ETag its HEAD gave (rule 1)."""

    store: ObjectStore
    bucket: str
    key: str
    etag: str
    size: int

    async def part_size(self, number: int) -> int:
        # Not pinned with If-Match: moto answers a part's HEAD with the part's own ETag.
        info = await self.store.head_object(self.bucket, self.key, part_number=number)
        return info["content_length"]

    def integrity_error(self, message: str) -> S3IntegrityError:
        return S3IntegrityError(message, bucket=self.bucket, key=self.key)

    def check(
        self, status: int, headers: Mapping[str, str], byte_range: tuple[int, int] | None
    ) -> None:
        """A reply must come from the pinned version and hold ``byte_range`` (None:
        all) of an object of the pinned size (rules 1 and 5)."""
        where = {"bucket": self.bucket, "key": self.key}
        etag = headers.get("etag", "")  # "" == "": a server that sends none at all
        if etag != self.etag:
            raise S3ObjectChangedError(
                f"the object changed during the download: its ETag was {self.etag}, "
                f"a reply carries {etag or 'none'} (the server ignored If-Match)",
                value=headers.get("etag"),
                **where,
            )
        span = parse_body_span(status, headers, byte_range, **where)
        if span.total != self.size:
            raise S3LengthError(
                f"the reply to bytes {span.first}-{span.last} says the object is "
                f"{span.total} bytes, its HEAD said {self.size}",
                value=headers.get("content-range", headers.get("content-length")),
                **where,
            )

    @asynccontextmanager
    async def open(self, byte_range: tuple[int, int] | None) -> AsyncIterator[ReplyStream]:
        """A GET of ``byte_range`` (None: all) of the pinned version, checked."""
        async with self.store.open_object(
            self.bucket, self.key, byte_range=byte_range, if_match=self.etag
        ) as stream:
            self.check(stream.status, stream.headers, byte_range)
            yield stream

    async def confirm_empty(self) -> None:
        """A HEAD said 0 bytes: a GET's Content-Length must agree (``check``)."""
        async with self.open(None):
            pass


async def _fetch_range(remote: _Remote, span: tuple[int, int], range_writer: RangeWriter) -> None:
    first, last = span
    range_writer.begin(first)
    try:
        for attempt in range(RANGE_ATTEMPTS):
            position = range_writer.start  # the first byte not yet handed to the writer
            try:
                async with remote.open((position, last)) as stream:
                    while position <= last:
                        piece = await stream.read_chunk()
                        if not piece:
                            raise S3ConnectionError(
                                "reply ended early", bucket=remote.bucket, key=remote.key
                            )
                        if len(piece) > last - position + 1:
                            raise S3LengthError(
                                f"the reply to bytes {first}-{last} is longer than declared",
                                bucket=remote.bucket,
                                key=remote.key,
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
    except S3IntegrityError:
        raise  # a lying reply is not a server that cannot tell
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

    async def head(number: int) -> None:
        sizes[number - 1] = await remote.part_size(number)

    try:
        await in_task_group(
            lambda group: fan_out(group, range(1, count + 1), head, concurrency=concurrency)
        )
    except S3Error as exc:
        if exc.status_code in (400, 416):  # InvalidPartNumber, InvalidArgument
            return None
        raise
    return sizes if sum(sizes) == remote.size else None


def _file_digests(fd: int, part_sizes: list[int], algorithm: str) -> list[bytes]:
    """Each part's digest, read back from the file (blocking)."""
    digests, offset, buffer, file = [], 0, bytearray(CHUNK), RandomAccess(fd)
    for length in part_sizes:
        digests.append(FileRegion(file, offset, length).digest((algorithm,), buffer)[algorithm])
        offset += length
    return digests


async def _computed(
    file: PartFile, expected: ObjectChecksum, part_sizes: list[int], crcs: list[list[RangeCrc]]
) -> str | None:
    """What the bytes give if not ``expected`` (None if they match): from the ranges'
    CRCs when given, else from each part read back (a SHA, or a corrected layout)."""
    if crcs:
        return verify_parts(expected, crcs)
    digests = await file.run(_file_digests, file.fd, part_sizes, expected.algorithm)
    if crc_function(expected.algorithm) is None:
        return verify_digests(expected, digests)
    lengths = zip(digests, part_sizes, strict=True)
    return verify_parts(expected, [[(int.from_bytes(d, "big"), n)] for d, n in lengths])


async def _verify(
    remote: _Remote,
    expected: ObjectChecksum | None,
    part_sizes: list[int],
    crcs: list[list[RangeCrc]],
    file: PartFile,
    concurrency: int,
) -> ObjectChecksum | None:
    """The checksum the bytes matched, None if there is none to check; a mismatch is
    an S3IntegrityError (rule 3)."""
    if expected is None:
        return None
    computed = await _computed(file, expected, part_sizes, crcs)
    if computed is not None and len(part_sizes) > 1:
        # The layout was guessed from part 1: check it before crying foul.
        exact = await _exact_parts(remote, len(part_sizes), concurrency)
        if exact is None:
            return None  # the parts cannot be told: unverified, not condemned
        if exact != part_sizes:
            computed = await _computed(file, expected, exact, [])
    if computed is not None and expected.ambiguous_parts not in (None, len(part_sizes)):
        return None  # maybe a composite without its suffix, of parts we could not tell
    if computed is not None:
        raise remote.integrity_error(
            "the bytes received do not match the object's checksum: the server keeps "
            f"{expected}, they give {computed}"
        )
    return expected


def _unverifiable(info: ObjectInfo) -> str:
    """Why ``require_checksum`` failed a download."""
    kept = sorted(info.get("checksums", {}))
    slow = [name for name in kept if name.startswith("crc") and crc_function(name) is None]
    hint = f"; {', '.join(slow)} needs the 'fast' extra (awscrt, crc32c)" if slow else ""
    return (
        "the server keeps no checksum of this object that can be verified (checksums "
        f"kept: {', '.join(kept) or 'none'}; a composite needs the part sizes{hint}) "
        "and require_checksum is set"
    )


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
    store: ObjectStore,
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
    if await in_thread(target.is_dir):
        raise S3InvalidRequestError(f"{str(target)!r} is a directory; give a file path")
    info = await store.head_object(bucket, key, checksum_mode=True)
    remote = _Remote(store, bucket, key, info["etag"], info["content_length"])
    size = remote.size
    if size == 0:
        await remote.confirm_empty()
    expected = object_checksum(
        info.get("checksums", {}), info.get("checksum_type"), remote.etag, info.get("parts_count")
    )
    part_sizes, expected = await _part_sizes(remote, expected)
    plan = _ranges(part_sizes, plan_part_size(size, config.part_size))
    if expected is None and config.require_checksum:
        raise remote.integrity_error(_unverifiable(info))
    crc = crc_function(expected.algorithm) if expected else None  # None: a SHA, hashed after
    meter = Meter(size, progress)
    crcs: list[list[RangeCrc]] = [[(0, 0)] * len(ranges) for ranges in plan]
    file = PartFile(target, fsync=config.fsync)

    async def fetch(job: tuple[int, int, tuple[int, int]]) -> None:
        part, index, span = job
        range_writer = file.range_writer(meter, crc)
        await _fetch_range(remote, span, range_writer)
        crcs[part][index] = (range_writer.crc, span[1] - span[0] + 1)

    jobs = (
        (part, index, span) for part, ranges in enumerate(plan) for index, span in enumerate(ranges)
    )
    try:
        await file.open()
        await file.run(os.ftruncate, file.fd, size)
        await in_task_group(
            lambda group: fan_out(group, jobs, fetch, concurrency=config.max_concurrency)
        )
        if (written := (await file.run(os.fstat, file.fd)).st_size) != size:
            raise remote.integrity_error(f"file is {written} bytes, object is {size}")
        ranges = crcs if crc is not None else []
        verified = await _verify(remote, expected, part_sizes, ranges, file, config.max_concurrency)
        if verified is None and config.require_checksum:
            raise remote.integrity_error(_unverifiable(info))
        await file.close(keep=True)
    finally:
        await file.close(keep=False)  # nothing left to do if kept
    result = TransferResult(
        etag=remote.etag, size=size, parts_count=sum(map(len, plan)), skipped_bytes=0
    )
    if verified is not None:
        result["checksum"] = str(verified)
    return result
