"""The upload engine: files, file objects and async byte streams, in bounded memory.

Rules of the pipeline:
1. ``max_concurrency + 1`` buffers of ``part_size`` exist, no more. A part is read
   into a free buffer (in a worker thread, never on the event loop, with its checksum
   computed in the same pass), then sent as a memoryview of that buffer; the buffer
   returns to the pool when the server has accepted the part. So part k+1 is read
   while up to ``max_concurrency`` parts are on the wire.
2. Each part carries its checksum; the server verifies it (BadDigest is retried with
   the same bytes). A server that ignores checksums gets Content-MD5 and an ETag check.
3. A file path with ``resume`` keeps a journal (see ``journal``): an interrupted
   upload is continued by the same call, skipping parts the server verifiably holds.
   Otherwise any failure or cancellation aborts the upload, shielded from
   cancellation, so no parts are left behind.
4. Streams of unknown length use parts of ``part_size`` for the first 2,000 parts,
   then double it every 2,000 parts, to stay within 10,000 parts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypedDict

from .config import TransferConfig
from .exceptions import S3InvalidRequestError, S3NoSuchUploadError
from .journal import Journal, JournalHeader, default_journal_dir
from .multipart import MultipartUpload, abort_quietly, complete_or_abort
from .protocol.checksums import ChecksumAlgorithm, checksum_header
from .protocol.limits import MAX_PARTS, part_count, plan_part_size
from .protocol.responses import PartInfo

if TYPE_CHECKING:
    from .client import S3Client

__all__ = ["Meter", "Progress", "Source", "TransferResult", "upload_file"]

Progress = Callable[[int, int | None], None]
Source = str | os.PathLike[str] | IO[bytes] | AsyncIterable[bytes]
Readable = IO[bytes] | int  # a file object read in order, or a descriptor read at offsets


class TransferResult(TypedDict):
    etag: str
    size: int
    parts_count: int  # 0 for a single PUT
    skipped_bytes: int  # already on the server from an earlier, interrupted run


class Meter:
    """Bytes done so far, reported to the user's callback (negative deltas on retry)."""

    def __init__(self, total: int | None, callback: Progress | None) -> None:
        self.total, self.done, self._callback = total, 0, callback

    def __call__(self, delta: int) -> None:
        self.done += delta
        if self._callback is not None:
            self._callback(self.done, self.total)


@dataclass(frozen=True, slots=True)
class _Job:
    client: S3Client
    bucket: str
    key: str
    config: TransferConfig
    content_type: str | None
    metadata: Mapping[str, str] | None

    async def create(self) -> MultipartUpload:
        return await self.client.create_multipart_upload(
            self.bucket, self.key, content_type=self.content_type, metadata=self.metadata
        )

    async def put(self, data: memoryview, meter: Meter) -> TransferResult:
        result = await self.client.put_object(
            self.bucket,
            self.key,
            data,
            content_type=self.content_type,
            metadata=self.metadata,
            on_sent=meter,
        )
        return TransferResult(etag=result["etag"], size=len(data), parts_count=0, skipped_bytes=0)


def _read_part(
    file: Readable, view: memoryview, offset: int, algorithm: ChecksumAlgorithm | None
) -> tuple[int, str | None]:
    """Fill ``view`` (short only at the end of the file); its count and checksum."""
    filled = 0
    while filled < len(view):
        rest = view[filled:]
        if isinstance(file, int):
            count = os.preadv(file, [rest], offset + filled)
        else:
            count = file.readinto(rest) or 0  # type: ignore[attr-defined]
        if count == 0:
            break
        filled += count
    checksum = checksum_header(algorithm, view[:filled])[1] if algorithm else None
    return filled, checksum


