"""The one bounded fan-out, and uploads that complete or abort: against the in-memory
store, no server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from fakes import FakeStore

from s3_asyncio_client.engine.fanout import (
    complete_or_abort,
    fan_out,
    in_task_group,
    send_parts,
    upload_bytes,
)
from s3_asyncio_client.exceptions import S3InvalidRequestError, S3ServerError

pytestmark = pytest.mark.unit


class Recorder:
    """Work that counts how many run at once and which items were taken."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.running = self.peak = 0
        self.done: list[int] = []
        self.fail_on = fail_on

    async def __call__(self, item: int) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if item == self.fail_on:
                raise S3ServerError(f"item {item} failed")
            self.done.append(item)
        finally:
            self.running -= 1


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_every_item_runs_and_at_most_concurrency_at_once(concurrency: int) -> None:
    work = Recorder()
    await in_task_group(lambda g: fan_out(g, range(20), work, concurrency=concurrency))
    assert sorted(work.done) == list(range(20))
    assert work.peak == min(concurrency, 20)


async def test_items_are_taken_one_ahead_of_the_free_slots() -> None:
    """Part k+1 is read while k..k-c are on the wire, and no further: a plan of
    10,000 parts is never 10,000 tasks."""
    taken: list[int] = []
    release = asyncio.Event()
    started: list[int] = []

    def items() -> Iterator[int]:
        for item in range(10):
            taken.append(item)
            yield item

    async def work(item: int) -> None:
        started.append(item)
        await release.wait()

    async def watch() -> None:
        while len(started) < 2:
            await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0)
        assert (taken, started) == ([0, 1, 2], [0, 1])
        release.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(watch())
        await in_task_group(lambda g: fan_out(g, items(), work, concurrency=2))
    assert sorted(started) == list(range(10))


async def test_an_async_iterable_is_fanned_out_too() -> None:
    async def items() -> AsyncIterator[int]:
        for item in range(7):
            await asyncio.sleep(0)
            yield item

    work = Recorder()
    await in_task_group(lambda g: fan_out(g, items(), work, concurrency=2))
    assert sorted(work.done) == list(range(7))
    assert work.peak == 2


async def test_a_failure_stops_the_rest_and_raises_itself() -> None:
    work = Recorder(fail_on=3)
    with pytest.raises(S3ServerError, match="item 3 failed"):
        await in_task_group(lambda g: fan_out(g, range(100), work, concurrency=2))
    assert len(work.done) < 10  # the loop was cancelled, not run to the end
    assert work.running == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_upload_bytes_sends_memoryview_parts_and_completes() -> None:
    store = FakeStore()
    data = bytes(range(256)) * 100_000  # 25.6 MB: 4 parts of 8 MiB (the default)
    result = await upload_bytes(
        store,
        "b",
        "k",
        data,
        part_size=None,
        content_type="x/y",
        metadata={"a": "1"},
        max_concurrency=2,
    )
    assert (result["parts_count"], result["size"]) == (4, len(data))
    stored = store.objects[("b", "k")]
    assert (stored.data, stored.content_type, stored.metadata) == (data, "x/y", {"a": "1"})
    assert store.requests("upload_part") == [1, 2, 3, 4]
    assert store.peak <= 2


@pytest.mark.parametrize("data", ["text", 12, None, [b"a"]])
async def test_upload_bytes_refuses_what_is_not_bytes(data: object) -> None:
    store = FakeStore()
    with pytest.raises(S3InvalidRequestError, match="data must be bytes, bytearray or memoryview"):
        await upload_bytes(
            store,
            "b",
            "k",
            data,  # type: ignore[arg-type]
            part_size=None,
            content_type=None,
            metadata=None,
            max_concurrency=1,
        )
    assert store.log == []


async def test_a_failed_part_aborts_the_upload() -> None:
    store = FakeStore()
    store.fail("upload_part", 2)
    upload = await store.create_multipart_upload("b", "k")
    parts = [(n, b"x" * 10) for n in range(1, 6)]
    with pytest.raises(S3ServerError):
        await complete_or_abort(upload, lambda g: send_parts(upload, parts, g, concurrency=2))
    assert store.uploads == {}
    assert store.requests("abort") == [None]
    assert store.requests("complete") == []
    assert ("b", "k") not in store.objects


async def test_a_resumable_upload_keeps_its_parts_on_failure() -> None:
    store = FakeStore()
    store.fail("upload_part", 2)
    upload = await store.create_multipart_upload("b", "k")
    parts = [(n, b"x" * 10) for n in range(1, 4)]
    with pytest.raises(S3ServerError):
        await complete_or_abort(
            upload, lambda g: send_parts(upload, parts, g, concurrency=1), keep_on_failure=True
        )
    assert upload.is_open
    assert sorted(store.uploads[upload.upload_id].parts) == [1]
    assert store.requests("abort") == []


async def test_before_complete_may_refuse_once_every_part_is_stored() -> None:
    store = FakeStore()
    upload = await store.create_multipart_upload("b", "k")

    def refuse() -> None:
        raise S3InvalidRequestError("the source changed")

    with pytest.raises(S3InvalidRequestError, match="the source changed"):
        await complete_or_abort(
            upload,
            lambda g: send_parts(upload, [(1, b"a"), (2, b"b")], g, concurrency=2),
            before_complete=refuse,
        )
    assert store.requests("upload_part") == [1, 2]
    assert store.requests("complete") == []
    assert store.uploads == {}  # aborted


async def test_cancelled_while_parts_are_on_the_wire_aborts_and_leaves_no_task() -> None:
    store = FakeStore()
    reached = asyncio.Event()

    async def gate(operation: str, number: int | None) -> None:
        if operation == "upload_part":
            reached.set()
            await asyncio.Event().wait()  # never: the part hangs

    store.gate = gate
    task = asyncio.create_task(
        upload_bytes(
            store,
            "b",
            "k",
            b"x" * (17 * 1024 * 1024),
            part_size=None,
            content_type=None,
            metadata=None,
            max_concurrency=2,
        )
    )
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.uploads == {}
    assert store.requests("abort") == [None]
    assert asyncio.all_tasks() == {asyncio.current_task()}
