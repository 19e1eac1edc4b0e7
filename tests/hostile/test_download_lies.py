"""A server that lies about lengths or versions: the client fails with a typed error,
writes nothing at the target (an existing file there stays as it was) and leaves no
temporary behind. The lies are told by the fault proxy rewriting the embedded
server's real replies."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo

from s3_asyncio_client import (
    Client,
    RetryConfig,
    S3Client,
    S3ConnectionError,
    S3Error,
    TransferConfig,
)
from s3_asyncio_client.engine.download import RANGE_ATTEMPTS
from s3_asyncio_client.exceptions import S3LengthError, S3ObjectChangedError
from s3_asyncio_client.protocol.limits import MAX_OBJECT_SIZE

MiB = 1024 * 1024
PART = 5 * MiB
SIZE = 3 * PART + 7  # four ranges
RETRY = RetryConfig(max_attempts=2, base_delay=0.001, throttle_delay=0.001)
CONFIG = TransferConfig(part_size=PART, max_concurrency=2)
OLD = b"the file as it was before the download"
HEAD = matching("HEAD")
GET = matching("GET", path_contains="/obj")


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
async def bucket(local: ServerInfo, bucket_name: str, data: bytes) -> str:
    async with S3Client(
        access_key=local.access_key, secret_key=local.secret_key, endpoint_url=local.endpoint_url
    ) as direct:
        await direct.create_bucket(bucket_name)
        await direct.put_object(bucket_name, "obj", data)
        await direct.put_object(bucket_name, "empty", b"")
    return bucket_name


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url) as p:
        yield p


@pytest.fixture
async def client(local: ServerInfo, proxy: FaultProxy) -> AsyncIterator[S3Client]:
    async with S3Client(
        access_key=local.access_key,
        secret_key=local.secret_key,
        endpoint_url=proxy.url,
        retry=RETRY,
    ) as c:
        yield c


def lie(rule: Callable[[Reply], None], *, only: int | None = None) -> Callable[[Reply], Reply]:
    """A rewrite applying ``rule`` to every reply, or to the ``only``-th one alone."""
    seen = 0

    def rewrite(reply: Reply) -> Reply:
        nonlocal seen
        seen += 1
        if only is None or seen == only:
            rule(reply)
        return reply

    return rewrite


def header(name: str, value: str | None) -> Callable[[Reply], None]:
    return lambda reply: reply.set_header(name, value)


async def refused(
    client: S3Client, bucket: str, tmp_path: Path, error: type[S3Error], existed: bool
) -> S3Error:
    """Download ``obj``; it must fail with ``error`` and leave the folder as it was."""
    out = tmp_path / "out"
    out.mkdir()
    target = out / "target.bin"
    if existed:
        target.write_bytes(OLD)
    with pytest.raises(error) as caught:
        await client.download_file(bucket, "obj", target, config=CONFIG)
    assert sorted(p.name for p in out.iterdir()) == (["target.bin"] if existed else [])
    if existed:
        assert target.read_bytes() == OLD
    return caught.value


@pytest.mark.parametrize(
    ("value", "existed"),
    [(None, False), (None, True), ("1" + "0" * 15, False), (str(MAX_OBJECT_SIZE + 1), True)],
    ids=["missing", "missing-over-a-file", "a-petabyte", "past-the-largest-object"],
)
async def test_a_head_with_a_bad_length_is_refused(
    client: S3Client,
    proxy: FaultProxy,
    bucket: str,
    tmp_path: Path,
    value: str | None,
    existed: bool,
) -> None:
    proxy.set_rules(
        [FaultRule("rewrite", match=HEAD, rewrite=lie(header("Content-Length", value)))]
    )
    error = await refused(client, bucket, tmp_path, S3LengthError, existed)
    assert isinstance(error, S3LengthError)
    assert error.value == value
    assert error.key == "obj"
    assert proxy.stats.faults["rewrite"] == 1  # not retried: the reply is wrong, not lost


@pytest.mark.parametrize("value", ["-1", "+5", "99999999999999999999999"])
async def test_an_unframable_head_length_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path, value: str
) -> None:
    """Lengths the HTTP layer itself cannot parse (a sign, past 2**64; it treats any
    non-digit so): the reply is refused there as malformed, before a parser sees it."""
    proxy.set_rules(
        [FaultRule("rewrite", match=HEAD, rewrite=lie(header("Content-Length", value)))]
    )
    error = await refused(client, bucket, tmp_path, S3ConnectionError, existed=True)
    assert "Content-Length" in str(error)


async def test_a_head_shorter_than_the_object_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    """The HEAD says one byte fewer: the ranges' Content-Range totals give it away."""
    shorter = header("Content-Length", str(SIZE - 1))
    proxy.set_rules([FaultRule("rewrite", match=HEAD, rewrite=lie(shorter))])
    error = await refused(client, bucket, tmp_path, S3LengthError, existed=True)
    assert f"says the object is {SIZE} bytes, its HEAD said {SIZE - 1}" in str(error)


