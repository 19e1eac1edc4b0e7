"""Downloading into a binary file object, in order: standard output, a pipe, a socket.

Rules:
1. As ``download``: the object is pinned by its HEAD (ETag, size, checksum), every
   reply is checked, a broken range is asked again from its first missing byte, and
   no range crosses a part boundary.
2. Ranges of at most ``STREAM_RANGE`` bytes are fetched ``max_concurrency`` at once
   into memory and written in order by one writer thread. A range keeps its slot
   until it is written, so at most ``max_concurrency`` ranges are held (the reorder
   window): memory is ``max_concurrency x STREAM_RANGE``, whatever the object's size
   and however slowly the output drains.
3. The writer thread feeds each part's checksum with its bytes, in order, so the
   object is verified as ``download`` verifies a file, without reading anything
   back. A stream cannot be taken back: a mismatch is raised after the last byte is
   written (a pipeline run with ``pipefail`` fails). If the part sizes guessed from
   part 1 turn out wrong, the bytes cannot be hashed again: the download is then
   unverified (with ``require_checksum``, failed), never condemned.
4. Nothing is written to disk. An error writing to the output (BrokenPipeError when
   the reader has gone) stops the download and is raised as is.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import IO, cast

from ..config import TransferConfig
from ..protocol.checksums import ChecksumAlgorithm, RunningChecksum
from ..protocol.crc import ObjectChecksum
from ..protocol.limits import plan_part_size
from ..transport.file_region import in_thread
from .fanout import fan_out, in_task_group
from .ports import ObjectStore
from .remote import digests_mismatch, fetch_range, pin, plan_ranges, settle
from .upload import Meter, Progress, TransferResult

__all__ = ["STREAM_RANGE", "download_stream"]

STREAM_RANGE = 8 * 1024 * 1024


class _Held:
    """A range's bytes, held in memory until its turn to be written."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.start = 0

    def begin(self, offset: int) -> None:
        self.start = offset  # every piece is handed over as it arrives: nothing to drop

    async def add(self, piece: bytes, last: bool) -> None:
        self.pieces.append(piece)
        self.start += len(piece)

    async def wait(self) -> None:
        pass

    def roll_back(self) -> None:
        self.pieces.clear()


class _Output:
    """Writes ranges in order, in one thread, feeding each part's checksum (rule 3)."""

    def __init__(self, file: IO[bytes], algorithm: str | None, parts: int, meter: Meter) -> None:
        self.file, self.meter = file, meter
        kind = cast("ChecksumAlgorithm | None", algorithm)  # one ``pin`` found checkable
        self.checksums = [RunningChecksum(kind) for _ in range(parts)] if kind else []
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3aio-stream")
        self.next = 0  # the index of the range to write next
        self.turns: dict[int, asyncio.Future[None]] = {}

    async def write(self, index: int, part: int, pieces: list[bytes]) -> None:
        if index != self.next:
            turn = self.turns[index] = asyncio.get_running_loop().create_future()
            try:
                await turn
            finally:
                self.turns.pop(index, None)
        await in_thread(self._emit, part, pieces, executor=self.writer)
        self.meter(sum(map(len, pieces)))
        self.next = index + 1
        if (waiting := self.turns.get(self.next)) is not None and not waiting.done():
            waiting.set_result(None)

    def _emit(self, part: int, pieces: list[bytes]) -> None:
        for piece in pieces:
            if self.checksums:
                self.checksums[part].update(piece)
            view = memoryview(piece)
            while view:  # a raw file may take less than it is given
                written = self.file.write(view)
                view = view[written:]

    async def finish(self) -> None:
        await in_thread(self.file.flush, executor=self.writer)

    def digests(self) -> list[bytes]:
        return [checksum.digest() for checksum in self.checksums]


async def download_stream(
    store: ObjectStore,
    bucket: str,
    key: str,
    file: IO[bytes],
    *,
    config: TransferConfig,
    progress: Progress | None = None,
) -> TransferResult:
    """``S3Client.download_file`` to a binary file object: see there."""
    pinned = await pin(store, bucket, key, config)
    remote, part_sizes = pinned.remote, pinned.part_sizes
    range_size = min(plan_part_size(remote.size, config.part_size, min_part_size=1), STREAM_RANGE)
    plan = plan_ranges(part_sizes, range_size)
    algorithm = pinned.expected.algorithm if pinned.expected else None
    output = _Output(file, algorithm, len(part_sizes), Meter(remote.size, progress))

    async def fetch(job: tuple[int, int, tuple[int, int]]) -> None:
        index, part, span = job
        held = _Held()
        await fetch_range(remote, span, held)
        await output.write(index, part, held.pieces)

    async def computed(expected: ObjectChecksum) -> str | None:
        return digests_mismatch(expected, output.digests(), part_sizes)

    jobs = enumerate((part, span) for part, ranges in enumerate(plan) for span in ranges)
    try:
        await in_task_group(
            lambda group: fan_out(
                group,
                ((index, part, span) for index, (part, span) in jobs),
                fetch,
                concurrency=config.max_concurrency,
            )
        )
        await output.finish()
    finally:
        output.writer.shutdown(wait=False)  # idle by now: its thread ends on its own
    verified = await settle(pinned, config, computed, None)
    result = TransferResult(
        etag=remote.etag, size=remote.size, parts_count=sum(map(len, plan)), skipped_bytes=0
    )
    if verified is not None:
        result["checksum"] = str(verified)
    return result
