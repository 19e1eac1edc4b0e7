"""Bad input gets a typed S3Error naming the bad value, before any request when it can.

"Before any request" is proved with a proxy that counts requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from faultproxy import FaultProxy
from servers import ServerInfo

from s3_asyncio_client import (
    MultipartUpload,
    S3AccessDeniedError,
    S3Client,
    S3Error,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchBucketError,
    S3NoSuchUploadError,
    TransferConfig,
)

MiB = 1024 * 1024


@pytest.fixture
def proxy(seaweedfs: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


@pytest.fixture
async def client(seaweedfs: ServerInfo, proxy: FaultProxy) -> AsyncIterator[S3Client]:
    async with S3Client(
        access_key=seaweedfs.access_key, secret_key=seaweedfs.secret_key, endpoint_url=proxy.url
    ) as c:
        yield c


@pytest.fixture
async def upload(client: S3Client, bucket_name: str) -> AsyncIterator[MultipartUpload]:
    await client.create_bucket(bucket_name)
    mpu = await client.create_multipart_upload(bucket_name, "obj")
    yield mpu
    if mpu.is_open:
        await mpu.abort()


def _requests(proxy: FaultProxy) -> int:
    return proxy.stats.requests


@pytest.mark.parametrize("number", [0, 10001, -1, True, "1", 1.0])
async def test_part_number_out_of_range(
    upload: MultipartUpload, proxy: FaultProxy, number: object
) -> None:
    before = _requests(proxy)
    with pytest.raises(S3InvalidRequestError, match=repr(number).replace(".", r"\.")):
        await upload.upload_part(number, b"data")  # type: ignore[arg-type]
    assert _requests(proxy) == before


@pytest.mark.parametrize(("key", "shown"), [("", "''"), ("k" * 1025, "1025 bytes"), (None, "None")])
async def test_bad_keys(client: S3Client, proxy: FaultProxy, key: object, shown: str) -> None:
    with pytest.raises(S3InvalidRequestError, match=shown):
        await client.put_object("bucket", key, b"x")  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match=shown):
        await client.create_multipart_upload("bucket", key)  # type: ignore[arg-type]
    assert _requests(proxy) == 0


async def test_longest_key_is_accepted(moto: ServerInfo, bucket_name: str) -> None:
    """1,024 bytes is S3's limit (SeaweedFS stops earlier: KeyTooLongError)."""
    async with S3Client(
        access_key=moto.access_key, secret_key=moto.secret_key, endpoint_url=moto.endpoint_url
    ) as client:
        await client.create_bucket(bucket_name)
        key = "k" * 1024
        await client.put_object(bucket_name, key, b"x")
        assert (await client.get_object(bucket_name, key))["body"] == b"x"


async def test_missing_bucket(client: S3Client, moto: ServerInfo, bucket_name: str) -> None:
    with pytest.raises(S3NoSuchBucketError) as caught:
        await client.get_object(bucket_name, "k")
    assert caught.value.bucket == bucket_name
    assert bucket_name in str(caught.value)
    with pytest.raises(S3NoSuchBucketError):
        await client.list_objects(bucket_name)
    # SeaweedFS creates a missing bucket on PUT; moto, like S3, refuses.
    async with S3Client(
        access_key=moto.access_key, secret_key=moto.secret_key, endpoint_url=moto.endpoint_url
    ) as strict:
        with pytest.raises(S3NoSuchBucketError):
            await strict.put_object(bucket_name, "k", b"x")
        with pytest.raises(S3NoSuchBucketError):
            await strict.create_multipart_upload(bucket_name, "k")


async def test_wrong_secret_key(seaweedfs: ServerInfo) -> None:
    wrong = "not-the-secret-" + "x" * 20
    async with S3Client(
        access_key=seaweedfs.access_key, secret_key=wrong, endpoint_url=seaweedfs.endpoint_url
    ) as client:
        with pytest.raises(S3AccessDeniedError) as caught:
            await client.list_buckets()
        assert caught.value.error_code == "SignatureDoesNotMatch"
        assert wrong not in str(caught.value)
        assert wrong not in repr(caught.value)
        assert wrong not in repr(client)


async def test_complete_with_no_parts(upload: MultipartUpload, proxy: FaultProxy) -> None:
    before = _requests(proxy)
    with pytest.raises(S3InvalidPartError, match="no parts"):
        await upload.complete()
    assert _requests(proxy) == before


