"""The upload engine: files, file objects and async byte streams, in bounded memory.

Rules of the pipeline:
1. A file (a path, or a seekable file object) is never held in memory: each part is
   a ``FileRegion``, checksummed in one read and streamed from the page cache in a
   second (see ``transport.file_region``), ``max_concurrency`` parts at once. Memory is two
   128 KiB buffers per part on the wire, whatever the part size.
2. A stream of unknown length (an async iterable, a pipe) cannot be read twice, so
   ``max_concurrency + 1`` buffers of ``part_size`` exist, no more: a part is copied
   into a free buffer and sent as a memoryview of it; the buffer returns to the pool
   when the server has accepted the part. Parts are ``part_size`` for the first
   2,000, then double every 2,000 parts, to stay within 10,000 parts (the store's
   ``capabilities.max_parts``: 9,999 on AIStore).
3. Each part carries its checksum; the server verifies it (BadDigest is retried with
   the same bytes). A server that ignores checksums gets Content-MD5 and an ETag check.
   A file path whose size or mtime changed by the end is refused before completion.
4. A file path with ``resume`` keeps a journal (see ``journal``): an interrupted
   upload is continued by the same call, skipping the parts the server holds and
   the file still matches, checksum for checksum (see ``resume``).
   Otherwise any failure or cancellation aborts the upload, shielded from
   cancellation, so no parts are left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NotRequired, TypedDict

from ..config import Checksum, ChecksumType, TransferConfig, choose_checksum
from ..exceptions import S3InvalidRequestError
from ..protocol.checksums import checksum_header
from ..protocol.limits import (
    MAX_PARTS,
    part_count,
    plan_part_size,
    stream_base,
    stream_capacity,
    stream_part_size,
)
from ..protocol.preconditions import WriteConditions, write_conditions
from ..protocol.responses import PartInfo
from ..transport.file_region import FileRegion, RandomAccess, in_thread, open_in_thread
from .fanout import complete_or_abort, fan_out, send_parts
from .journal import Journal, JournalHeader, default_journal_dir
from .ports import ObjectStore, UploadHandle, UploadResult
from .resume import PartLog, resume

__all__ = ["Meter", "Progress", "Source", "TransferResult", "upload_file"]

Progress = Callable[[int, int | None], None]
Source = str | os.PathLike[str] | IO[bytes] | AsyncIterable[bytes]


class TransferResult(TypedDict):
    etag: str
    size: int
    parts_count: int  # 0 for a single PUT; for a download, the ranges fetched
    skipped_bytes: int  # kept from an earlier, interrupted run: on the server, or on disk
    # Downloads: the checksum the server keeps, which the bytes received matched
    # ("crc32c AAAAAA==-3"); absent when the server keeps none we can check.
    checksum: NotRequired[str]
    restarted: NotRequired[bool]  # a download: the object changed since it was interrupted


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
    store: ObjectStore
    bucket: str
    key: str
    config: TransferConfig
    content_type: str | None
    metadata: Mapping[str, str] | None
    # The call's own checksum choice, passed on only when it names one, so that
    # a store without these arguments still works with the client's default.
    choice: Mapping[str, Any]  # and the write conditions (PUT, or Complete)

    async def create(self) -> UploadHandle:
        return await self.store.create_multipart_upload(
            self.bucket,
            self.key,
            content_type=self.content_type,
            metadata=self.metadata,
            **self.choice,
        )

    async def put(self, data: memoryview | FileRegion, meter: Meter) -> TransferResult:
        result = await self.store.put_object(
            self.bucket,
            self.key,
            data,
            content_type=self.content_type,
            metadata=self.metadata,
            on_sent=meter,
            **{k: v for k, v in self.choice.items() if k != "checksum_type"},
        )
        return TransferResult(etag=result["etag"], size=len(data), parts_count=0, skipped_bytes=0)


_StreamPart = tuple[int, bytearray, int, str | None]  # number, buffer, bytes in it, checksum


class _Pipeline:
    """The parts of one stream upload in flight, bounded by a pool of buffers."""

    def __init__(
        self,
        upload: UploadHandle,
        part_size: int,
        concurrency: int,
        meter: Meter,
        max_parts: int = MAX_PARTS,
    ) -> None:
        self.upload, self.meter, self.max_parts = upload, meter, max_parts
        self.pool: asyncio.Queue[bytearray] = asyncio.Queue()
        self.total = 0  # bytes read from the stream so far
        self.part_size, self._concurrency = part_size, concurrency
        self._unallocated = concurrency + 1

    async def run(self, chunks: AsyncIterator[bytes]) -> UploadResult:
        """Send the stream as the upload's parts and complete it (or abort it)."""

        async def start(group: asyncio.TaskGroup) -> None:
            parts = _stream_parts(self, chunks)
            async with contextlib.aclosing(parts):
                await fan_out(group, parts, self.send, concurrency=self._concurrency)

        result, _ = await complete_or_abort(self.upload, start)
        return result

    async def buffer(self) -> bytearray:
        """A free buffer; allocated on first need, so a small upload takes little."""
        if self.pool.empty() and self._unallocated:
            self._unallocated -= 1
            return bytearray(self.part_size)
        return await self.pool.get()

    async def send(self, part: _StreamPart) -> None:
        number, buffer, count, checksum = part
        try:
            await self.upload.upload_part(
                number, memoryview(buffer)[:count], checksum_value=checksum, on_sent=self.meter
            )
        finally:
            self.pool.put_nowait(buffer)


