"""Server-side copies of any size: one CopyObject up to 5 GiB, UploadPartCopy beyond.

No byte passes through this process either way. The parts of a multipart copy run
in parallel (``TransferConfig.max_concurrency``); a failure aborts the upload.
A server without UploadPartCopy (``capabilities.copies_parts`` false: AIStore) gets
the larger objects through this process instead: one GET of the source, pinned to
its ETag, streamed into a multipart upload in bounded memory (see ``upload``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..config import TransferConfig
from ..exceptions import S3LengthError
from ..protocol.limits import MAX_PUT_SIZE, plan_part_size
from ..protocol.preconditions import WriteConditions, write_conditions
from ..protocol.responses import ObjectInfo
from .fanout import complete_or_abort, fan_out
from .ports import ObjectStore
from .upload import TransferResult, upload_file

__all__ = ["copy_file"]


async def copy_file(
    store: ObjectStore,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    *,
    config: TransferConfig,
    single_copy_limit: int = MAX_PUT_SIZE,
    conditions: WriteConditions | None = None,
) -> TransferResult:
    """``S3Client.copy_file``: see there; ``conditions`` are the destination's (on
    CopyObject, or on the Complete of a multipart copy)."""
    conditions = conditions or {}
    write_conditions(**conditions)  # refused before anything is sent
    info = await store.head_object(source_bucket, source_key)
    size = info["content_length"]
    if size <= single_copy_limit:
        result = await store.copy_object(source_bucket, source_key, bucket, key, **conditions)
        return TransferResult(etag=result["etag"], size=size, parts_count=0, skipped_bytes=0)
    if not store.capabilities.copies_parts:
        return await _copy_through(
            store, source_bucket, source_key, bucket, key, info, config, conditions
        )
    limits = store.capabilities
    part_size = plan_part_size(
        size,
        config.part_size or 512 * 1024 * 1024,
        max_parts=limits.max_parts,
        min_part_size=limits.min_part_size,
    )
    upload = await store.create_multipart_upload(
        bucket, key, content_type=info["content_type"], metadata=info["metadata"], **conditions
    )

    async def copy_part(part: tuple[int, int]) -> None:
        number, first = part
        last = min(first + part_size, size) - 1
        await upload.upload_part_copy(number, source_bucket, source_key, byte_range=(first, last))

    parts = enumerate(range(0, size, part_size), start=1)
    completed, _ = await complete_or_abort(
        upload, lambda group: fan_out(group, parts, copy_part, concurrency=config.max_concurrency)
    )
    return TransferResult(
        etag=completed["etag"], size=size, parts_count=completed["parts_count"], skipped_bytes=0
    )


async def _copy_through(
    store: ObjectStore,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    info: ObjectInfo,
    config: TransferConfig,
    conditions: WriteConditions,
) -> TransferResult:
    """The copy as a download streamed into an upload, for servers without
    UploadPartCopy. A source that changes meanwhile (If-Match) or arrives short
    fails the upload before it is completed, so it is aborted."""
    size = info["content_length"]

    async def source() -> AsyncIterator[bytes]:
        received = 0
        async with store.open_object(source_bucket, source_key, if_match=info["etag"]) as reply:
            while piece := await reply.read_chunk():
                received += len(piece)
                yield piece
        if received != size:
            raise S3LengthError(
                f"copy source sent {received} bytes of {size}: not completed",
                value=str(received),
                bucket=source_bucket,
                key=source_key,
            )

    return await upload_file(
        store,
        bucket,
        key,
        source(),
        config=config,
        content_type=info["content_type"],
        metadata=info["metadata"],
        conditions=conditions,
    )
