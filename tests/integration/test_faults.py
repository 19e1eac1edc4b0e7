"""Retries, timeouts and lost replies, injected by a proxy between us and SeaweedFS."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo

from s3_asyncio_client import (
    RetryConfig,
    S3Client,
    S3ConnectionError,
    S3NoSuchKeyError,
    S3ServerError,
    S3SlowDownError,
    S3TimeoutError,
    Timeouts,
)

MiB = 1024 * 1024
FAST = RetryConfig(max_attempts=3, base_delay=0.01, throttle_delay=0.01)
PUT_OBJECT = matching("PUT", path_contains="/obj")
COMPLETE = matching("POST", query_has="uploadId")
UPLOAD_PART = matching("PUT", query_has="partNumber")


@pytest.fixture
def proxy(seaweedfs: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(seaweedfs.endpoint_url, seed=7) as p:
        yield p


def make_client(info: ServerInfo, proxy: FaultProxy, **options: object) -> S3Client:
    options.setdefault("retry", FAST)
    return S3Client(
        access_key=info.access_key,
        secret_key=info.secret_key,
        endpoint_url=proxy.url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def bucket(seaweedfs: ServerInfo, bucket_name: str) -> str:
    async with S3Client(
        access_key=seaweedfs.access_key,
        secret_key=seaweedfs.secret_key,
        endpoint_url=seaweedfs.endpoint_url,
    ) as c:
        await c.create_bucket(bucket_name)
    return bucket_name


@pytest.mark.parametrize("action", ["status500", "status503slowdown", "reset"])
async def test_transient_failures_are_retried(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str, action: str
) -> None:
    proxy.set_rules([FaultRule(action, match=PUT_OBJECT, times=2)])  # type: ignore[arg-type]
    async with make_client(seaweedfs, proxy) as client:
        await client.put_object(bucket, "obj", b"payload")
        assert (await client.get_object(bucket, "obj"))["body"] == b"payload"
    assert proxy.stats.faults[action] == 2


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("status500", S3ServerError),
        ("status503slowdown", S3SlowDownError),
        ("reset", S3ConnectionError),
    ],
)
async def test_attempts_are_bounded(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str, action: str, error: type
) -> None:
    proxy.set_rules([FaultRule(action, match=PUT_OBJECT)])  # type: ignore[arg-type]
    async with make_client(seaweedfs, proxy) as client:
        with pytest.raises(error) as caught:
            await client.put_object(bucket, "obj", b"payload")
    assert caught.value.key == "obj"
    assert proxy.stats.faults[action] == 3  # the default: 3 attempts in all


async def test_one_attempt_means_no_retry(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    proxy.set_rules([FaultRule("status500", match=PUT_OBJECT, times=1)])
    async with make_client(seaweedfs, proxy, retry=RetryConfig(max_attempts=1)) as client:
        with pytest.raises(S3ServerError):
            await client.put_object(bucket, "obj", b"payload")
    assert proxy.stats.requests == 1


async def test_client_errors_are_not_retried(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    async with make_client(seaweedfs, proxy) as client:
        with pytest.raises(S3NoSuchKeyError):
            await client.get_object(bucket, "missing")
    assert proxy.stats.requests == 1


async def test_retry_budget_stops_a_storm(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    proxy.set_rules([FaultRule("status500", match=PUT_OBJECT)])
    retry = RetryConfig(max_attempts=10, base_delay=0.001, budget=12)
    async with make_client(seaweedfs, proxy, retry=retry) as client:
        for _ in range(2):
            with pytest.raises(S3ServerError):
                await client.put_object(bucket, "obj", b"x")
    # 12 tokens pay for two retries of 5: three requests, then one (budget spent).
    assert proxy.stats.faults["status500"] == 4


async def test_read_timeout_then_retry(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    proxy.set_rules([FaultRule("stall", match=PUT_OBJECT, times=1, stall_seconds=3)])
    timeouts = Timeouts(connect=5, read=0.5)
    async with make_client(seaweedfs, proxy, timeouts=timeouts) as client:
        await client.put_object(bucket, "obj", b"after a stall")
        assert (await client.get_object(bucket, "obj"))["body"] == b"after a stall"
    proxy.set_rules([FaultRule("stall", match=PUT_OBJECT, stall_seconds=3)])
    retry = RetryConfig(max_attempts=1)
    async with make_client(seaweedfs, proxy, timeouts=timeouts, retry=retry) as client:
        with pytest.raises(S3TimeoutError):
            await client.put_object(bucket, "obj", b"never")


async def test_truncated_reply_body_is_retried(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    body = os.urandom(2 * MiB)
    async with make_client(seaweedfs, proxy) as client:
        await client.put_object(bucket, "obj", body)
        proxy.set_rules(
            [FaultRule("truncate", match=matching("GET", path_contains="/obj"), times=1)]
        )
        assert (await client.get_object(bucket, "obj"))["body"] == body
    assert proxy.stats.faults["truncate"] == 1


async def test_lost_complete_reply_still_succeeds(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    """The server completed the upload but the reply was lost; the retry gets
    NoSuchUpload; the object is there with the expected ETag: success."""
    data = os.urandom(11 * MiB)
    proxy.set_rules([FaultRule("drop_reply", match=COMPLETE, times=1)])
    async with make_client(seaweedfs, proxy) as client:
        result = await client.upload_file_multipart(bucket, "obj", data, part_size=5 * MiB)
        assert result["parts_count"] == 3
        assert result["etag"].endswith('-3"')
        assert (await client.get_object(bucket, "obj"))["body"] == data
    assert proxy.stats.faults["drop_reply"] == 1


async def test_complete_200_with_error_body_is_retried(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    data = os.urandom(6 * MiB)
    proxy.set_rules([FaultRule("error_in_200", match=COMPLETE, times=1)])
    async with make_client(seaweedfs, proxy) as client:
        await client.upload_file_multipart(bucket, "obj", data, part_size=5 * MiB)
        assert (await client.get_object(bucket, "obj"))["body"] == data
    assert proxy.stats.faults["error_in_200"] == 1


async def test_complete_200_with_error_body_is_an_error(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    proxy.set_rules([FaultRule("error_in_200", match=COMPLETE)])
    async with make_client(seaweedfs, proxy) as client:
        upload = await client.create_multipart_upload(bucket, "obj")
        await upload.upload_part(1, b"only part")
        with pytest.raises(S3ServerError) as caught:
            await upload.complete()
        assert caught.value.error_code == "InternalError"
        assert caught.value.status_code == 200
        await upload.abort()


async def test_parallel_parts_survive_random_faults(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    data = os.urandom(30 * MiB + 17)
    proxy.set_rules(
        [
            FaultRule("reset", match=UPLOAD_PART, probability=0.2),
            FaultRule("status503slowdown", match=UPLOAD_PART, probability=0.2),
        ]
    )
    retry = RetryConfig(max_attempts=8, base_delay=0.01, throttle_delay=0.01)
    async with make_client(seaweedfs, proxy, retry=retry) as client:
        result = await client.upload_file_multipart(
            bucket, "obj", data, part_size=5 * MiB, max_concurrency=4
        )
        assert result["parts_count"] == 7
        assert (await client.get_object(bucket, "obj"))["body"] == data
    faults = proxy.stats.faults
    assert faults["reset"] + faults["status503slowdown"] > 0


async def test_clock_skew_is_corrected(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket: str
) -> None:
    """A client clock 40 minutes slow: SeaweedFS says RequestTimeTooSkewed once, the
    client adopts the server's Date and carries on."""
    async with make_client(seaweedfs, proxy, clock=lambda: time.time() - 2400) as client:
        await client.put_object(bucket, "obj", b"on time")
        await client.put_object(bucket, "obj2", b"still on time")
    assert proxy.stats.requests == 3
