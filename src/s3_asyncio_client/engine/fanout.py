"""Structured concurrency for transfers: one TaskGroup per transfer, work items run
at most N at once (``fan_out``, the one place that bounds them), and an upload
completed when every part is stored or aborted (shielded from cancellation) when
anything fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

from ..exceptions import S3Error
from ..protocol.http import Body
from ..protocol.limits import check_int, plan_part_size
from ..protocol.responses import PartInfo
from .ports import Data, ObjectStore, UploadHandle, UploadResult, check_data

__all__ = [
    "abort_quietly",
    "complete_or_abort",
    "fan_out",
    "first_error",
    "in_task_group",
    "send_parts",
    "upload_bytes",
]

T = TypeVar("T")


def first_error(error: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups from a TaskGroup."""
    while isinstance(error, BaseExceptionGroup):
        inner = [e for e in error.exceptions if not isinstance(e, asyncio.CancelledError)]
        error = (inner or list(error.exceptions))[0]
    return error


async def abort_quietly(upload: UploadHandle) -> None:
    """Abort, shielded from cancellation; a failure to abort is not the error to report."""
    task = asyncio.ensure_future(upload.abort())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
    except S3Error:
        pass


async def in_task_group(start: Callable[[asyncio.TaskGroup], Awaitable[T]]) -> T:
    """Run ``start(group)``, which starts tasks in a TaskGroup, and wait for them all.

    A failure raises the first real error, not an ExceptionGroup.
    """
    try:
        async with asyncio.TaskGroup() as group:
            return await start(group)
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None


async def fan_out(
    group: asyncio.TaskGroup,
    items: Iterable[T] | AsyncIterable[T],
    work: Callable[[T], Awaitable[object]],
    *,
    concurrency: int,
) -> None:
    """``work(item)`` for every item, each a task in ``group``, at most
    ``concurrency`` at once.

    The next item is taken before a slot is free, so part k+1 is read while parts
    k..k-c are on the wire; and no more tasks exist than slots, so a plan of 10,000
    parts is never 10,000 waiting tasks. A failed task cancels the group, and with
    it this loop.
    """
    slots = asyncio.Semaphore(concurrency)

    async def run(item: T) -> None:
        try:
            await work(item)
        finally:
            slots.release()

    async def start(item: T) -> None:
        await slots.acquire()
        group.create_task(run(item))

    if isinstance(items, AsyncIterable):
        async for item in items:
            await start(item)
    else:
        for item in items:
            await start(item)


async def complete_or_abort(
    upload: UploadHandle,
    start: Callable[[asyncio.TaskGroup], Awaitable[T]],
    *,
    keep_on_failure: bool = False,
    before_complete: Callable[[], None] | None = None,
) -> tuple[UploadResult, T]:
    """Start the part tasks (``start(group)``), wait for them, complete the upload
    (``before_complete()`` may refuse, by raising, once every part is stored).

    On any failure or cancellation the upload is aborted (shielded), unless
    ``keep_on_failure`` (a resumable upload keeps its parts).
    """
    try:
        value = await in_task_group(start)
        if before_complete is not None:
            before_complete()
        return await upload.complete(), value
    except BaseException:
        if not keep_on_failure and upload.is_open:
            await abort_quietly(upload)
        raise


async def send_parts(
    upload: UploadHandle,
    parts: Iterable[tuple[int, Data]],
    group: asyncio.TaskGroup,
    *,
    concurrency: int,
    on_sent: Callable[[int], None] | None = None,
    before_send: Callable[[int, Data], Awaitable[None]] | None = None,
    on_stored: Callable[[PartInfo], Awaitable[None]] | None = None,
) -> None:
    """Upload every ``(part number, body)`` of ``parts`` as a task in ``group``, at most
    ``concurrency`` at once; ``before_send(number, body)`` before each is sent,
    ``on_stored(part)`` after the server accepted it."""

    async def send(item: tuple[int, Data]) -> None:
        number, body = item
        if before_send is not None:
            await before_send(number, body)
        part = await upload.upload_part(number, body, on_sent=on_sent)
        if on_stored is not None:
            await on_stored(part)

    await fan_out(group, parts, send, concurrency=concurrency)


async def upload_bytes(
    store: ObjectStore,
    bucket: str,
    key: str,
    data: Body,
    *,
    part_size: int | None,
    content_type: str | None,
    metadata: Mapping[str, str] | None,
    max_concurrency: int,
) -> UploadResult:
    """``S3Client.upload_file_multipart``: in-memory data, parts as memoryviews."""
    check_data(data, regions=False)
    check_int(max_concurrency, "max_concurrency", 1)
    view = memoryview(data).cast("B")
    size = len(view)
    limits = store.capabilities
    part_size = plan_part_size(
        size, part_size, max_parts=limits.max_parts, min_part_size=limits.min_part_size
    )
    upload = await store.create_multipart_upload(
        bucket, key, content_type=content_type, metadata=metadata
    )
    parts = (
        (number, view[offset : offset + part_size])
        for number, offset in enumerate(range(0, max(size, 1), part_size), start=1)
    )
    result, _ = await complete_or_abort(
        upload, lambda group: send_parts(upload, parts, group, concurrency=max_concurrency)
    )
    return result
