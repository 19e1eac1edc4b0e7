"""Iterating a sync reader reads ahead on the client's loop: every byte comes once and
in order (however small the caller's chunks and the read-ahead budget), a body cut
short is a typed error after the bytes that did come, and a client closed meanwhile
is a RuntimeError, never a hang."""

from __future__ import annotations

import os
import signal
import warnings
from collections.abc import Iterator

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo

from s3_asyncio_client import Client, RetryConfig, S3ConnectionError
from s3_asyncio_client.sync import readahead, streams

MiB = 1024 * 1024
SIZE = 3 * MiB + 1001
GET = matching("GET", path_contains="/obj")


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url) as p:
        yield p


@pytest.fixture
def client(local: ServerInfo, proxy: FaultProxy, bucket_name: str, data: bytes) -> Iterator[Client]:
    with Client(
        proxy.url,
        access_key=local.access_key,
        secret_key=local.secret_key,
        region=local.region,
        retry=RetryConfig(max_attempts=1),
    ) as c:
        c.bucket(bucket_name).create().object("obj").put_content(data)
        yield c


@pytest.mark.parametrize("chunk_size", [1000, 256 * 1024, 8 * MiB])
def test_every_byte_once_in_order_under_a_tiny_budget(
    client: Client, bucket_name: str, data: bytes, chunk_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of 64 KiB makes the task pause and go on dozens of times."""
    monkeypatch.setattr(streams, "READAHEAD", 64 * 1024)
    reader = client.bucket(bucket_name).object("obj").get_reader()
    reader.chunk_size = chunk_size
    chunks = list(reader)
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= chunk_size for chunk in chunks)


def test_a_body_cut_short_raises_after_the_bytes_that_came(
    client: Client, proxy: FaultProxy, bucket_name: str, data: bytes
) -> None:
    proxy.set_rules([FaultRule("truncate", match=GET, truncate_bytes=MiB)])
    received = bytearray()

    def read() -> None:
        for chunk in client.bucket(bucket_name).object("obj").get_reader():
            received.extend(chunk)

    with pytest.raises(S3ConnectionError):
        read()
    assert proxy.stats.faults["truncate"] == 1
    assert bytes(received) == data[: len(received)]
    assert len(received) <= MiB
    proxy.set_rules([])
    assert b"".join(client.bucket(bucket_name).object("obj").get_reader()) == data


def test_a_client_closed_mid_read_is_a_runtime_error(
    client: Client, bucket_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "READAHEAD", 64 * 1024)
    chunks = iter(client.bucket(bucket_name).object("obj").get_reader())
    assert next(chunks)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        list(chunks)


def test_a_forked_child_cannot_go_on_with_the_parents_iteration(
    client: Client, bucket_name: str, data: bytes
) -> None:
    """The child has no loop thread to fill the queue: it gets RuntimeError, not a hang
    (the alarm ends a child that hangs); the parent reads on."""
    chunks = iter(client.bucket(bucket_name).object("obj").get_reader())
    first = next(chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(30)
            next(chunks)
        except RuntimeError as exc:
            code = 0 if "fork" in str(exc) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert first + b"".join(chunks) == data


def test_the_budget_is_the_documented_one() -> None:
    assert streams.READAHEAD == readahead.READAHEAD == 4 * MiB
