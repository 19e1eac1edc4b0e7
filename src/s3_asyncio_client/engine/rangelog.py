"""Resuming a download to a file: the partial file kept beside the target and the
journal of the byte ranges it holds, written and verified.

Rules:
1. With ``TransferConfig.resume``, a download to a file path of an object larger than
   ``multipart_threshold`` (a smaller one costs more to journal than to fetch again)
   lands in a partial file of a fixed name beside the target
   (``.NAME.ID.s3aio-part``, ID from the endpoint, bucket and key), locked while in
   use (``partfile`` rule 4), and keeps a journal in ``journal_dir`` (default
   ``~/.cache/s3-asyncio-client/downloads``), named from the endpoint, bucket, key
   and the target's real path. The journal's folder and file follow the upload
   journal's rules (``journal.JournalFile``: 0700/0600, no symlink followed, header
   whole or absent, a torn last line ignored). A second download of the same
   target meanwhile finds the partial locked and runs as without resume.
2. The header pins the object (ETag, size, the checksum the server keeps) and names
   the CRC each range is recorded with: the object's own CRC algorithm, so that the
   whole object is verified from the ranges' CRCs, else CRC32 (a SHA object is
   hashed again from the file at the end, as without resume). A record is one range:
   first and last byte, CRC.
3. A range is recorded only after its bytes are written; with ``fsync``, only after
   they are synced: ranges done are recorded in batches (``CHECKPOINT`` bytes), each
   after one ``fsync`` of the file, in the writer thread, behind the writes. A
   failure or a cancellation records what was done before the file is let go; a
   SIGKILL loses at most the last batch, fetched again.
4. Resuming: the partial file must have the object's size, and each recorded range
   must still hold its bytes: its CRC is computed again from the file (the price:
   reading the skipped bytes once; without it an edited partial would pass, since
   the object's checksum is combined from the ranges' CRCs). A range that changed,
   or whose span the plan no longer has (another ``part_size``), is fetched again.
5. An object whose ETag, size or checksum differ from the journal's starts over: the
   partial is emptied, the journal begun again, and the result says ``restarted``.
6. Done: the journal is removed. Failed: journal and partial are kept, unless the
   bytes are proved wrong or of another version (S3IntegrityError, the object
   changed, or the checksum disagreed and the check could not be finished): then
   both go, so that the next run starts clean. A record says that the bytes on
   disk are those received; only the whole-object check says they are the
   object's, and it covers recorded and new ranges alike.
7. Partials and journals of downloads never run again stay until ``remove_stale``
   (or a person) removes them: a journal's header names its partial file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import TransferConfig
from ..protocol.checksums import crc_function
from ..transport.file_region import BufferPool, FileRegion, RandomAccess, in_thread
from .fanout import fan_out, in_task_group
from .journal import JournalFile, default_journal_dir, journal_name
from .partfile import PartFile, remove_unused
from .remote import Pinned

__all__ = ["CHECKPOINT", "RangeLog", "Span", "open_range_log", "remove_stale"]

CHECKPOINT = 64 * 1024 * 1024  # bytes of ranges recorded after one fsync
Span = tuple[int, int]  # first and last byte, inclusive


@dataclass(slots=True)
class RangeLog:
    """The journal of one resumable download and the ranges it holds (rules 2-5)."""

    journal: JournalFile
    header: dict[str, Any]
    fsync: bool
    recorded: dict[Span, int] = field(default_factory=dict)  # loaded, not yet verified
    restarted: bool = False
    _pending: list[dict[str, int]] = field(default_factory=list)
    _pending_bytes: int = 0

    @property
    def algorithm(self) -> str:
        return str(self.header["range_crc"])

    async def verified(
        self, file: PartFile, planned: set[Span], pool: BufferPool, concurrency: int
    ) -> dict[Span, int]:
        """The recorded ranges of the plan whose bytes the file still holds (rule 4)."""
        source, good = RandomAccess(file.fd), {}

        async def check(item: tuple[Span, int]) -> None:
            (first, last), crc = item
            region = FileRegion(source, first, last - first + 1)
            digest = (await region.digests((self.algorithm,), pool))[self.algorithm]
            if int.from_bytes(digest, "big") == crc:
                good[(first, last)] = crc

        candidates = ((span, crc) for span, crc in self.recorded.items() if span in planned)
        await in_task_group(
            lambda group: fan_out(group, candidates, check, concurrency=concurrency)
        )
        return good

    async def begin(self, file: PartFile, size: int, kept: dict[Span, int]) -> None:
        """Write the journal anew with ``kept`` only; empty the file if nothing is
        kept (the size must be ``size`` either way)."""
        records = [{"first": f, "last": la, "crc": c} for (f, la), c in sorted(kept.items())]

        def write() -> None:
            if not kept:
                os.ftruncate(file.fd, 0)  # stale bytes and blocks go
            os.ftruncate(file.fd, size)
            self.journal.start(self.header)
            if records:
                self.journal.record(*records)

        await file.run(write)

    async def written(self, file: PartFile, span: Span, crc: int) -> None:
        """``span``'s bytes are written: recorded now, or with the next batch (rule 3)."""
        self._pending.append({"first": span[0], "last": span[1], "crc": crc})
        self._pending_bytes += span[1] - span[0] + 1
        if not self.fsync or self._pending_bytes >= CHECKPOINT:
            batch, self._pending, self._pending_bytes = self._pending, [], 0
            await file.run(self._checkpoint, file.fd, batch)

    def flush(self) -> Callable[[], None]:
        """What records the ranges done, once the file is synced (``PartFile.close``)."""
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        return lambda: self.journal.record(*batch) if batch else None

    def _checkpoint(self, fd: int, batch: list[dict[str, int]]) -> None:
        if self.fsync:
            os.fdatasync(fd)
        self.journal.record(*batch)

    async def remove(self) -> None:
        await in_thread(self.journal.remove)


