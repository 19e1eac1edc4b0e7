"""The sync facade against real servers: each operation, and bad input refused with
typed errors that name the offending value."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import ServerInfo

from s3_asyncio_client import (
    Bucket,
    Client,
    S3AccessDeniedError,
    S3Client,
    S3ConflictError,
    S3Error,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    TransferConfig,
)

MiB = 1024 * 1024


def make_client(server: ServerInfo, **options: object) -> Client:
    return Client(
        server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(s3_server: ServerInfo) -> Iterator[Client]:
    with make_client(s3_server) as c:
        yield c


@pytest.fixture
def bucket(client: Client, bucket_name: str) -> Bucket:
    return client.bucket(bucket_name).create()


def test_bucket_lifecycle(client: Client, bucket_name: str) -> None:
    handle = client.bucket(bucket_name)
    assert handle.name == bucket_name
    assert not handle.exists()
    with pytest.raises(S3NoSuchBucketError) as missing:
        handle.head()
    assert missing.value.bucket == bucket_name
    assert handle.create() is handle
    assert handle.exists()
    assert isinstance(handle.head(), dict)
    assert bucket_name in [b.name for b in client.list_buckets()]
    with pytest.raises(S3ConflictError, match=bucket_name):
        handle.create()
    assert handle.create(exist_ok=True) is handle
    handle.delete()
    assert not handle.exists()
    with pytest.raises(S3NoSuchBucketError):
        handle.delete()
    handle.delete(missing_ok=True)


def test_object_round_trip_and_props(bucket: Bucket) -> None:
    obj = bucket.object("dir/hello.txt")
    assert (obj.name, obj.bucket_name) == ("dir/hello.txt", bucket.name)
    etag = obj.put_content(b"hello, world", content_type="text/plain", metadata={"colour": "blue"})[
        "etag"
    ]
    props = obj.head()
    assert (props.size, props.etag, props.content_type) == (12, etag, "text/plain")
    assert props.metadata == {"colour": "blue"}
    assert obj.props == props
    assert obj.get_reader().read_all() == b"hello, world"
    assert obj.get_reader(byte_range=(7, 11)).read_all() == b"world"
    assert obj.get_reader(byte_range=(7, None)).read_all() == b"world"
    obj.put_content(b"")
    assert obj.get_reader().read_all() == b""
    obj.delete()
    with pytest.raises(S3NoSuchKeyError):
        obj.head()
    with pytest.raises(S3NoSuchKeyError):
        obj.get_reader().read_all()
    obj.delete()  # a missing key deletes fine, as on S3


def test_reader_streams_chunks_and_raw(bucket: Bucket) -> None:
    data = os.urandom(3 * MiB + 17)
    obj = bucket.object("stream.bin")
    obj.put_content(data)
    reader = obj.get_reader()
    reader.chunk_size = 512 * 1024
    chunks = list(reader)
    assert b"".join(chunks) == data
    assert len(chunks) >= 7
    assert all(len(c) <= 512 * 1024 for c in chunks)
    with reader.raw() as raw:
        assert raw.readable()
        assert raw.read(10) == data[:10]
        buffer = bytearray(1000)
        filled = raw.readinto(buffer)
        assert 0 < filled <= 1000
        assert bytes(buffer[:filled]) == data[10 : 10 + filled]
        assert raw.read() == data[10 + filled :]
        assert raw.read(5) == b""
    assert raw.closed
    with pytest.raises(ValueError, match="closed"):
        raw.read(1)
    buffered = io.BufferedReader(obj.get_reader(byte_range=(100, 199)).raw())
    with buffered:
        assert buffered.read() == data[100:200]


def test_abandoned_chunk_iterator_releases_its_stream(client: Client, bucket: Bucket) -> None:
    async def open_streams() -> int:  # tasks on the loop other than this one
        return len(asyncio.all_tasks()) - 1

    portal = client._runner.portal
    obj = bucket.object("abandon.bin")
    # More than a reader holds ahead (4 MiB): its task is still reading when counted.
    obj.put_content(os.urandom(12 * MiB))
    reader = obj.get_reader()
    reader.chunk_size = 64 * 1024
    chunks = iter(reader)
    assert 0 < len(next(chunks)) <= 64 * 1024
    assert portal.call(open_streams) == 2  # the task hosting the open reply, and its reader
    chunks.close()  # a loop that stops early: the stream is closed, not left open
    assert portal.call(open_streams) == 0
    assert obj.get_reader(byte_range=(0, 3)).read_all() == obj.get_reader().read_all()[:4]


def test_listing_one_list_and_every_page(bucket: Bucket) -> None:
    for name in ("a/1", "a/2", "a/3", "a/4", "a/5", "b/1"):
        bucket.object(name).put_content(name.encode())
    entries = bucket.list_objects(prefix="a/")
    assert [e.name for e in entries] == ["a/1", "a/2", "a/3", "a/4", "a/5"]
    assert all(e.size == 3 and e.etag and e.last_modified for e in entries)
    assert len(bucket.list_objects()) == 6
    paged = list(bucket.list_all_objects_iter(prefix="a/", page_size=2))  # three pages
    assert paged == entries


def test_copy_to_object_and_to_bucket_key(client: Client, bucket: Bucket) -> None:
    source = bucket.object("src")
    source.put_content(b"copied bytes")
    target = source.copy(bucket.object("dst1"))
    assert target.get_reader().read_all() == b"copied bytes"
    other = client.bucket(f"t-{uuid.uuid4().hex[:12]}").create()
    second = source.copy((other.name, "dst2"))
    assert (second.bucket_name, second.name) == (other.name, "dst2")
    assert second.get_reader().read_all() == b"copied bytes"
    assert source.copy((other, "dst3")).get_reader().read_all() == b"copied bytes"


def test_put_file_uses_the_transfer_engine(
    s3_server: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=2)
    path = tmp_path / "big.bin"
    data = os.urandom(11 * MiB + 5)
    path.write_bytes(data)
    small = tmp_path / "small.bin"
    small.write_bytes(b"small file")
    with make_client(s3_server, transfer_config=config) as client:
        bucket = client.bucket(bucket_name).create()
        result = bucket.object("big.bin").get_writer().put_file(path)
        assert (result["parts_count"], result["size"]) == (3, len(data))
        assert bucket.object("big.bin").head().etag.strip('"').endswith("-3")
        assert bucket.object("big.bin").get_reader().read_all() == data
        assert bucket.object("small.bin").put_file(small)["parts_count"] == 0
        assert bucket.object("small.bin").get_reader().read_all() == b"small file"
        back = tmp_path / "back.bin"
        back.write_bytes(b"replaced only once the download is whole")
        downloaded = bucket.object("big.bin").download_file(back)
        assert (downloaded["size"], downloaded["parts_count"]) == (len(data), 3)
        assert back.read_bytes() == data
        with pytest.raises(S3NoSuchKeyError):
            bucket.object("missing").download_file(tmp_path / "never")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "big.bin", "small.bin"]


def test_multipart_parts_order_replace_and_complete(
    s3_server: ServerInfo, bucket: Bucket, tmp_path: Path
) -> None:
    size = max(s3_server.min_part_size, 1024)
    one, two = b"a" * size, b"b" * size
    obj = bucket.object("mpu.bin")
    mpu = obj.multipart_upload()
    assert mpu.upload_id is None
    assert mpu.parts == []
    assert mpu.create() is mpu
    assert mpu.upload_id
    mpu.add_part(3).put_content(b"tail")
    mpu.add_part(1).put_content(b"will be replaced")
    mpu.add_part(1).put_content(one)  # replaces part 1, keeps its place in the order
    path = tmp_path / "part2"
    path.write_bytes(two)
    assert mpu.add_part(2).put_file(path)["size"] == size
    assert mpu.parts == [3, 1, 2]
    response = mpu.complete()
    assert response.status_code == 200
    assert (response.parts_count, response.size) == (3, 2 * size + 4)
    assert response.etag == obj.head().etag
    assert response.etag.strip('"').endswith("-3")
    assert obj.get_reader().read_all() == one + two + b"tail"
    with pytest.raises(S3NoSuchUploadError, match="already completed"):
        mpu.add_part(4).put_content(b"late")


def test_multipart_abort(bucket: Bucket) -> None:
    obj = bucket.object("aborted")
    mpu = obj.multipart_upload().create()
    mpu.add_part(1).put_content(b"x")
    mpu.abort()
    with pytest.raises(S3NoSuchUploadError):
        mpu.abort()
    with pytest.raises(S3NoSuchKeyError):
        obj.head()


def test_client_min_part_size_restores_the_s3_check(s3_server: ServerInfo, bucket: Bucket) -> None:
    with make_client(s3_server, min_part_size=5 * MiB) as strict:
        mpu = strict.bucket(bucket.name).object("strict").multipart_upload().create()
        mpu.add_part(1).put_content(b"too small")
        mpu.add_part(2).put_content(b"last")
        with pytest.raises(S3InvalidPartError, match="at least 5242880 bytes"):
            mpu.complete()  # refused locally, before anything is sent
        mpu.abort()


# Bad input: typed errors, naming the value.


def test_multipart_misuse(bucket: Bucket) -> None:
    mpu = bucket.object("misuse").multipart_upload()
    with pytest.raises(S3InvalidRequestError, match=r"add_part\(1\) before create\(\)"):
        mpu.add_part(1)
    with pytest.raises(S3InvalidRequestError, match=r"complete\(\) before create\(\)"):
        mpu.complete()
    with pytest.raises(S3InvalidRequestError, match=r"abort\(\) before create\(\)"):
        mpu.abort()
    mpu.create()
    with pytest.raises(S3InvalidRequestError, match="already created"):
        mpu.create()
    for bad in (0, -1, 10_001, "1", 1.0, True, None):
        with pytest.raises(S3InvalidRequestError, match=f"got {bad!r}"):
            mpu.add_part(bad)  # type: ignore[arg-type]
    with pytest.raises(S3InvalidPartError, match="no parts were uploaded"):
        mpu.complete()
    with pytest.raises(S3InvalidRequestError, match="got str"):
        mpu.add_part(1).put_content("text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="no-such-file"):
        mpu.add_part(1).put_file("no-such-file")
    assert mpu.parts == []
    mpu.abort()


def test_bad_names_and_values(client: Client, bucket: Bucket) -> None:
    for name in ("", "a/b", 7):
        with pytest.raises(S3InvalidRequestError, match=repr(name)):
            client.bucket(name)  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="key must be a non-empty string"):
        bucket.object("")
    obj = bucket.object("k")
    with pytest.raises(S3InvalidRequestError, match="got str"):
        obj.put_content("text")  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="copy target"):
        obj.copy(42)  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match="no-such-file"):
        obj.put_file("no-such-file")
    with pytest.raises(S3InvalidRequestError, match="access_key was given without"):
        Client("http://127.0.0.1:1", access_key="only-half")


async def _async_error(server: ServerInfo, bucket: str, secret: str) -> type[BaseException]:
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=secret,
        region=server.region,
    ) as client:
        try:
            await client.head_bucket(bucket)
        except S3Error as exc:
            return type(exc)
    raise AssertionError("the async client raised nothing")


def test_errors_are_the_async_api_types(s3_server: ServerInfo) -> None:
    """A missing bucket, and a wrong secret where the server checks signatures: the
    sync facade raises what the async client raises, and no secret leaks."""
    missing = f"t-{uuid.uuid4().hex[:12]}"
    cases = [(s3_server.secret_key, S3NoSuchBucketError)]
    if s3_server.checks_signatures:
        cases.append(("wrong-secret", S3AccessDeniedError))
    for secret, expected in cases:
        client = Client(s3_server.endpoint_url, access_key=s3_server.access_key, secret_key=secret)
        with client, pytest.raises(S3Error) as caught:
            client.bucket(missing).head()
        assert type(caught.value) is expected
        assert type(caught.value) is asyncio.run(_async_error(s3_server, missing, secret))
        assert secret not in str(caught.value)
        assert caught.value.bucket == missing


def test_sync_call_from_the_loop_thread_raises(client: Client, bucket: Bucket) -> None:
    """Sync code run on the portal's own loop thread (say, from a callback) would wait
    for itself: it gets a clear RuntimeError instead, and the client stays usable."""

    async def nested() -> bool:
        return bucket.exists()

    with pytest.raises(RuntimeError, match="own event loop thread"):
        client._runner.portal.call(nested)
    assert bucket.exists()