class _Pipeline:
    """The parts of one multipart upload in flight, bounded by a pool of buffers."""

    def __init__(
        self,
        upload: MultipartUpload,
        part_size: int,
        concurrency: int,
        meter: Meter,
        journal: Journal | None,
    ) -> None:
        self.upload, self.meter, self.journal = upload, meter, journal
        self.pool: asyncio.Queue[bytearray] = asyncio.Queue()
        self.on_the_wire = asyncio.Semaphore(concurrency)
        self._part_size, self._unallocated = part_size, concurrency + 1

    async def buffer(self) -> bytearray:
        """A free buffer; allocated on first need, so a small upload takes little."""
        if self.pool.empty() and self._unallocated:
            self._unallocated -= 1
            return bytearray(self._part_size)
        return await self.pool.get()

    async def send(self, number: int, buffer: bytearray, count: int, checksum: str | None) -> None:
        try:
            async with self.on_the_wire:
                part = await self.upload.upload_part(
                    number, memoryview(buffer)[:count], checksum_value=checksum, on_sent=self.meter
                )
            if self.journal is not None:
                await asyncio.to_thread(self.journal.record, dict(part))
        finally:
            self.pool.put_nowait(buffer)


async def _feed_file(
    pipeline: _Pipeline,
    file: Readable,
    size: int,
    part_size: int,
    done: set[int],
    group: asyncio.TaskGroup,
) -> int:
    algorithm = pipeline.upload.checksum
    for number in range(1, part_count(size, part_size) + 1):
        if number in done:
            continue
        offset = (number - 1) * part_size
        buffer = await pipeline.buffer()
        view = memoryview(buffer)[: min(part_size, size - offset)]
        count, checksum = await asyncio.to_thread(_read_part, file, view, offset, algorithm)
        if count != len(view):
            pipeline.pool.put_nowait(buffer)
            raise S3InvalidRequestError(
                f"the source shrank during the upload: part {number} has {count} of "
                f"{len(view)} bytes"
            )
        group.create_task(pipeline.send(number, buffer, count, checksum))
    return size


