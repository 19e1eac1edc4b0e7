"""Many keys: parallel DeleteObjects batches fed by a listing, and the embedded server
listing and deleting a bucket of ``S3AIO_SCALE_KEYS`` keys (default 20,000, a few
seconds; 1000000 for the full run) page by page to the end."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from faultproxy import FaultProxy, FaultRule, Reply, matching
from manykeys import FOLDER_SIZE, key_names, scale_keys, seed_objects
from rawhttp import signed
from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY, ServerInfo, s3_client

from s3_asyncio_client import S3AccessDeniedError, S3Client, S3InvalidRequestError
from s3_asyncio_client.server import LocalS3Server

pytestmark = pytest.mark.scale

DELETES = matching("POST", query_has="delete")
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
KEY = re.compile(rb"<Key>(.*?)</Key>")
PREFIX = re.compile(rb"<Prefix>(d.*?)</Prefix>")  # the listing's own <Prefix> is empty


def counting_deletes() -> FaultRule:
    """A rule that leaves DeleteObjects replies as they are: its count is theirs."""
    return FaultRule("rewrite", match=DELETES, rewrite=lambda reply: reply)


async def put_empty(client: S3Client, bucket: str, keys: list[str]) -> None:
    limit = asyncio.Semaphore(32)

    async def one(key: str) -> None:
        async with limit:
            await client.put_object(bucket, key, b"")

    await asyncio.gather(*(one(key) for key in keys))


@pytest.fixture(params=["local", "seaweedfs"])
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


async def test_keys_from_a_listing_are_deleted_in_parallel_batches(
    server: ServerInfo, bucket_name: str
) -> None:
    keys = list(key_names(5_100))
    async with s3_client(server, region="us-east-1") as client:
        await client.create_bucket(bucket_name)
        await put_empty(client, bucket_name, keys)
        with FaultProxy(server.endpoint_url, rules=[counting_deletes()]) as proxy:
            async with s3_client(server, endpoint_url=proxy.url, region="us-east-1") as via:
                listed = (item["key"] async for item in via.iter_objects(bucket_name))
                batches = [batch async for batch in via.delete_keys(bucket_name, listed)]
            assert proxy.stats.faults["rewrite"] == 6  # ceil(5,100 / 1,000) requests
        assert sorted(batch.number for batch in batches) == list(range(6))
        assert sorted(batch.sent for batch in batches) == [100] + [1000] * 5
        assert sorted(key for batch in batches for key in batch.deleted) == keys
        assert [batch.errors for batch in batches] == [[]] * 6
        assert [item async for item in client.iter_objects(bucket_name)] == []
        await client.delete_bucket(bucket_name)


async def test_per_key_errors_are_reported_with_their_batch(
    local: ServerInfo, bucket_name: str
) -> None:
    keys = list(key_names(2_500))

    def refuse_one(reply: Reply) -> Reply:  # a server that keeps one key of a batch
        reply.body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="{S3_NAMESPACE}">'
            f"<Error><Key>{keys[123]}</Key><Code>AccessDenied</Code>"
            "<Message>Access Denied</Message></Error></DeleteResult>"
        ).encode()
        reply.set_header("Content-Length", str(len(reply.body)))
        return reply

    rules = [FaultRule("rewrite", match=DELETES, times=1, rewrite=refuse_one), counting_deletes()]
    async with s3_client(local, region="us-east-1") as client:
        await client.create_bucket(bucket_name)
        with FaultProxy(local.endpoint_url, rules=rules) as proxy:
            async with s3_client(local, endpoint_url=proxy.url, region="us-east-1") as via:
                # One in flight: the first request, batch 0, is the one answered so.
                batches = [b async for b in via.delete_keys(bucket_name, keys, concurrency=1)]
                result = await via.delete_objects(bucket_name, iter(keys))
            assert sum(proxy.stats.faults.values()) == 6
        error = {"key": keys[123], "code": "AccessDenied", "message": "Access Denied"}
        assert [(b.number, b.sent, b.deleted, b.errors) for b in batches] == [
            (0, 1000, keys[:123] + keys[124:1000], [error]),
            (1, 1000, keys[1000:2000], []),
            (2, 500, keys[2000:], []),
        ]
        assert result == {"deleted": keys, "errors": []}  # in key order, every batch
        await client.delete_bucket(bucket_name)


async def test_a_refused_request_stops_the_batches_and_raises(
    local: ServerInfo, bucket_name: str
) -> None:
    def refuse(reply: Reply) -> Reply:
        reply.status = 403
        reply.body = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied</Message></Error>"
        )
        reply.set_header("Content-Length", str(len(reply.body)))
        return reply

    keys = list(key_names(3_000))
    rules = [FaultRule("rewrite", match=DELETES, times=1, rewrite=refuse)]
    async with s3_client(local, region="us-east-1") as client:
        await client.create_bucket(bucket_name)
        with FaultProxy(local.endpoint_url, rules=rules) as proxy:
            async with s3_client(local, endpoint_url=proxy.url, region="us-east-1") as via:
                with pytest.raises(S3AccessDeniedError) as caught:
                    async for _ in via.delete_keys(bucket_name, keys, concurrency=1):
                        pass
            stats = proxy.stats
        assert caught.value.error_code == "AccessDenied"
        # The first request was refused: no other was sent, none is left in flight.
        assert (stats.requests, stats.handled, stats.faults["rewrite"]) == (1, 1, 1)
        await client.delete_bucket(bucket_name)


async def test_a_string_is_not_taken_for_its_characters(local: ServerInfo) -> None:
    async with s3_client(local, region="us-east-1") as client:
        with pytest.raises(S3InvalidRequestError, match="got the string 'key'"):
            async for _ in client.delete_keys("bucket", "key"):
                pass


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerInfo, int]]:
    """An embedded server whose bucket "many" holds ``scale_keys()`` empty objects,
    stored through its index before it starts."""
    root: Path = tmp_path_factory.mktemp("many")
    count = seed_objects(root, "many", key_names(scale_keys()))
    with LocalS3Server(
        root, access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY, durable=False
    ) as server:
        info = ServerInfo(
            name="many",
            endpoint_url=server.endpoint_url,
            access_key=TEST_ACCESS_KEY,
            secret_key=TEST_SECRET_KEY,
            checks_signatures=True,
            min_part_size=0,
        )
        yield info, count


async def test_a_large_bucket_lists_to_the_end_in_key_order(many: tuple[ServerInfo, int]) -> None:
    info, count = many
    async with s3_client(info, region="us-east-1") as client:
        pages = client.iter_object_pages("many")
        sizes = [len(page["contents"]) async for page in pages]
        assert sizes == [1000] * (count // 1000) + ([count % 1000] if count % 1000 else [])
        expected = key_names(count)
        async for item in client.iter_objects("many"):
            assert item["key"] == next(expected)
        assert next(expected, None) is None
        folders = client.iter_object_pages("many", delimiter="/")
        prefixes = [p async for page in folders for p in page["common_prefixes"]]
        assert prefixes == [f"d{n:05d}/" for n in range(math.ceil(count / FOLDER_SIZE))]


def v1_pages(info: ServerInfo, query: str) -> Iterator[bytes]:
    """Every ListObjects (V1) page of bucket "many", following markers: NextMarker
    when sent, else the last key, as S3 clients do."""
    marker = ""
    while True:
        reply = signed(info, "GET", f"/many?{query}&marker={quote(marker, safe='')}")
        assert reply.status == 200, reply.body[:300]
        yield reply.body
        if b"<IsTruncated>true</IsTruncated>" not in reply.body:
            return
        found = (
            re.search(rb"<NextMarker>(.*?)</NextMarker>", reply.body)
            or list(re.finditer(rb"<Key>(.*?)</Key>", reply.body))[-1]
        )
        marker = found.group(1).decode()


def test_a_large_bucket_lists_to_the_end_with_v1_markers(many: tuple[ServerInfo, int]) -> None:
    info, count = many
    keys = [key for page in v1_pages(info, "max-keys=1000") for key in KEY.findall(page)]
    assert keys == [name.encode() for name in key_names(count)]
    # Each NextMarker is a common prefix: the next page starts past all of its keys.
    prefixes = [
        p for page in v1_pages(info, "delimiter=/&max-keys=7") for p in PREFIX.findall(page)
    ]
    assert prefixes == [f"d{n:05d}/".encode() for n in range(math.ceil(count / FOLDER_SIZE))]


async def test_a_large_bucket_is_emptied_from_its_listing(many: tuple[ServerInfo, int]) -> None:
    info, count = many
    with FaultProxy(info.endpoint_url, rules=[counting_deletes()]) as proxy:
        async with s3_client(info, endpoint_url=proxy.url, region="us-east-1") as client:
            listed = (item["key"] async for item in client.iter_objects("many"))
            deleted = 0
            async for batch in client.delete_keys("many", listed):
                assert batch.errors == []
                deleted += batch.succeeded
            assert deleted == count
            assert [item async for item in client.iter_objects("many")] == []
        assert proxy.stats.faults["rewrite"] == math.ceil(count / 1000)