async def test_a_head_saying_empty_is_checked_by_a_get(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    """A HEAD of 0 bytes for a 15 MiB object: the download confirms the emptiness."""
    proxy.set_rules([FaultRule("rewrite", match=HEAD, rewrite=lie(header("Content-Length", "0")))])
    await refused(client, bucket, tmp_path, S3LengthError, existed=True)


async def test_a_truly_empty_object_downloads(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    target = tmp_path / "empty.bin"
    target.write_bytes(OLD)
    result = await client.download_file(bucket, "empty", target, config=CONFIG)
    assert (result["size"], target.read_bytes()) == (0, b"")
    assert [p.name for p in tmp_path.iterdir()] == ["empty.bin"]


async def test_a_range_from_another_version_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    """A server that ignores If-Match hands the second range from another version."""
    other = header("ETag", '"0123456789abcdef0123456789abcdef"')
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(other, only=2))])
    error = await refused(client, bucket, tmp_path, S3ObjectChangedError, existed=True)
    assert error.value == '"0123456789abcdef0123456789abcdef"'
    assert proxy.stats.faults["rewrite"] >= 2


async def test_a_range_without_an_etag_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(header("ETag", None), only=1))])
    error = await refused(client, bucket, tmp_path, S3ObjectChangedError, existed=False)
    assert error.value is None


def total(value: int) -> Callable[[Reply], None]:
    def rule(reply: Reply) -> None:
        span = (reply.header("Content-Range") or "").rpartition("/")[0]
        reply.set_header("Content-Range", f"{span}/{value}")

    return rule


async def test_a_content_range_total_unlike_the_head_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(total(SIZE + 1), only=2))])
    error = await refused(client, bucket, tmp_path, S3LengthError, existed=True)
    assert str(error.value).endswith(f"/{SIZE + 1}")


def shifted(reply: Reply) -> None:
    """The right length of bytes, from the wrong place."""
    first, _, rest = (reply.header("Content-Range") or "").removeprefix("bytes ").partition("-")
    last, _, size = rest.partition("/")
    reply.set_header("Content-Range", f"bytes {int(first) + 1}-{int(last) + 1}/{size}")


def cut(reply: Reply) -> None:
    """Declared and sent: one byte fewer than the range asked for."""
    assert isinstance(reply.body, bytes)
    reply.body = reply.body[:-1]
    reply.set_header("Content-Length", str(len(reply.body)))


def unframed(reply: Reply) -> None:
    """No Content-Length: the body goes out chunked, and one byte short."""
    assert isinstance(reply.body, bytes)
    reply.body = reply.body[:-1]
    reply.set_header("Content-Length", None)


def whole(reply: Reply) -> None:
    """A server that ignores Range: 200 and the whole object."""
    reply.status = 200
    reply.set_header("Content-Range", None)


@pytest.mark.parametrize("rule", [shifted, cut, unframed], ids=lambda r: r.__name__)
async def test_a_range_reply_unlike_the_range_asked_is_refused(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path, rule: Callable[[Reply], None]
) -> None:
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(rule, only=2))])
    await refused(client, bucket, tmp_path, S3LengthError, existed=True)


async def test_a_range_body_cut_short_is_never_a_success(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    """Content-Length promised, half the body sent, every time: asked again from the
    first missing byte, then given up on."""
    proxy.set_rules([FaultRule("truncate", match=GET)])
    await refused(client, bucket, tmp_path, S3ConnectionError, existed=True)
    assert proxy.stats.faults["truncate"] >= RANGE_ATTEMPTS


async def test_get_object_checks_its_lengths(
    client: S3Client, proxy: FaultProxy, bucket: str, data: bytes
) -> None:
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(unframed))])
    with pytest.raises(S3LengthError, match="Content-Length"):
        await client.get_object(bucket, "obj")
    with pytest.raises(S3LengthError):
        await client.get_object(bucket, "obj", byte_range=(10, 99))
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(whole))])
    with pytest.raises(S3LengthError, match="bytes 10-99"):
        await client.get_object(bucket, "obj", byte_range=(10, 99))
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(shifted))])
    with pytest.raises(S3LengthError):
        await client.get_object(bucket, "obj", byte_range=(10, 99))
    proxy.set_rules([])
    assert (await client.get_object(bucket, "obj", byte_range=(10, 99)))["body"] == data[10:100]
    assert (await client.get_object(bucket, "obj", byte_range=(-5, None)))["body"] == data[-5:]
    tail = await client.get_object(bucket, "obj", byte_range=(SIZE - 3, SIZE + 99))
    assert tail["body"] == data[-3:]