async def _feed_stream(
    pipeline: _Pipeline, chunks: AsyncIterator[bytes], base: int, group: asyncio.TaskGroup
) -> int:
    """Parts from a stream of unknown length (rule 4); returns its total size."""
    algorithm, total, pending = pipeline.upload.checksum, 0, b""
    for number in range(1, MAX_PARTS + 1):
        size = base << ((number - 1) // 2000)
        buffer = await pipeline.buffer()
        if len(buffer) < size:
            buffer = bytearray(size)
        count, ended = 0, False
        while count < size:
            if not pending:
                pending = await anext(chunks, b"")
                ended = not pending
                if ended:
                    break
            take = min(len(pending), size - count)
            buffer[count : count + take] = pending[:take]
            pending, count = pending[take:], count + take
        if count or number == 1:
            checksum = (
                checksum_header(algorithm, memoryview(buffer)[:count])[1] if algorithm else None
            )
            group.create_task(pipeline.send(number, buffer, count, checksum))
            total += count
        if ended:
            return total
    raise S3InvalidRequestError("the stream is too long for 10,000 parts")


async def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    source: Source,
    *,
    config: TransferConfig,
    progress: Progress | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> TransferResult:
    """``S3Client.upload_file``: see there."""
    job = _Job(client, bucket, key, config, content_type, metadata)
    if isinstance(source, str | os.PathLike):
        try:
            fd = os.open(source, os.O_RDONLY)
        except OSError as exc:
            raise S3InvalidRequestError(f"cannot read {str(source)!r}: {exc.strerror}") from None
        try:
            stat = os.fstat(fd)
            identity = (await asyncio.to_thread(os.path.realpath, source), stat.st_mtime_ns)
            return await _upload_sized(job, fd, stat.st_size, progress, identity)
        finally:
            os.close(fd)
    if isinstance(source, AsyncIterable):
        return await _upload_stream(job, aiter(source), progress)
    if hasattr(source, "read"):
        if source.seekable():
            position = source.tell()
            size = source.seek(0, os.SEEK_END) - position
            source.seek(position)
            return await _upload_sized(job, source, size, progress, None)
        return await _upload_stream(job, _file_chunks(source), progress)
    raise S3InvalidRequestError(
        "source must be a path, a binary file object or an async iterable of bytes, "
        f"got {type(source).__name__}"
    )


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(file.read, 1024 * 1024):
        yield chunk


async def _upload_sized(
    job: _Job,
    file: Readable,
    size: int,
    progress: Progress | None,
    identity: tuple[str, int] | None,
) -> TransferResult:
    meter, config = Meter(size, progress), job.config
    if size <= config.multipart_threshold:
        view = memoryview(bytearray(size))
        count, _ = await asyncio.to_thread(_read_part, file, view, 0, None)
        return await job.put(view[:count], meter)

    part_size = plan_part_size(size, config.part_size)
    journal, upload = None, None
    done: dict[int, PartInfo] = {}
    if config.resume and identity is not None:
        directory = Path(config.journal_dir) if config.journal_dir else default_journal_dir()
        journal = Journal(directory, job.client.endpoint.url, job.bucket, job.key, identity[0])
        header = JournalHeader(
            job.client.endpoint.url,
            job.bucket,
            job.key,
            identity[0],
            size,
            identity[1],
            part_size,
            job.client.checksum,
        )
        upload, done = await _resume(job.client, journal, header)
    if upload is None:
        upload = await job.create()
        if journal is not None:
            await asyncio.to_thread(
                journal.start, dataclasses.replace(header, upload_id=upload.upload_id)
            )
    upload.parts = list(done.values())
    skipped = sum(part["size"] for part in done.values())
    meter(skipped)
    pipeline = _Pipeline(upload, part_size, config.max_concurrency, meter, journal)
    result, _ = await complete_or_abort(
        upload,
        lambda group: _feed_file(pipeline, file, size, part_size, set(done), group),
        keep_on_failure=journal is not None,
    )
    if journal is not None:
        await asyncio.to_thread(journal.remove)
    return TransferResult(
        etag=result["etag"], size=size, parts_count=result["parts_count"], skipped_bytes=skipped
    )


async def _resume(
    client: S3Client, journal: Journal, header: JournalHeader
) -> tuple[MultipartUpload | None, dict[int, PartInfo]]:
    """The upload to continue and the parts the server verifiably holds (rule 3)."""
    loaded = await asyncio.to_thread(journal.load)
    if loaded is None:
        return None, {}
    old, recorded = loaded
    upload = MultipartUpload(
        client, old.bucket, old.key, old.upload_id or "-", checksum=old.checksum
    )
    try:
        if dataclasses.replace(header, upload_id=old.upload_id) != old:
            # The file or the settings changed: the old parts are worthless.
            await abort_quietly(upload)
            raise S3NoSuchUploadError("stale journal")
        held = await upload.list_parts()
    except S3NoSuchUploadError:
        await asyncio.to_thread(journal.remove)
        return None, {}
    on_server = {(p["part_number"], p["etag"], p["size"]) for p in held}
    done: dict[int, PartInfo] = {}
    for number, part in recorded.items():
        if (number, part.get("etag"), part.get("size")) in on_server:
            info = PartInfo(part_number=number, etag=part["etag"], size=part["size"])
            if "checksum" in part:
                info["checksum"] = part["checksum"]
            done[number] = info
    return upload, done


async def _upload_stream(
    job: _Job, chunks: AsyncIterator[bytes], progress: Progress | None
) -> TransferResult:
    meter, config = Meter(None, progress), job.config
    head = bytearray()  # up to the threshold first: a short stream is one PUT
    while len(head) <= config.multipart_threshold:
        chunk = await anext(chunks, b"")
        if not chunk:
            return await job.put(memoryview(head), meter)
        head += chunk
    base = config.part_size or 8 * 1024 * 1024
    upload = await job.create()
    pipeline = _Pipeline(upload, base, config.max_concurrency, meter, None)
    result, size = await complete_or_abort(
        upload, lambda group: _feed_stream(pipeline, _chain(bytes(head), chunks), base, group)
    )
    return TransferResult(
        etag=result["etag"], size=size, parts_count=result["parts_count"], skipped_bytes=0
    )


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