def _file_parts(
    file: RandomAccess, size: int, part_size: int, done: set[int]
) -> Iterator[tuple[int, FileRegion]]:
    for number in range(1, part_count(size, part_size) + 1):
        if number not in done:
            offset = (number - 1) * part_size
            yield number, FileRegion(file, offset, min(part_size, size - offset))


async def _stream_parts(
    pipeline: _Pipeline, chunks: AsyncIterator[bytes]
) -> AsyncGenerator[_StreamPart, None]:
    """Parts from a stream of unknown length, each in a buffer (rule 2)."""
    algorithm, pending = pipeline.upload.checksum, memoryview(b"")
    for number in range(1, pipeline.max_parts + 1):
        size = stream_part_size(pipeline.part_size, number)
        buffer = await pipeline.buffer()
        if len(buffer) < size:
            buffer = bytearray(size)
        count, ended = 0, False
        while count < size:
            if not pending:
                pending = memoryview(await anext(chunks, b"")).cast("B")
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
            pipeline.total += count
            yield number, buffer, count, checksum
        if ended:
            return
    if not pending and not await anext(chunks, b""):
        return  # the last part was full, and the stream ends there
    most = stream_capacity(pipeline.part_size, pipeline.max_parts)
    raise S3InvalidRequestError(
        f"the stream is longer than {most:,} bytes, the most {pipeline.max_parts:,} parts "
        f"from part_size={pipeline.part_size} hold (the upload is aborted); a larger "
        f"part_size raises that limit in proportion"
    )


