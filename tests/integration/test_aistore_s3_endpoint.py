"""The client on AIStore's S3 endpoint, emulated over real sockets: a fault proxy in
front of the embedded server plays AIStore's gateway, answering every object request
with 307 TemporaryRedirect (``Server: AIStore``) to the server that holds the data.

The client must follow those (re-signed, the body sent again, bounded), and respect
what AIStore lacks: parts beyond 9,999, UploadPartCopy, gaps in part numbers; and it
may send parts under 5 MiB."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, FaultRule
from servers import ServerInfo, s3_client

from s3_asyncio_client import (
    RetryConfig,
    S3Client,
    S3ClientError,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchKeyError,
    TransferConfig,
)
from s3_asyncio_client.engine.copy import copy_file

MiB = 1024 * 1024
AIS_HEADERS = (("Server", "AIStore"),)
FAST = RetryConfig(max_attempts=2, base_delay=0.01, throttle_delay=0.01)
CONFIG = TransferConfig(
    part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=2, resume=False, fsync=False
)


def object_request(method: str, path_qs: str) -> bool:
    """What AIStore's gateway redirects: requests on an object (``/bucket/key``)."""
    return len(path_qs.partition("?")[0].strip("/").split("/", 1)) == 2


def redirects(proxy: FaultProxy) -> list[tuple[str, str]]:
    """(method, path and query) of the requests the gateway redirected."""
    return [(method, path) for action, method, path in proxy.stats.fault_log]


@pytest.fixture
def gateway(local: ServerInfo) -> Iterator[FaultProxy]:
    rule = FaultRule("redirect", match=object_request, headers=AIS_HEADERS)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        yield proxy


@pytest.fixture
async def direct(local: ServerInfo, bucket_name: str) -> AsyncIterator[S3Client]:
    """A client of the embedded server itself, with the test's bucket."""
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
        yield client


def via(local: ServerInfo, gateway: FaultProxy, **options: object) -> S3Client:
    return s3_client(local, endpoint_url=gateway.url, retry=FAST, **options)  # type: ignore[no-any-return]


async def test_object_requests_follow_the_gateways_redirects(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str
) -> None:
    data = os.urandom(300_000)
    async with via(local, gateway) as client:
        assert client.capabilities.aistore is False  # a plain URL: not known yet
        await client.put_object(bucket_name, "a/b.bin", data)
        assert client.capabilities.aistore is True  # the 307's Server header told
        assert client.capabilities.max_parts == 9_999
        assert (await client.get_object(bucket_name, "a/b.bin"))["body"] == data
        assert (await client.head_object(bucket_name, "a/b.bin"))["content_length"] == len(data)
    assert (await direct.get_object(bucket_name, "a/b.bin"))["body"] == data
    methods = [method for method, _ in redirects(gateway)]
    assert methods == ["PUT", "GET", "HEAD"]
    assert gateway.stats.request_bytes_forwarded == 0  # the body went to the server itself


async def test_file_parts_are_sent_again_to_the_new_url(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str, tmp_path: Path
) -> None:
    data = os.urandom(11 * MiB + 5)
    source, target = tmp_path / "source", tmp_path / "target"
    source.write_bytes(data)
    seen: list[int] = []
    async with via(local, gateway, flavor="aistore") as client:
        result = await client.upload_file(
            bucket_name, "big", source, config=CONFIG, progress=lambda done, _: seen.append(done)
        )
        assert (result["size"], result["parts_count"]) == (len(data), 3)
        assert seen[-1] == len(data)  # bytes sent to the gateway were taken back
        await client.download_file(bucket_name, "big", target, config=CONFIG)
    assert target.read_bytes() == data
    parts = [method for method, path in redirects(gateway) if "partNumber=" in path]
    assert parts[:3] == ["PUT"] * 3  # each part went to the gateway, then to the server


