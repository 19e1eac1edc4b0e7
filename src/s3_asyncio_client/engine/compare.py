"""Whether a local file or another object holds an object's bytes, without
downloading them: the checksum S3 keeps against the same checksum of the file.

Rules:
1. The object's HEAD (with its checksum) is read as a download reads it
   (``remote.pin``): the same algorithms, full-object or composite over parts of
   the sizes the server reports.
2. The file is read once per part layout, in a worker thread; the verdict is
   ``remote.settle``'s: a match, a mismatch (an S3IntegrityError there), or nothing
   to compare with (no checksum kept that can be checked, or parts that cannot be
   told). Sizes that differ are a mismatch before anything is read.
3. Two objects compare equal only by the same checksum of the same type (the same
   algorithm, both full-object or both composite of the same part count); anything
   else cannot be told.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..config import TransferConfig
from ..exceptions import S3IntegrityError
from ..protocol.crc import ObjectChecksum, object_checksum
from ..protocol.responses import ObjectInfo
from ..transport.file_region import in_thread
from .download import _file_digests as file_digests
from .ports import ObjectStore
from .remote import digests_mismatch, pin, settle

__all__ = ["Comparison", "compare_file", "compare_objects"]


class Comparison(NamedTuple):
    """``same``: True or False, None when it cannot be told; ``info``: the object's
    HEAD (metadata included), ``checksum`` what was compared, as S3 shows it."""

    same: bool | None
    info: ObjectInfo
    checksum: str | None


async def compare_file(
    store: ObjectStore,
    bucket: str,
    key: str,
    path: str | os.PathLike[str],
    *,
    config: TransferConfig,
) -> Comparison:
    """Whether the file at ``path`` holds the object's bytes (rules 1 and 2)."""
    pinned = await pin(store, bucket, key, config)
    size = (await in_thread(os.stat, path)).st_size
    if size != pinned.remote.size:
        return Comparison(False, pinned.info, None)
    if pinned.expected is None:
        return Comparison(None, pinned.info, None)
    fd = await in_thread(os.open, path, os.O_RDONLY)
    try:

        async def mismatch(expected: ObjectChecksum, sizes: list[int]) -> str | None:
            digests = await in_thread(file_digests, fd, sizes, expected.algorithm)
            return digests_mismatch(expected, digests, sizes)

        async def computed(expected: ObjectChecksum) -> str | None:
            return await mismatch(expected, pinned.part_sizes)

        try:
            verified = await settle(pinned, config, computed, mismatch)
        except S3IntegrityError:
            return Comparison(False, pinned.info, str(pinned.expected))
    finally:
        os.close(fd)
    return Comparison(
        None if verified is None else True, pinned.info, None if verified is None else str(verified)
    )


def _checksum(info: ObjectInfo) -> ObjectChecksum | None:
    return object_checksum(
        info.get("checksums", {}), info.get("checksum_type"), info["etag"], info.get("parts_count")
    )


async def compare_objects(
    store: ObjectStore, source: tuple[str, str], target: tuple[str, str]
) -> tuple[Comparison, Comparison]:
    """Whether two objects, ``(bucket, key)`` each, hold the same bytes (rule 3);
    each side's comparison carries its own HEAD."""
    infos = [await store.head_object(b, k, checksum_mode=True) for b, k in (source, target)]
    first, second = (_checksum(info) for info in infos)
    same: bool | None = None
    if infos[0]["content_length"] != infos[1]["content_length"]:
        same = False
    elif first is not None and second is not None:
        kind = (first.algorithm, first.parts, first.ambiguous_parts)
        if kind == (second.algorithm, second.parts, second.ambiguous_parts):
            same = first.value == second.value
    shown = str(first) if same is not None and first is not None else None
    return Comparison(same, infos[0], shown), Comparison(same, infos[1], shown)