async def upload_file(
    store: ObjectStore,
    bucket: str,
    key: str,
    source: Source,
    *,
    config: TransferConfig,
    progress: Progress | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    checksum: Checksum = "auto",
    checksum_type: ChecksumType | None = None,
    conditions: WriteConditions | None = None,
) -> TransferResult:
    """``S3Client.upload_file``: see there."""
    choice = {"checksum": checksum, "checksum_type": checksum_type}
    choose_checksum(store.checksum, checksum, checksum_type)  # bad input fails first
    given = {k: v for k, v in choice.items() if v != "auto" and (v or k == "checksum")}
    job = _Job(store, bucket, key, config, content_type, metadata, {**given, **(conditions or {})})
    if isinstance(source, str | os.PathLike):
        try:
            fd, stat = await open_in_thread(source)
        except OSError as exc:
            raise S3InvalidRequestError(f"cannot read {str(source)!r}: {exc.strerror}") from None
        file = RandomAccess(fd, owned=True)
        try:
            identity = (await in_thread(os.path.realpath, source), stat.st_mtime_ns)

            def unchanged() -> None:
                now = os.fstat(fd)
                if (now.st_size, now.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                    raise S3InvalidRequestError(
                        f"{str(source)!r} changed during the upload (its size or mtime): "
                        "not completed"
                    )

            return await _upload_sized(job, file, stat.st_size, progress, identity, unchanged)
        finally:
            file.close()  # once no read of it is in flight (file_region rule 4)
    if isinstance(source, AsyncIterable):
        return await _upload_stream(job, aiter(source), progress)
    if hasattr(source, "read"):
        if hasattr(source, "readable") and not source.readable():
            raise S3InvalidRequestError(f"{source!r} is not open for reading")
        access = _random_access(source)
        if access is None:  # read in order, once: a pipe, a GzipFile, ...
            return await _upload_stream(job, _file_chunks(source), progress)
        position = source.tell()
        size = source.seek(0, os.SEEK_END) - position
        # A descriptor of our own: the caller may close theirs as soon as we return,
        # while a cancelled request's read of it is still in flight.
        reader = RandomAccess(
            access if isinstance(access, memoryview) else os.dup(access), position, owned=True
        )
        try:
            result = await _upload_sized(job, reader, size, progress, None)
        finally:
            reader.close()  # a BytesIO's buffer released: it may grow again
        source.seek(position + size)  # where reading it all would have left it
        return result
    raise S3InvalidRequestError(
        "source must be a path, a binary file object or an async iterable of bytes, "
        f"got {type(source).__name__}"
    )


def _random_access(file: IO[bytes]) -> int | memoryview | None:
    """What parts of ``file`` can be read from at offsets: the descriptor of a plain
    binary file, or a BytesIO's buffer; None for others (a GzipFile has a descriptor
    too, but of its compressed bytes, and seeking it backwards decompresses again)."""
    if isinstance(file, io.BytesIO):
        return file.getbuffer()
    raw = getattr(file, "raw", file)
    if not isinstance(raw, io.FileIO) or not file.seekable():
        return None
    file.flush()  # bytes written through the object's buffer, onto the descriptor
    return raw.fileno()


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await in_thread(file.read, 1024 * 1024):
        yield chunk


async def _upload_sized(
    job: _Job,
    file: RandomAccess,
    size: int,
    progress: Progress | None,
    identity: tuple[str, int] | None,
    unchanged: Callable[[], None] | None = None,
) -> TransferResult:
    meter, config = Meter(size, progress), job.config
    if size <= config.multipart_threshold:
        return await job.put(FileRegion(file, 0, size), meter)

    store = job.store
    limits = store.capabilities
    part_size = plan_part_size(
        size, config.part_size, max_parts=limits.max_parts, min_part_size=limits.min_part_size
    )
    journal, upload = None, None
    done: dict[int, PartInfo] = {}
    if config.resume and identity is not None:
        directory = Path(config.journal_dir) if config.journal_dir else default_journal_dir()
        journal = Journal(
            directory,
            store.endpoint.url,
            job.bucket,
            job.key,
            identity[0],
            own_directory=not config.journal_dir,
        )
        header = JournalHeader(
            store.endpoint.url,
            job.bucket,
            job.key,
            identity[0],
            size,
            identity[1],
            part_size,
            choose_checksum(store.checksum, job.choice.get("checksum", "auto")),
        )
        upload, done = await resume(store, journal, header, file, config.max_concurrency)
    if upload is None:
        upload = await job.create()
        if journal is not None:
            await in_thread(journal.start, dataclasses.replace(header, upload_id=upload.upload_id))
    upload.conditions = write_conditions(**{k: v for k, v in job.choice.items() if "if_" in k})
    upload.parts = list(done.values())
    skipped = sum(part["size"] for part in done.values())
    meter(skipped)
    log = PartLog(journal, upload, store.buffers) if journal is not None else None
    parts = _file_parts(file, size, part_size, set(done))
    result, _ = await complete_or_abort(
        upload,
        lambda group: send_parts(
            upload,
            parts,
            group,
            concurrency=config.max_concurrency,
            on_sent=meter,
            before_send=log.before_send if log else None,
            on_stored=log.stored if log else None,
        ),
        keep_on_failure=journal is not None,
        before_complete=unchanged,
    )
    if journal is not None:
        await in_thread(journal.remove)
    return TransferResult(
        etag=result["etag"], size=size, parts_count=result["parts_count"], skipped_bytes=skipped
    )


async def _upload_stream(
    job: _Job, chunks: AsyncIterator[bytes], progress: Progress | None
) -> TransferResult:
    meter, config, limits = Meter(None, progress), job.config, job.store.capabilities
    given, least = config.part_size, limits.min_part_size
    base = stream_base(given, config.expected_size, limits.max_parts, least)  # before any byte
    head = bytearray()  # up to the threshold first: a short stream is one PUT
    while len(head) <= config.multipart_threshold:
        chunk = await anext(chunks, b"")
        if not chunk:
            return await job.put(memoryview(head), meter)
        head += chunk
    upload = await job.create()  # its reply may show the endpoint's limits: read them after
    pipeline = _Pipeline(upload, base, config.max_concurrency, meter, limits.max_parts)
    result = await pipeline.run(_chain(bytes(head), chunks))
    return TransferResult(
        etag=result["etag"], size=pipeline.total, parts_count=result["parts_count"], skipped_bytes=0
    )


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