async def test_open_object_checks_its_lengths(
    client: S3Client, proxy: FaultProxy, bucket: str
) -> None:
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(unframed))])
    with pytest.raises(S3LengthError):
        async with client.open_object(bucket, "obj") as stream:
            await stream.read()
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(total(SIZE - 1)))])
    with pytest.raises(S3LengthError):
        async with client.open_object(bucket, "obj", byte_range=(0, SIZE - 1)) as stream:
            await stream.read()


def test_the_sync_reader_checks_its_lengths(
    local: ServerInfo, proxy: FaultProxy, bucket_name: str
) -> None:
    keys = {"access_key": local.access_key, "secret_key": local.secret_key}
    with Client(local.endpoint_url, **keys) as direct:
        direct.bucket(bucket_name).create().object("obj").put_content(b"sync reader data")
    proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(unframed))])
    with Client(proxy.url, **keys) as sync:
        reader = sync.bucket(bucket_name).object("obj").get_reader()
        with pytest.raises(S3LengthError):
            reader.read_all()
        with pytest.raises(S3LengthError):
            reader.raw()


def sizes(value: str) -> Callable[[Reply], None]:
    def rule(reply: Reply) -> None:
        assert isinstance(reply.body, bytes)
        start = reply.body.index(b"<Size>") + len(b"<Size>")
        end = reply.body.index(b"</Size>", start)
        reply.body = reply.body[:start] + value.encode() + reply.body[end:]
        reply.set_header("Content-Length", str(len(reply.body)))

    return rule


@pytest.mark.parametrize("value", ["-1", "", "12abc", "٣", "1" + "0" * 15])
async def test_listed_sizes_are_checked(
    client: S3Client, proxy: FaultProxy, bucket: str, value: str
) -> None:
    listing = matching("GET", query_has="list-type")
    proxy.set_rules([FaultRule("rewrite", match=listing, rewrite=lie(sizes(value)))])
    with pytest.raises(S3LengthError) as caught:
        [o async for o in client.iter_objects(bucket)]
    assert caught.value.value == value
    upload = await client.create_multipart_upload(bucket, "mpu")
    await upload.upload_part(1, b"part one")
    parts = matching("GET", query_has="uploadId")
    proxy.set_rules([FaultRule("rewrite", match=parts, rewrite=lie(sizes(value)))])
    with pytest.raises(S3LengthError):
        await upload.list_parts()
    proxy.set_rules([])
    await upload.abort()


@contextlib.contextmanager
def file_calls() -> Iterator[list[tuple[str, str]]]:
    """(call, thread) of every fsync, rename and unlink while inside (observed, not
    changed: the real calls run)."""
    calls: list[tuple[str, str]] = []

    def watch(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            calls.append((name, threading.current_thread().name))
            return real(*args, **kwargs)

        return call

    with (
        mock.patch("os.fsync", watch("fsync", os.fsync)),
        mock.patch("os.replace", watch("replace", os.replace)),
        mock.patch.object(Path, "unlink", watch("unlink", Path.unlink)),
    ):
        yield calls


async def test_the_file_is_finished_off_the_event_loop(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path, data: bytes
) -> None:
    """fsync, rename and removal of the temporary run in the writer thread, never on
    the event loop's."""
    with file_calls() as calls:
        target = tmp_path / "target.bin"
        await client.download_file(bucket, "obj", target, config=CONFIG)
        assert target.read_bytes() == data
        proxy.set_rules([FaultRule("rewrite", match=GET, rewrite=lie(cut, only=2))])
        await refused(client, bucket, tmp_path, S3LengthError, existed=True)
    assert [name for name, _ in calls] == ["fsync", "replace", "unlink"]
    assert all(thread.startswith("s3aio-writer") for _, thread in calls), calls


async def test_fsync_can_be_left_out_for_scratch_files(
    client: S3Client, bucket: str, tmp_path: Path, data: bytes
) -> None:
    target = tmp_path / "target.bin"
    with file_calls() as calls:
        await client.download_file(
            bucket, "obj", target, config=dataclasses.replace(CONFIG, fsync=False)
        )
    assert target.read_bytes() == data
    assert [name for name, _ in calls] == ["replace"]


async def test_a_cancelled_download_leaves_nothing(
    client: S3Client, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    """Cancelled while a range is held up and others are written: the temporary is
    removed before the cancellation goes on, the old file stays."""
    proxy.set_rules([FaultRule("stall", match=GET, times=1, stall_seconds=30)])
    target = tmp_path / "target.bin"
    target.write_bytes(OLD)
    written = asyncio.Event()

    def progress(done: int, total: int | None) -> None:
        if done > 0:
            written.set()

    task = asyncio.create_task(
        client.download_file(bucket, "obj", target, config=CONFIG, progress=progress)
    )
    await asyncio.wait_for(written.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [p.name for p in tmp_path.iterdir()] == ["target.bin"]
    assert target.read_bytes() == OLD