async def test_part_below_minimum_at_completion(upload: MultipartUpload, proxy: FaultProxy) -> None:
    await upload.upload_part(1, b"too small")
    await upload.upload_part(2, b"last part may be small")
    before = _requests(proxy)
    with pytest.raises(S3InvalidPartError, match=r"part 1 is 9 bytes"):
        await upload.complete()
    assert _requests(proxy) == before


async def test_server_refuses_small_parts_too(client: S3Client, upload: MultipartUpload) -> None:
    """With the local check off, SeaweedFS itself says EntityTooSmall."""
    client.capabilities.min_part_size = 0
    await upload.upload_part(1, b"too small")
    await upload.upload_part(2, b"tail")
    with pytest.raises(S3InvalidPartError) as caught:
        await upload.complete()
    assert caught.value.error_code == "EntityTooSmall"


async def test_abort_twice(upload: MultipartUpload, proxy: FaultProxy) -> None:
    await upload.abort()
    before = _requests(proxy)
    with pytest.raises(S3NoSuchUploadError, match=upload.upload_id):
        await upload.abort()
    with pytest.raises(S3NoSuchUploadError, match="aborted"):
        await upload.upload_part(1, b"x")
    assert _requests(proxy) == before
    # A second handle on the same id cannot know; it lists the server's parts.
    other = MultipartUpload(upload.client, upload.bucket, upload.key, upload.upload_id)
    with pytest.raises(S3NoSuchUploadError):
        await other.list_parts()


@pytest.mark.parametrize("part_size", [5 * MiB - 1, 1, 0, 6 * 1024**3])
async def test_upload_file_multipart_part_size(
    client: S3Client, proxy: FaultProxy, part_size: int
) -> None:
    with pytest.raises(S3InvalidRequestError, match=f"part size {part_size} is not supported"):
        await client.upload_file_multipart("bucket", "key", b"data", part_size=part_size)
    assert _requests(proxy) == 0


async def test_bad_data_types(client: S3Client, upload: MultipartUpload) -> None:
    with pytest.raises(S3InvalidRequestError, match="str"):
        await client.put_object("b", "k", "text")  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="str"):
        await upload.upload_part(1, "text")  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="expires_in"):
        client.generate_presigned_url("GET", "b", "k", expires_in=604801)
    with pytest.raises(S3InvalidRequestError, match="printable ASCII"):
        await client.put_object("b", "k", b"x", metadata={"name": "ünïcode"})


def test_errors_are_s3_errors_and_builtins() -> None:
    assert issubclass(S3InvalidRequestError, S3Error)
    assert issubclass(S3InvalidRequestError, ValueError)
    assert issubclass(S3NoSuchBucketError, LookupError)


async def test_a_closed_client_refuses_work_instead_of_leaking_a_pool(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket_name: str
) -> None:
    """A MultipartUpload outliving its client used to open a pool nobody closed."""
    async with S3Client(
        access_key=seaweedfs.access_key, secret_key=seaweedfs.secret_key, endpoint_url=proxy.url
    ) as client:
        await client.create_bucket(bucket_name)
        mpu = await client.create_multipart_upload(bucket_name, "obj")
    before = _requests(proxy)
    with pytest.raises(S3InvalidRequestError, match="this S3Client is closed"):
        await mpu.upload_part(1, b"late")
    with pytest.raises(S3InvalidRequestError, match="this S3Client is closed"):
        await client.head_bucket(bucket_name)
    assert _requests(proxy) == before
    async with S3Client(
        access_key=seaweedfs.access_key, secret_key=seaweedfs.secret_key, endpoint_url=proxy.url
    ) as other:
        await MultipartUpload(other, bucket_name, "obj", mpu.upload_id).abort()


async def test_a_stream_too_long_for_its_part_size_is_refused_before_a_byte(
    client: S3Client, proxy: FaultProxy
) -> None:
    """A stream of unknown length whose expected size would need more than 10,000
    parts at the part size given is refused before it is read or anything is sent,
    naming the part size that would do."""
    consumed = []

    async def stream() -> AsyncIterator[bytes]:
        consumed.append(True)
        yield b"x"

    config = TransferConfig(part_size=8 * MiB, expected_size=5 * 1024**4)
    with pytest.raises(S3InvalidRequestError, match=r"use part_size=\d+ or more"):
        await client.upload_file("bucket", "key", stream(), config=config)
    assert consumed == []
    assert _requests(proxy) == 0