async def test_without_aistore_a_redirect_is_the_error_it_is(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str
) -> None:
    async with via(local, gateway, flavor="s3") as client:
        with pytest.raises(S3ClientError) as caught:
            await client.put_object(bucket_name, "k", b"never stored")
    assert (caught.value.status_code, caught.value.error_code) == (307, "TemporaryRedirect")
    with pytest.raises(S3NoSuchKeyError):
        await direct.head_object(bucket_name, "k")


@pytest.mark.parametrize("loop", [True, False], ids=["redirect-loop", "non-http-location"])
async def test_redirects_are_bounded_and_http_only(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str, loop: bool
) -> None:
    """A gateway that sends the client back to itself is followed 3 times, then its
    307 is the error; a Location that is not http(s) is never followed."""

    def location(path_qs: str) -> str:
        return gateway.url + path_qs if loop else "file:///etc/passwd"

    gateway.set_rules(
        [FaultRule("redirect", match=object_request, headers=AIS_HEADERS, location=location)]
    )
    async with via(local, gateway, flavor="aistore") as client:
        with pytest.raises(S3ClientError) as caught:
            await client.put_object(bucket_name, "k", b"never stored")
    assert (caught.value.status_code, caught.value.error_code) == (307, "TemporaryRedirect")
    assert gateway.stats.faults["redirect"] == (4 if loop else 1)
    with pytest.raises(S3NoSuchKeyError):
        await direct.head_object(bucket_name, "k")


async def test_parts_under_5_mib_complete(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str
) -> None:
    """AIStore sets no minimum part size: the client's 5 MiB check is off there."""
    async with via(local, gateway, flavor="aistore") as client:
        upload = await client.create_multipart_upload(bucket_name, "small")
        await upload.upload_part(1, b"a" * 1000)
        await upload.upload_part(2, b"b" * 10)
        result = await upload.complete()
    assert (result["parts_count"], result["size"]) == (2, 1010)
    assert (await direct.get_object(bucket_name, "small"))["body"] == b"a" * 1000 + b"b" * 10


async def test_what_aistore_lacks_is_refused_before_it_is_sent(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str
) -> None:
    """Part 10,000, UploadPartCopy (AIStore would take it for a whole CopyObject onto
    the key) and a completion with a gap: typed errors, nothing sent, nothing stored."""
    await direct.put_object(bucket_name, "source", b"source bytes")
    async with via(local, gateway, flavor="aistore") as client:
        upload = await client.create_multipart_upload(bucket_name, "target")
        with pytest.raises(S3InvalidRequestError, match=r"part number 10000 is over .* 9999"):
            await upload.upload_part(10_000, b"x")
        with pytest.raises(S3InvalidRequestError, match="UploadPartCopy is not supported"):
            await upload.upload_part_copy(1, bucket_name, "source")
        await upload.upload_part(1, b"one")
        await upload.upload_part(3, b"three")
        with pytest.raises(S3InvalidPartError, match="every part from 1 to 3; missing: 2"):
            await upload.complete()
        await upload.abort()
    sent = redirects(gateway)
    assert [m for m, p in sent if "partNumber=" in p] == ["PUT", "PUT"]  # parts 1 and 3
    assert not any("partNumber=10000" in p for _, p in sent)
    assert not any(m == "POST" and "uploadId=" in p for m, p in sent)  # no completion
    with pytest.raises(S3NoSuchKeyError):
        await direct.head_object(bucket_name, "target")


async def test_a_large_copy_reads_and_writes_through_the_client(
    local: ServerInfo, gateway: FaultProxy, direct: S3Client, bucket_name: str
) -> None:
    data = os.urandom(6 * MiB + 3)
    await direct.put_object(bucket_name, "src", data, content_type="text/x-demo")
    async with via(local, gateway, flavor="aistore") as client:
        result = await copy_file(
            client, bucket_name, "src", bucket_name, "dst", config=CONFIG, single_copy_limit=MiB
        )
    assert (result["size"], result["parts_count"]) == (len(data), 2)
    copied = await direct.get_object(bucket_name, "dst")
    assert (copied["body"], copied["content_type"]) == (data, "text/x-demo")
    assert ("GET", f"/{bucket_name}/src") in redirects(gateway)  # a GET, not UploadPartCopy