def _load(journal: JournalFile, header: dict[str, Any]) -> tuple[dict[Span, int], bool]:
    """The ranges a journal of this object holds, and whether one of another version
    of the object was found (rule 5)."""
    loaded = journal.read()
    if loaded is None:
        return {}, False
    old, records = loaded
    if any(old.get(name) != header[name] for name in ("etag", "size", "checksum")):
        return {}, True
    if old != header:
        return {}, False  # the same object, recorded otherwise (a CRC now fast here)
    recorded: dict[Span, int] = {}
    for record in records:
        try:
            span, crc = (int(record["first"]), int(record["last"])), int(record["crc"])
        except (KeyError, TypeError, ValueError):
            continue  # a foreign line
        if 0 <= span[0] <= span[1] < header["size"]:
            recorded[span] = crc
    return recorded, False


async def open_range_log(
    endpoint: str, bucket: str, key: str, target: Path, pinned: Pinned, config: TransferConfig
) -> tuple[PartFile, RangeLog | None]:
    """The partial file to download into and its journal, loaded (None, with a
    temporary file of its own, when another download of the target holds the
    partial: this one then runs as without resume)."""
    real = Path(await in_thread(os.path.realpath, target))
    name = f".{target.name}.{journal_name(endpoint, bucket, key)[:12]}.s3aio-part"
    file = PartFile(target, fsync=config.fsync, name=name)
    try:
        adopted = await file.adopt()
    except BaseException:
        await file.close(keep=False, leave=lambda: None)  # the partial stays as it was
        raise
    if adopted is None:
        await file.close(keep=False)  # never adopted: closes nothing, removes nothing
        return PartFile(target, fsync=config.fsync), None
    directory = Path(config.journal_dir) if config.journal_dir else default_journal_dir("downloads")
    journal = JournalFile(
        directory / f"{journal_name('download', endpoint, bucket, key, str(real))}.download",
        own_directory=not config.journal_dir,
    )
    expected, crc = pinned.expected, "crc32"
    if expected is not None and crc_function(expected.algorithm) is not None:
        crc = expected.algorithm
    header = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "target": str(real),
        "partial": str(file.path),
        "etag": pinned.remote.etag,
        "size": pinned.remote.size,
        "checksum": str(expected) if expected is not None else None,
        "range_crc": crc,
    }
    try:
        recorded, restarted = await file.run(_load, journal, header)
    except BaseException:
        await file.close(keep=False, leave=lambda: None)
        raise
    return file, RangeLog(journal, header, config.fsync, recorded, restarted)


def remove_stale(directory: Path | None = None, *, older_than: float) -> list[Path]:
    """Remove the download journals in ``directory`` (default: the default folder)
    not written for ``older_than`` seconds, and the partial files they name, unless
    a download holds one; the partial files named, now gone (blocking: run it in a
    thread)."""
    directory = directory or default_journal_dir("downloads")
    cutoff, removed = time.time() - older_than, []
    for path in sorted(directory.glob("*.download")):
        try:
            if path.lstat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        journal = JournalFile(path)
        loaded = journal.read()
        named = loaded[0].get("partial") if loaded is not None else None
        partial = Path(named) if isinstance(named, str) else None
        if partial is not None and not (
            partial.name.startswith(".") and partial.name.endswith(".s3aio-part")
        ):
            partial = None  # not a name this engine gives: not ours to remove
        if partial is None or remove_unused(partial):
            journal.remove()
            if partial is not None:
                removed.append(partial)
    return removed
