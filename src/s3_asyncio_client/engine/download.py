"""The download engine: parallel ranged GETs written in place, verified, renamed when whole.

A binary file object (standard output, a pipe) is written in order instead, with no
temporary file: see ``stream``. What both share is in ``remote``.

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
   fsynced; a failure or a cancellation removes the temporary, unless the download
   is resumable (``rangelog``): then the temporary is kept with a journal of the
   ranges written and verified, and the same call later fetches only the others.
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

import io
import os
from pathlib import Path
from typing import IO

from ..config import TransferConfig
from ..exceptions import (
    S3IntegrityError,
    S3InvalidRequestError,
    S3ObjectChangedError,
    S3PreconditionFailedError,
)
from ..protocol.checksums import crc_function
from ..protocol.crc import ObjectChecksum, RangeCrc, verify_parts
from ..protocol.limits import plan_part_size
from ..transport.file_region import FileRegion, RandomAccess, in_thread
from .allocator import tune_for_downloads
from .fanout import fan_out, in_task_group
from .partfile import CHUNK, PartFile
from .ports import ObjectStore
from .rangelog import RangeLog, open_range_log
from .remote import RANGE_ATTEMPTS, digests_mismatch, fetch_range, pin, plan_ranges, settle
from .stream import download_stream
from .upload import Meter, Progress, TransferResult

__all__ = ["RANGE_ATTEMPTS", "download_file"]

# Errors that prove a partial file's bytes wrong or of another version of the object.
_WRONG_BYTES = (S3IntegrityError, S3ObjectChangedError, S3PreconditionFailedError)


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
    return digests_mismatch(expected, digests, part_sizes)


async def download_file(
    store: ObjectStore,
    bucket: str,
    key: str,
    path: str | os.PathLike[str] | IO[bytes],
    *,
    config: TransferConfig,
    progress: Progress | None = None,
) -> TransferResult:
    """``S3Client.download_file``: see there."""
    tune_for_downloads()
    if not isinstance(path, str | os.PathLike):
        written: object = path  # typed as binary; checked here, as a caller may not be
        if not callable(getattr(written, "write", None)) or isinstance(written, io.TextIOBase):
            raise S3InvalidRequestError(
                f"path must be a file path or a binary file object, got {type(path).__name__}"
            )
        return await download_stream(store, bucket, key, path, config=config, progress=progress)
    target = Path(path)
    if await in_thread(target.is_dir):
        raise S3InvalidRequestError(f"{str(target)!r} is a directory; give a file path")
    pinned = await pin(store, bucket, key, config)
    remote, part_sizes = pinned.remote, pinned.part_sizes
    size = remote.size
    plan = plan_ranges(part_sizes, plan_part_size(size, config.part_size, min_part_size=1))
    # None: a SHA, hashed once all is written
    object_crc = crc_function(pinned.expected.algorithm) if pinned.expected else None
    log: RangeLog | None = None
    if config.resume and size > config.multipart_threshold:
        file, log = await open_range_log(store.endpoint.url, bucket, key, target, pinned, config)
    else:
        file = PartFile(target, fsync=config.fsync)
    crc = crc_function(log.algorithm) if log is not None else object_crc
    meter = Meter(size, progress)
    crcs: list[list[RangeCrc]] = [[(0, 0)] * len(ranges) for ranges in plan]

    async def fetch(job: tuple[int, int, tuple[int, int]]) -> None:
        part, index, span = job
        range_writer = file.range_writer(meter, crc)
        await fetch_range(remote, span, range_writer)
        crcs[part][index] = (range_writer.crc, span[1] - span[0] + 1)
        if log is not None:
            await log.written(file, span, range_writer.crc)

    suspect = False  # the bytes disagreed with the checksum once: never resume from them

    async def computed(expected: ObjectChecksum) -> str | None:
        nonlocal suspect
        mismatch = await _computed(
            file, expected, part_sizes, crcs if object_crc is not None else []
        )
        suspect = mismatch is not None
        return mismatch

    async def recheck(expected: ObjectChecksum, sizes: list[int]) -> str | None:
        return await _computed(file, expected, sizes, [])

    spans = [
        (part, index, span) for part, ranges in enumerate(plan) for index, span in enumerate(ranges)
    ]
    done: dict[tuple[int, int], int] = {}
    try:
        if log is None:
            await file.open()
            await file.run(os.ftruncate, file.fd, size)
        else:
            done = await _resumable(file, log, size, {span for _, _, span in spans}, store, config)
        for part, index, span in spans:
            if span in done:
                crcs[part][index] = (done[span], span[1] - span[0] + 1)
        if skipped := sum(last - first + 1 for first, last in done):
            meter(skipped)
        jobs = (job for job in spans if job[2] not in done)
        await in_task_group(
            lambda group: fan_out(group, jobs, fetch, concurrency=config.max_concurrency)
        )
        if (written := (await file.run(os.fstat, file.fd)).st_size) != size:
            raise remote.integrity_error(f"file is {written} bytes, object is {size}")
        verified = await settle(pinned, config, computed, recheck)
        await file.close(keep=True)
    except BaseException as error:
        if log is not None and (suspect or isinstance(error, _WRONG_BYTES)):
            # The next run must not build on these bytes (rangelog rule 6).
            await file.close(keep=False)
            await log.remove()
        raise
    finally:
        await file.close(keep=False, leave=log.flush() if log is not None else None)
    if log is not None:
        await log.remove()
    result = TransferResult(
        etag=remote.etag, size=size, parts_count=len(spans), skipped_bytes=skipped
    )
    if verified is not None:
        result["checksum"] = str(verified)
    if log is not None and log.restarted:
        result["restarted"] = True
    return result


async def _resumable(
    file: PartFile,
    log: RangeLog,
    size: int,
    planned: set[tuple[int, int]],
    store: ObjectStore,
    config: TransferConfig,
) -> dict[tuple[int, int], int]:
    """The ranges of the partial file that need not be fetched again (``rangelog``
    rule 4); the journal begun again with them."""
    done: dict[tuple[int, int], int] = {}
    if log.recorded and (await file.run(os.fstat, file.fd)).st_size == size:
        done = await log.verified(file, planned, store.buffers, config.max_concurrency)
    await log.begin(file, size, done)
    return done
