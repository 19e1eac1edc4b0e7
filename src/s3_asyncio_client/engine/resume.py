"""Resuming an interrupted upload of a file: which stored parts may be skipped.

Rules:
1. The journal says which parts were stored, the server's ListParts which it holds;
   a part is a candidate only if both give it the same ETag and size, and that
   size is the one the file's part has.
2. A candidate is skipped only if the file still holds the bytes that were sent:
   its checksum, computed from the file now, must equal the one the server lists
   for it, else the one the journal recorded. A file can change and keep its size
   and mtime (``cp -p``, ``rsync -t`` and ``tar x`` set the mtime back), and the
   server checksums what it holds, so nothing later would notice the mix.
3. The checksum is the upload's algorithm (CRC32C by default). An upload without
   one records each part's MD5 in the journal, computed before the part is sent.
   A plain-MD5 ETag is trusted only when there is nothing else (a journal written
   by an earlier version, of an upload without checksums); with nothing to compare
   the part is sent again.
4. This reads every skipped part once, ``concurrency`` parts at once, in worker
   threads: the price of resuming.
"""

from __future__ import annotations

import base64
import dataclasses
import string
from typing import Any

from ..exceptions import S3NoSuchUploadError
from ..protocol.checksums import ChecksumAlgorithm
from ..protocol.responses import PartInfo
from ..transport.file_region import BufferPool, FileRegion, RandomAccess, in_thread
from .fanout import abort_quietly, fan_out, in_task_group
from .journal import Journal, JournalHeader
from .ports import Data, ObjectStore, UploadHandle

__all__ = ["PartLog", "resume"]


async def resume(
    store: ObjectStore,
    journal: Journal,
    header: JournalHeader,
    file: RandomAccess,
    concurrency: int,
) -> tuple[UploadHandle | None, dict[int, PartInfo]]:
    """The upload to continue (None: start a new one) and the parts to skip."""
    loaded = await in_thread(journal.load)
    if loaded is None:
        return None, {}
    old, recorded = loaded
    upload = store.attach_multipart_upload(
        old.bucket, old.key, old.upload_id or "-", checksum=old.checksum
    )
    try:
        if dataclasses.replace(header, upload_id=old.upload_id) != old:
            # The file or the settings changed: the old parts are worthless.
            await abort_quietly(upload)
            raise S3NoSuchUploadError("stale journal")
        held = {part["part_number"]: part for part in await upload.list_parts()}
    except S3NoSuchUploadError:
        await in_thread(journal.remove)
        return None, {}
    candidates = []
    for number, part in sorted(recorded.items()):
        offset = (number - 1) * header.part_size
        region = FileRegion(file, offset, min(header.part_size, header.size - offset))
        listed = held.get(number)
        if (
            listed is not None
            and (part.get("etag"), part.get("size")) == (listed["etag"], listed["size"])
            and listed["size"] == len(region)
            and len(region) > 0
        ):
            candidates.append((region, listed, part))
    return upload, await _verified(upload, store.buffers, candidates, concurrency)


async def _verified(
    upload: UploadHandle,
    pool: BufferPool,
    candidates: list[tuple[FileRegion, PartInfo, dict[str, Any]]],
    concurrency: int,
) -> dict[int, PartInfo]:
    """The candidates whose bytes in the file are still those stored (rule 2)."""
    verified: dict[int, PartInfo] = {}

    async def check(candidate: tuple[FileRegion, PartInfo, tuple[str, str]]) -> None:
        region, listed, (name, value) = candidate
        digest = (await region.digests((name,), pool))[name]
        if base64.b64encode(digest).decode() == value:
            part = PartInfo(
                part_number=listed["part_number"], etag=listed["etag"], size=len(region)
            )
            if upload.checksum is not None:
                part["checksum"] = value
            verified[part["part_number"]] = part

    checks = (
        (region, listed, expected)
        for region, listed, recorded in candidates
        if (expected := _expected(upload.checksum, listed, recorded)) is not None
    )
    await in_task_group(lambda group: fan_out(group, checks, check, concurrency=concurrency))
    return verified


def _expected(
    algorithm: ChecksumAlgorithm | None, listed: PartInfo, recorded: dict[str, Any]
) -> tuple[str, str] | None:
    """The digest a part's bytes must have, ``(algorithm, base64)``; None when
    there is nothing to compare them with (rule 3)."""
    if algorithm is not None:
        for value in (listed.get("checksum"), recorded.get("checksum")):
            if isinstance(value, str) and value:
                return algorithm, value
        return None
    md5 = recorded.get("md5")
    if isinstance(md5, str) and md5:
        return "md5", md5
    etag = listed["etag"].strip('"')
    if len(etag) == 32 and all(c in string.hexdigits for c in etag):
        return "md5", base64.b64encode(bytes.fromhex(etag)).decode()
    return None


class PartLog:
    """Records each part the server accepted in the journal, with the part's MD5
    when the upload has no checksum of its own (rule 3)."""

    def __init__(self, journal: Journal, upload: UploadHandle, pool: BufferPool) -> None:
        self._journal, self._upload, self._pool = journal, upload, pool
        self._md5: dict[int, str] = {}

    async def before_send(self, number: int, body: Data) -> None:
        """Before the part is sent: what the file holds then is what the server
        may get (read after, a change meanwhile would be taken as sent)."""
        if self._upload.checksum is None and isinstance(body, FileRegion):
            digest = (await body.digests(("md5",), self._pool))["md5"]
            self._md5[number] = base64.b64encode(digest).decode()

    async def stored(self, part: PartInfo) -> None:
        record: dict[str, Any] = dict(part)
        md5 = self._md5.pop(part["part_number"], None)
        if md5 is not None:
            record["md5"] = md5
        await in_thread(self._journal.record, record)
