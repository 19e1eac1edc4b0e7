"""64 concurrent clients doing mixed PUT/GET/LIST against one server, then a full
read-back: nothing lost, nothing torn, every key holds its last written value."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3_asyncio_client import S3Client, S3NoSuchKeyError
from s3_asyncio_client.server import LocalS3Server

CLIENTS = 64
OPS_PER_CLIENT = 60
TIME_BUDGET = 10.0  # seconds of load, whichever ends first
SHARED_KEYS = 8


def value(writer: int, sequence: int) -> bytes:
    """A self-checking body: header, random filler, SHA-256 of both."""
    head = f"{writer}:{sequence}:".encode()
    payload = head + os.urandom(random.randint(0, 4096))
    return payload + hashlib.sha256(payload).digest()


def intact(body: bytes) -> bool:
    return hashlib.sha256(body[:-32]).digest() == body[-32:]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalS3Server]:
    with LocalS3Server(tmp_path / "root") as running:
        yield running


async def worker(server: LocalS3Server, index: int, deadline: float, last: dict[str, bytes]) -> int:
    rng = random.Random(index)
    done = 0
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region="us-east-1",
        max_connections=2,
    ) as client:
        for sequence in range(OPS_PER_CLIENT):
            if time.monotonic() > deadline:
                break
            roll = rng.random()
            own = f"own/{index:02d}/{rng.randrange(5)}"
            if roll < 0.45:
                body = value(index, sequence)
                await client.put_object("load", own, body)
                last[own] = body
            elif roll < 0.55:
                shared = f"shared/{rng.randrange(SHARED_KEYS)}"
                await client.put_object("load", shared, value(index, sequence))
            elif roll < 0.85:
                key = own if rng.random() < 0.5 else f"shared/{rng.randrange(SHARED_KEYS)}"
                try:
                    got = (await client.get_object("load", key))["body"]
                except S3NoSuchKeyError:
                    assert key not in last
                else:
                    assert intact(got), key
                    if key in last:
                        assert got == last[key]
            else:
                page = await client.list_objects("load", prefix="own/", max_keys=50)
                keys = [o["key"] for o in page["contents"]]
                assert keys == sorted(keys)
            done += 1
    return done


async def test_concurrent_mixed_load(server: LocalS3Server) -> None:
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region="us-east-1",
    ) as client:
        await client.create_bucket("load")
        last: dict[str, bytes] = {}
        deadline = time.monotonic() + TIME_BUDGET
        counts = await asyncio.gather(*(worker(server, i, deadline, last) for i in range(CLIENTS)))
        print(
            "operations:",
            sum(counts),
            "in",
            round(TIME_BUDGET - (deadline - time.monotonic()), 2),
            "s",
        )
        assert sum(counts) >= CLIENTS * 10  # real load happened
        listed = {o["key"]: o async for o in client.iter_objects("load")}
        assert set(last) <= set(listed)
        for key, expected in last.items():
            got = await client.get_object("load", key)
            assert got["body"] == expected, key
            assert listed[key]["size"] == len(expected)
            assert listed[key]["etag"] == f'"{hashlib.md5(expected).hexdigest()}"'
        for key in listed:
            if key.startswith("shared/"):
                assert intact((await client.get_object("load", key))["body"]), key
    leftovers = list((server.root / "tmp").iterdir())
    blobs = sum(1 for p in (server.root / "blobs").rglob("*") if p.is_file())
    assert leftovers == []
    assert blobs == len(listed)  # every replaced version was removed
