"""A client used across ``os.fork()``: the sync facade's ``Client``, an async
``S3Client`` and the pytest plugin's fixtures, each used by a forked child for real
requests to the embedded server, and by the parent afterwards. The child gets its
own loop and connections, the parent keeps its own; nothing hangs (the helper's
bound), nothing is lost."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest
from forking import in_forked_child
from servers import ServerInfo, s3_client

from s3_asyncio_client import Client, S3Client
from s3_asyncio_client.server import LocalS3Server

MiB = 1024 * 1024
BOUND = pytest.mark.timeout(120)


@pytest.fixture
def client(local: ServerInfo, bucket_name: str) -> Iterator[Client]:
    with Client(
        local.endpoint_url,
        access_key=local.access_key,
        secret_key=local.secret_key,
        region=local.region,
    ) as c:
        c.bucket(bucket_name).create()
        yield c


def round_trip(client: Client, bucket: str, key: str, data: bytes) -> bytes:
    """Put ``data`` at ``key`` and read it back, through ``client``."""
    obj = client.bucket(bucket).object(key)
    obj.put_content(data)
    return obj.get_reader().read_all()


@BOUND
def test_the_sync_client_works_in_a_forked_child(client: Client, bucket_name: str) -> None:
    assert round_trip(client, bucket_name, "parent", b"before the fork") == b"before the fork"
    child_data = os.urandom(3 * MiB)  # several reads on the child's connection
    assert in_forked_child(round_trip, client, bucket_name, "child", child_data) == child_data
    # The parent's loop and connections were left alone: it goes on as before.
    assert round_trip(client, bucket_name, "parent", b"after the fork") == b"after the fork"
    assert client.bucket(bucket_name).object("child").get_reader().read_all() == child_data


@BOUND
def test_a_fork_in_the_middle_of_a_transfer(client: Client, bucket_name: str) -> None:
    """A thread of the parent is uploading when another forks: the child works, the
    parent's upload completes."""
    big = os.urandom(32 * MiB)
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            client.bucket(bucket_name).object("big").put_content(big)
        except BaseException as exc:  # reported below
            errors.append(exc)

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert in_forked_child(round_trip, client, bucket_name, "child", b"mid") == b"mid"
    finally:
        uploader.join(60)
    assert not uploader.is_alive()
    assert errors == []
    assert client.bucket(bucket_name).object("big").get_reader().read_all() == big


async def async_round_trip(client: S3Client, bucket: str, key: str, data: bytes) -> bytes:
    await client.put_object(bucket, key, data)
    return (await client.get_object(bucket, key))["body"]


def in_a_new_loop(client: S3Client, bucket: str, key: str, data: bytes) -> bytes:
    return asyncio.run(async_round_trip(client, bucket, key, data))


@BOUND
async def test_an_async_client_works_in_a_forked_child(local: ServerInfo, bucket_name: str) -> None:
    """The parent's connections are pooled (a request ran first); the child, in a
    loop of its own, must not touch them."""
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
        assert await async_round_trip(client, bucket_name, "k", b"parent") == b"parent"
        got = in_forked_child(in_a_new_loop, client, bucket_name, "k", b"child")
        assert got == b"child"
        assert await async_round_trip(client, bucket_name, "k", b"again") == b"again"


@BOUND
async def test_the_plugin_fixtures_in_a_forked_child(
    s3_local_server: LocalS3Server, s3_local_client: S3Client, bucket_name: str
) -> None:
    await s3_local_client.create_bucket(bucket_name)
    assert await async_round_trip(s3_local_client, bucket_name, "k", b"p") == b"p"

    async def both() -> bytes:
        # The same fixture client, and a new one for the same fixture server.
        got = await async_round_trip(s3_local_client, bucket_name, "from-fixture", b"one")
        async with S3Client(
            endpoint_url=s3_local_server.endpoint_url,
            access_key=s3_local_server.access_key,
            secret_key=s3_local_server.secret_key,
            region=s3_local_server.region,
        ) as fresh:
            return got + await async_round_trip(fresh, bucket_name, "from-new", b"two")

    def child() -> bytes:
        return asyncio.run(both())

    assert in_forked_child(child) == b"onetwo"
    # The server still serves the parent, with what the child stored.
    assert (await s3_local_client.get_object(bucket_name, "from-new"))["body"] == b"two"
    assert s3_local_server.running
