"""Servers that stop moving bytes: one that stops reading an upload's body, one that
stops sending in the middle of a download, one that never answers after the body.
Each attempt fails as a timeout once no byte moved for ``Timeouts.read`` seconds; a
stall of the first attempt is healed by the retry, a stall of every attempt ends in
S3TimeoutError naming the stall, the bucket and the key. The proxy stalls for up to
60 s: the timeout markers (well under that) are the bound that proves no hang."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo, s3_client

from s3_asyncio_client import (
    RetryConfig,
    S3Client,
    S3NotFoundError,
    S3TimeoutError,
    Timeouts,
    TransferConfig,
)

KiB = 1024
MiB = 1024 * KiB
# More than the loopback socket buffers and the proxy's own buffer hold: the
# client's writes block once the proxy stops reading.
UPLOAD = 48 * MiB
STALL = 1.0  # Timeouts.read of the clients here
PUT = matching("PUT", path_contains="/obj")
GET = matching("GET", path_contains="/obj")
BOUND = pytest.mark.timeout(40)  # the proxy's stall (60 s) would outlast it


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url, shutdown_timeout=1.0) as proxy:
        yield proxy


@pytest.fixture
async def bucket(local: ServerInfo, bucket_name: str) -> str:
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
    return bucket_name


@pytest.fixture
async def client(local: ServerInfo, proxy: FaultProxy) -> AsyncIterator[S3Client]:
    """A client through the proxy: three attempts, a stall timeout of ``STALL``."""
    retry = RetryConfig(max_attempts=3, base_delay=0.01)
    timeouts = Timeouts(connect=5, read=STALL)
    async with s3_client(local, endpoint_url=proxy.url, retry=retry, timeouts=timeouts) as c:
        yield c


async def stored(local: ServerInfo, bucket: str, key: str) -> int | None:
    """The size of ``key`` as the server holds it (None: not there)."""
    async with s3_client(local) as direct:
        try:
            return (await direct.head_object(bucket, key))["content_length"]
        except S3NotFoundError:
            return None


@BOUND
@pytest.mark.parametrize("source", ["bytes", "file"])
async def test_a_server_that_stops_reading_the_body_once_is_retried(
    local: ServerInfo, proxy: FaultProxy, client: S3Client, bucket: str, source: str, tmp_path: Path
) -> None:
    proxy.set_rules([FaultRule("stall", match=PUT, times=1, stall_seconds=60)])
    body = os.urandom(UPLOAD)
    if source == "bytes":
        await client.put_object(bucket, "obj", body)
    else:  # a file region, read chunk by chunk: one PUT, no multipart
        path = tmp_path / "src"
        path.write_bytes(body)
        config = TransferConfig(multipart_threshold=2 * UPLOAD)
        result = await client.upload_file(bucket, "obj", path, config=config)
        assert result["parts_count"] == 0
    assert proxy.stats.faults["stall"] == 1
    async with s3_client(local) as direct:
        assert (await direct.get_object(bucket, "obj"))["body"] == body


@BOUND
async def test_a_server_that_never_reads_the_body_ends_in_a_timeout(
    local: ServerInfo, proxy: FaultProxy, client: S3Client, bucket: str
) -> None:
    proxy.set_rules([FaultRule("stall", match=PUT, stall_seconds=60)])
    with pytest.raises(S3TimeoutError) as caught:
        await client.put_object(bucket, "obj", bytes(UPLOAD))
    error = caught.value
    assert (error.bucket, error.key) == (bucket, "obj")
    assert "no byte of the request body" in error.message
    assert "Timeouts.read" in error.message
    assert proxy.stats.faults["stall"] == 3  # every attempt stalled
    assert await stored(local, bucket, "obj") is None


@BOUND
async def test_a_server_that_never_answers_after_the_body_ends_in_a_timeout(
    local: ServerInfo, proxy: FaultProxy, client: S3Client, bucket: str
) -> None:
    proxy.set_rules([FaultRule("stall", match=PUT, stall_seconds=60)])
    with pytest.raises(S3TimeoutError) as caught:
        await client.put_object(bucket, "obj", b"small enough for the socket buffers")
    error = caught.value
    assert (error.bucket, error.key) == (bucket, "obj")
    assert "no byte of the reply" in error.message
    assert proxy.stats.faults["stall"] == 3
    assert await stored(local, bucket, "obj") is None


@pytest.fixture
async def object_data(local: ServerInfo, bucket: str) -> bytes:
    data = os.urandom(6 * MiB + 5)
    async with s3_client(local) as direct:
        await direct.put_object(bucket, "obj", data)
    return data


@BOUND
async def test_a_download_stalled_mid_body_once_resumes(
    proxy: FaultProxy, client: S3Client, bucket: str, object_data: bytes, tmp_path: Path
) -> None:
    proxy.set_rules([FaultRule("stall_body", match=GET, times=1, stall_seconds=60)])
    target = tmp_path / "copy"
    config = TransferConfig(part_size=8 * MiB, multipart_threshold=8 * MiB)
    await client.download_file(bucket, "obj", target, config=config)
    assert target.read_bytes() == object_data
    assert proxy.stats.faults["stall_body"] == 1


@BOUND
async def test_a_get_stalled_mid_body_once_is_retried(
    proxy: FaultProxy, client: S3Client, bucket: str, object_data: bytes
) -> None:
    proxy.set_rules([FaultRule("stall_body", match=GET, times=1, stall_seconds=60)])
    assert (await client.get_object(bucket, "obj"))["body"] == object_data
    assert proxy.stats.faults["stall_body"] == 1


@BOUND
async def test_a_download_that_always_stalls_ends_in_a_timeout(
    proxy: FaultProxy, client: S3Client, bucket: str, object_data: bytes, tmp_path: Path
) -> None:
    proxy.set_rules([FaultRule("stall_body", match=GET, stall_seconds=60)])
    target = tmp_path / "copy"
    config = TransferConfig(part_size=8 * MiB, multipart_threshold=8 * MiB)
    with pytest.raises(S3TimeoutError) as caught:
        await client.download_file(bucket, "obj", target, config=config)
    error = caught.value
    assert (error.bucket, error.key) == (bucket, "obj")
    assert "no byte of the reply" in error.message
    assert not target.exists()
    assert proxy.stats.faults["stall_body"] >= 2  # the first range and its retries


@contextlib.contextmanager
def slow_reader(piece: int = 64 * KiB, pause: float = 0.05) -> Iterator[tuple[str, list[int]]]:
    """An HTTP server on 127.0.0.1 that reads request bodies slowly but steadily
    (``piece`` bytes every ``pause`` s: a slow, healthy link, in small socket
    buffers), then answers 200. Yields its URL and the body sizes it received."""
    received: list[int] = []
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, piece)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        conn.settimeout(30)
        with conn, conn.makefile("rb") as stream:
            while not stop.is_set():
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = stream.readline()
                    if not line:
                        return
                    head += line
                fields = dict(
                    line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
                )
                length = int(fields.get(b"Content-Length", b"0"))
                got = 0
                while got < length:
                    got += len(stream.read1(min(piece, length - got)))
                    time.sleep(pause)
                received.append(got)
                conn.sendall(b'HTTP/1.1 200 OK\r\nETag: "slow"\r\nContent-Length: 0\r\n\r\n')

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        server.join(10)
        listener.close()


@BOUND
async def test_a_slow_link_that_keeps_moving_never_trips_the_stall_timeout() -> None:
    """Each 1 MiB write waits longer than the stall timeout for room in the socket,
    and the body's tail waits in the kernel after the last write: the bytes keep
    being acknowledged, so no attempt fails (there is only one)."""
    body = os.urandom(8 * MiB)
    with slow_reader() as (url, received):
        async with S3Client(
            endpoint_url=url,
            access_key="slow",
            secret_key="slow-secret",
            region="us-east-1",
            timeouts=Timeouts(connect=5, read=0.5),
            retry=RetryConfig(max_attempts=1),
        ) as client:
            await client.put_object("bkt", "obj", body, checksum=None)
    assert received == [len(body)]
