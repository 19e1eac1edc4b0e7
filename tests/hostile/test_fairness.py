"""Callers share a client's connections first come, first served: under load no task
starves, and waiting for a free connection is not a connect timeout."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from polling import until
from servers import ServerInfo, s3_client

from s3_asyncio_client import RetryConfig, Timeouts
from s3_asyncio_client.transport.slots import FairSlots

CONNECTIONS = 4
TASKS = 4 * CONNECTIONS
ROUNDS = 8
ONE_ATTEMPT = RetryConfig(max_attempts=1)
# A connect timeout far shorter than the waits below for a free connection.
SHORT_CONNECT = Timeouts(connect=0.5, read=30)
STALL = 2.0


async def test_no_task_gets_two_requests_ahead_of_another(local: ServerInfo) -> None:
    """16 tasks loop on put_object over 4 connections: whenever a task completes its
    (k+2)-th request, every task has completed its k-th (an unfair pool lets the
    tasks that hold connections run away with them)."""
    bucket = "fair-" + uuid.uuid4().hex[:8]
    completed = [0] * TASKS
    spreads: list[tuple[int, list[int]]] = []  # (task, counts) after each completion

    async with s3_client(local, max_connections=CONNECTIONS) as client:
        await client.create_bucket(bucket)

        async def worker(task: int) -> None:
            for number in range(ROUNDS):
                await client.put_object(bucket, f"{task}/{number}", b"x" * 100)
                completed[task] += 1
                spreads.append((task, list(completed)))

        async with asyncio.TaskGroup() as group:
            for task in range(TASKS):
                group.create_task(worker(task))
        stored = [o["key"] async for o in client.iter_objects(bucket)]
        await client.delete_objects(bucket, stored)
        await client.delete_bucket(bucket)

    assert len(stored) == TASKS * ROUNDS
    for position, (task, counts) in enumerate(spreads):
        assert counts[task] - min(counts) <= 2, (
            f"completion {position}: task {task} finished request {counts[task]} "
            f"while a task had finished only {min(counts)} (counts {counts})"
        )


async def test_waiting_for_a_connection_is_not_a_connect_timeout(
    local: ServerInfo, bucket_name: str
) -> None:
    """One connection, held by a request the proxy stalls for 2 s: a second request
    waits for it longer than its 0.5 s connect timeout, and still succeeds."""
    slow = matching("PUT", path_contains="/slow")
    rule = FaultRule("stall", match=slow, times=1, stall_seconds=STALL)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        async with s3_client(
            local,
            endpoint_url=proxy.url,
            max_connections=1,
            timeouts=SHORT_CONNECT,
            retry=ONE_ATTEMPT,
        ) as client:
            await client.create_bucket(bucket_name)
            proxy.reset_stats()
            held = asyncio.create_task(client.put_object(bucket_name, "slow", b"slow"))
            await until(lambda: proxy.stats.requests >= 1, "the stalled PUT at the proxy")
            await client.put_object(bucket_name, "waiting", b"waited")
            await held
            assert (await client.get_object(bucket_name, "waiting"))["body"] == b"waited"
            assert (await client.get_object(bucket_name, "slow"))["body"] == b"slow"
            await client.delete_objects(bucket_name, ["slow", "waiting"])
            await client.delete_bucket(bucket_name)
        assert proxy.stats.faults["stall"] == 1


async def test_an_open_stream_holds_its_connection_until_released(
    local: ServerInfo, bucket_name: str
) -> None:
    """With one connection, a request made while a streamed body is open waits for
    the stream to be released (longer than its connect timeout), then succeeds; a
    stream closed with its body unread gives its connection back too."""
    body = b"s" * (4 * 1024 * 1024)
    async with s3_client(
        local, max_connections=1, timeouts=SHORT_CONNECT, retry=ONE_ATTEMPT
    ) as client:
        await client.create_bucket(bucket_name)
        await client.put_object(bucket_name, "big", body)
        async with client.open_object(bucket_name, "big") as stream:
            first = await stream.read(1024)
            waiting = asyncio.create_task(client.put_object(bucket_name, "next", b"next"))
            await asyncio.sleep(2 * SHORT_CONNECT.connect)
            assert not waiting.done()
        assert first == body[:1024]
        await waiting  # the stream closed with its body unread: the connection is free
        async with client.open_object(bucket_name, "big") as stream:
            assert await stream.read() == body
        info = await client.head_object(bucket_name, "next")
        assert info["content_length"] == 4
        await client.delete_objects(bucket_name, ["big", "next"])
        await client.delete_bucket(bucket_name)


async def test_a_cancelled_waiter_gives_back_nothing_it_did_not_take() -> None:
    slots = FairSlots(1)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slots.free == 0  # still held by the first acquire
    slots.release()
    assert slots.free == 1


async def test_a_slot_handed_to_a_cancelled_waiter_passes_on() -> None:
    """release() hands the slot to the first waiter; cancelled before it runs, that
    waiter passes the slot to the next one, in order."""
    slots = FairSlots(1)
    await slots.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        await slots.acquire()
        order.append(name)

    first = asyncio.create_task(take("first"))
    second = asyncio.create_task(take("second"))
    await asyncio.sleep(0)
    slots.release()  # handed to "first" ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert order == ["second"]
    assert slots.free == 0
    slots.release()
    assert slots.free == 1


async def test_slots_are_served_in_arrival_order() -> None:
    slots = FairSlots(2)
    await slots.acquire()
    await slots.acquire()
    order: list[int] = []

    async def take(number: int) -> None:
        await slots.acquire()
        order.append(number)
        slots.release()

    tasks = [asyncio.create_task(take(n)) for n in range(5)]
    await asyncio.sleep(0)
    slots.release()
    await slots.acquire()  # a newcomer queues behind the five
    order.append(-1)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4, -1]
