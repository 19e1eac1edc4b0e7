"""Downloading into a file object (``engine.stream``) against the in-memory store:
bytes in order, verified as a file download is, a bounded reorder window, a broken
output stopping everything."""

from __future__ import annotations

import asyncio
import io
import os
import threading

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.download import download_file
from s3_asyncio_client.engine.stream import STREAM_RANGE
from s3_asyncio_client.exceptions import S3IntegrityError, S3InvalidRequestError

pytestmark = pytest.mark.unit

MiB = 1024 * 1024


class Output(io.RawIOBase):
    """A writable raw stream that takes at most ``most`` bytes per call (as a pipe
    may), counts its calls, and waits for ``drained`` before each."""

    def __init__(
        self,
        most: int = 1 << 30,
        broken_after: int | None = None,
        drained: threading.Event | None = None,
    ) -> None:
        self.data = bytearray()
        self.most, self.broken_after, self.calls = most, broken_after, 0
        self.drained = drained

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.calls += 1
        if self.drained is not None:
            self.drained.wait(timeout=30)
        if self.broken_after is not None and len(self.data) >= self.broken_after:
            raise BrokenPipeError(32, "Broken pipe")
        taken = bytes(data[: self.most])
        self.data += taken
        return len(taken)


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [("COMPOSITE", "crc32c"), ("FULL_OBJECT", "crc32c"), ("COMPOSITE", "sha256")],
)
async def test_bytes_come_in_order_and_are_verified(kind: str, algorithm: str) -> None:
    store = FakeStore(piece=100 * 1024)
    data = os.urandom(19 * MiB + 7)
    sizes = [9 * MiB, 9 * MiB, MiB + 7]
    stored = store.add_object("b", "k", data, part_sizes=sizes, checksum=kind, algorithm=algorithm)  # type: ignore[arg-type]
    out = Output(most=300 * 1024)
    config = TransferConfig(max_concurrency=4)
    result = await download_file(store, "b", "k", out, config=config)  # type: ignore[arg-type]
    assert bytes(out.data) == data
    (value,) = stored.checksums.values()
    assert result["checksum"] == f"{algorithm} {value}"
    spans = store.requests("get")
    # 8 MiB ranges, cut at parts where the checksum is per part
    assert len(spans) == result["parts_count"] == (2 + 2 + 1 if kind == "COMPOSITE" else 3)
    assert all(last - first < 8 * MiB for first, last in spans)


async def test_the_reorder_window_is_bounded() -> None:
    """However slow the output, no more than ``max_concurrency`` ranges are fetched
    ahead of the first one not yet written."""
    store = FakeStore()
    data = os.urandom(48 * MiB)
    store.add_object("b", "k", data, checksum="FULL_OBJECT")
    drained = threading.Event()
    out = Output(most=MiB, drained=drained)  # stuck until the reader drains
    threading.Timer(0.3, drained.set).start()  # the store answers at once meanwhile
    ahead: list[int] = []

    async def note(operation: str, number: int | None) -> None:
        if operation == "get":  # ranges asked for, minus those written
            ahead.append(len(store.requests("get")) + 1 - len(out.data) // STREAM_RANGE)

    store.gate = note
    config = TransferConfig(max_concurrency=2)
    result = await download_file(store, "b", "k", out, config=config)  # type: ignore[arg-type]
    assert bytes(out.data) == data
    assert result["parts_count"] == 6
    assert max(ahead) == 2


async def test_bytes_that_disagree_with_the_checksum_fail_once_written() -> None:
    store = FakeStore()
    data = os.urandom(2000)
    store.add_object("b", "k", data, part_sizes=[1000, 1000])
    store.serve = lambda stored: stored[:1500] + bytes([stored[1500] ^ 1]) + stored[1501:]
    out = Output()
    with pytest.raises(S3IntegrityError, match="do not match the object's checksum"):
        await download_file(store, "b", "k", out, config=TransferConfig())  # type: ignore[arg-type]
    assert len(out.data) == 2000  # a stream cannot be taken back: the error says it


async def test_parts_of_unequal_sizes_leave_the_stream_unverified() -> None:
    """The layout guessed from part 1 is wrong and the bytes are gone: unverified,
    not condemned; with require_checksum, an error."""
    store = FakeStore()
    data = os.urandom(1700)
    store.add_object("b", "k", data, part_sizes=[600, 500, 600])
    out = Output()
    result = await download_file(store, "b", "k", out, config=TransferConfig())  # type: ignore[arg-type]
    assert "checksum" not in result
    assert bytes(out.data) == data
    strict = TransferConfig(require_checksum=True)
    with pytest.raises(S3IntegrityError, match="require_checksum"):
        await download_file(store, "b", "k", Output(), config=strict)  # type: ignore[arg-type]


async def test_a_reply_cut_short_is_asked_again_and_written_once() -> None:
    store = FakeStore(piece=256 * 1024)
    data = os.urandom(3 * MiB)
    store.add_object("b", "k", data, checksum="FULL_OBJECT")
    store.cut_once = 3 * MiB // 2
    out = Output()
    result = await download_file(store, "b", "k", out, config=TransferConfig())  # type: ignore[arg-type]
    assert store.requests("get") == [(0, 3 * MiB - 1), (3 * MiB // 2, 3 * MiB - 1)]
    assert bytes(out.data) == data
    assert "checksum" in result


async def test_a_broken_output_stops_the_download_and_leaves_no_task() -> None:
    store = FakeStore()
    store.add_object("b", "k", os.urandom(48 * MiB), checksum="FULL_OBJECT")
    out = Output(most=MiB, broken_after=STREAM_RANGE)
    config = TransferConfig(max_concurrency=2)
    with pytest.raises(BrokenPipeError):
        await download_file(store, "b", "k", out, config=config)  # type: ignore[arg-type]
    assert len(out.data) == STREAM_RANGE
    assert len(store.requests("get")) <= 3  # stopped, not fetched to the end
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_an_empty_object_writes_nothing_and_is_verified() -> None:
    store = FakeStore()
    store.add_object("b", "k", b"", checksum="FULL_OBJECT")
    out = Output()
    result = await download_file(store, "b", "k", out, config=TransferConfig())  # type: ignore[arg-type]
    assert out.data == b""
    assert result["size"] == 0
    assert "checksum" in result


@pytest.mark.parametrize("target", [io.StringIO(), 42])
async def test_only_a_binary_file_object_is_accepted(target: object) -> None:
    store = FakeStore()
    store.add_object("b", "k", b"data", checksum="FULL_OBJECT")
    with pytest.raises(S3InvalidRequestError, match="binary file object"):
        await download_file(store, "b", "k", target, config=TransferConfig())  # type: ignore[arg-type]
    assert store.requests("head") == []
