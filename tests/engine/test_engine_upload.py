"""The upload engine against the in-memory store: part planning up to S3's 10,000
parts, streams whose parts double, bounded buffers, one PUT for small sources."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.upload import Meter, _Pipeline, upload_file
from s3_asyncio_client.exceptions import S3InvalidRequestError, S3ServerError
from s3_asyncio_client.protocol.limits import MAX_PARTS

pytestmark = pytest.mark.unit

MiB = 1024 * 1024


def settings(**options: object) -> TransferConfig:
    values: dict[str, object] = {"part_size": 5 * MiB, "max_concurrency": 4, "resume": False}
    values.update(options)
    return TransferConfig(**values)  # type: ignore[arg-type]


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space."""
    with path.open("wb") as file:
        file.truncate(size)
    return path


def part_sizes(store: FakeStore) -> list[int]:
    """The part sizes of the object completed at b/k."""
    return store.objects[("b", "k")].part_sizes


async def test_exactly_10000_parts_of_the_size_asked_for(tmp_path: Path) -> None:
    """10,000 x 5 MiB is the most 5 MiB parts hold: the part size stays 5 MiB."""
    store = FakeStore(keep_bytes=False)
    size = MAX_PARTS * 5 * MiB
    source = sparse(tmp_path / "big", size)
    result = await upload_file(store, "b", "k", source, config=settings())
    assert (result["parts_count"], result["size"]) == (MAX_PARTS, size)
    assert part_sizes(store) == [5 * MiB] * MAX_PARTS
    assert store.requests("upload_part") == list(range(1, MAX_PARTS + 1))
    assert store.peak <= 4


async def test_one_byte_more_raises_the_part_size_to_the_next_mib(tmp_path: Path) -> None:
    """10,001 parts would be needed: the part size is raised (to 6 MiB), never the
    part count past 10,000."""
    store = FakeStore(keep_bytes=False)
    size = MAX_PARTS * 5 * MiB + 1
    source = sparse(tmp_path / "big", size)
    result = await upload_file(store, "b", "k", source, config=settings())
    sizes = part_sizes(store)
    assert result["parts_count"] == len(sizes) == -(-size // (6 * MiB)) < MAX_PARTS
    assert sizes[:-1] == [6 * MiB] * (len(sizes) - 1)
    assert sum(sizes) == size


async def test_the_default_part_size_is_raised_too(tmp_path: Path) -> None:
    store = FakeStore(keep_bytes=False)
    size = MAX_PARTS * 8 * MiB + 1
    source = sparse(tmp_path / "big", size)
    result = await upload_file(store, "b", "k", source, config=settings(part_size=None))
    assert set(part_sizes(store)[:-1]) == {9 * MiB}
    assert result["parts_count"] <= MAX_PARTS


async def test_a_file_is_split_at_part_boundaries_with_a_short_last_part(tmp_path: Path) -> None:
    store = FakeStore()
    data = os.urandom(11 * MiB + 123)
    source = tmp_path / "file"
    source.write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    result = await upload_file(
        store,
        "b",
        "k",
        source,
        config=settings(multipart_threshold=0),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert store.objects[("b", "k")].data == data
    assert part_sizes(store) == [5 * MiB, 5 * MiB, MiB + 123]
    assert result["parts_count"] == 3
    assert seen[-1] == (len(data), len(data))


@pytest.mark.parametrize("kind", ["path", "file object", "bytesio", "stream"])
async def test_a_small_source_is_one_put(tmp_path: Path, kind: str) -> None:
    store = FakeStore()
    data = os.urandom(1000)
    path = tmp_path / "small"
    path.write_bytes(data)

    async def stream() -> AsyncIterator[bytes]:
        yield data[:400]
        yield data[400:]

    sources = {
        "path": lambda: path,
        "file object": lambda: path.open("rb"),
        "bytesio": lambda: io.BytesIO(data),
        "stream": stream,
    }
    source = sources[kind]()
    try:
        result = await upload_file(store, "b", "k", source, config=settings())  # type: ignore[arg-type]
    finally:
        if isinstance(source, io.IOBase):
            source.close()
    assert result == {
        "etag": store.objects[("b", "k")].etag,
        "size": 1000,
        "parts_count": 0,
        "skipped_bytes": 0,
    }
    assert store.objects[("b", "k")].data == data
    assert [op for op, _ in store.log] == ["put"]


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


async def test_stream_parts_double_every_2000_to_stay_within_10000() -> None:
    """Parts of a stream start at the part size and double every 2,000 parts: with
    a 1-byte base, 62,000 bytes are exactly 10,000 parts."""
    store = FakeStore()
    upload = await store.create_multipart_upload("b", "k")
    data = os.urandom(62_000)
    pipeline = _Pipeline(upload, 1, 8, Meter(None, None))
    result = await pipeline.run(chunks_of(data, 5000))
    expected = [1] * 2000 + [2] * 2000 + [4] * 2000 + [8] * 2000 + [16] * 2000
    assert part_sizes(store) == expected
    assert (result["parts_count"], pipeline.total) == (MAX_PARTS, len(data))
    assert store.objects[("b", "k")].data == data


async def test_a_stream_too_long_for_10000_parts_is_refused_and_aborted() -> None:
    store = FakeStore()
    upload = await store.create_multipart_upload("b", "k")
    pipeline = _Pipeline(upload, 1, 8, Meter(None, None))
    message = "longer than 62,000 bytes, the most 10,000 parts from part_size=1 hold"
    with pytest.raises(S3InvalidRequestError, match=message):
        await pipeline.run(chunks_of(b"x" * 62_001, 5000))
    assert store.uploads == {}
    assert store.requests("complete") == []
    assert ("b", "k") not in store.objects


async def test_a_stream_takes_at_most_concurrency_plus_one_buffers() -> None:
    store = FakeStore()
    upload = await store.create_multipart_upload("b", "k")
    pipeline = _Pipeline(upload, 100, 3, Meter(None, None))
    data = os.urandom(100 * 500 + 7)
    await pipeline.run(chunks_of(data, 333))
    assert len(store.buffers_seen) == 4
    assert store.peak <= 3
    assert store.objects[("b", "k")].data == data


async def test_a_stream_whose_part_fails_is_aborted() -> None:
    store = FakeStore()
    store.fail("upload_part", 3)
    upload = await store.create_multipart_upload("b", "k")
    pipeline = _Pipeline(upload, 10, 2, Meter(None, None))
    with pytest.raises(S3ServerError):
        await pipeline.run(chunks_of(b"y" * 1000, 64))
    assert store.uploads == {}
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_file_changed_during_the_upload_is_not_completed(tmp_path: Path) -> None:
    store = FakeStore()
    source = tmp_path / "file"
    source.write_bytes(os.urandom(10 * MiB + 1))

    async def touch(operation: str, number: int | None) -> None:
        if (operation, number) == ("upload_part", 2):
            os.utime(source, ns=(0, 1))

    store.gate = touch
    with pytest.raises(S3InvalidRequestError, match="changed during the upload"):
        await upload_file(store, "b", "k", source, config=settings(multipart_threshold=0))
    assert store.requests("complete") == []
    assert store.uploads == {}  # aborted: nothing left behind
