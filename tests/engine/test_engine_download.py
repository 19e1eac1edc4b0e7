"""The download engine against the in-memory store: range planning along part
boundaries, checksum verdicts (verified, mismatched, unverifiable), a reply cut short,
a replaced object, cancellation."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.download import download_file
from s3_asyncio_client.engine.remote import plan_ranges as _ranges
from s3_asyncio_client.exceptions import S3IntegrityError, S3PreconditionFailedError

pytestmark = pytest.mark.unit

MiB = 1024 * 1024
SETTINGS = TransferConfig(max_concurrency=3, fsync=False, resume=False)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".s3aio-part"))


def crosses_a_boundary(span: tuple[int, int], part_sizes: list[int]) -> bool:
    bounds = [sum(part_sizes[:i]) for i in range(1, len(part_sizes))]
    return any(span[0] < bound <= span[1] for bound in bounds)


@pytest.mark.parametrize(
    ("part_sizes", "range_size"),
    [([10], 3), ([5, 5, 2], 5), ([7, 7, 7, 1], 3), ([6, 5, 6], 4), ([1] * 9, 2), ([0], 4)],
)
def test_ranges_cover_each_part_and_never_cross_a_boundary(
    part_sizes: list[int], range_size: int
) -> None:
    plan = _ranges(part_sizes, range_size)
    assert len(plan) == len(part_sizes)
    start = 0
    for size, ranges in zip(part_sizes, plan, strict=True):
        assert [b for first, last in ranges for b in range(first, last + 1)] == list(
            range(start, start + size)
        )
        assert all(last - first + 1 <= range_size for first, last in ranges)
        start += size


@pytest.mark.parametrize("kind", ["COMPOSITE", "FULL_OBJECT"])
async def test_a_multipart_object_is_verified_against_its_checksum(
    tmp_path: Path, kind: str
) -> None:
    store = FakeStore()
    data = os.urandom(3000)
    sizes = [1100, 1100, 800]
    stored = store.add_object("b", "k", data, part_sizes=sizes, checksum=kind)
    target = tmp_path / "out"
    result = await download_file(store, "b", "k", target, config=SETTINGS)
    assert target.read_bytes() == data
    (value,) = stored.checksums.values()
    assert result["checksum"] == f"crc32c {value}"
    assert result["size"] == 3000
    assert leftovers(tmp_path) == []


async def test_a_composite_object_s_ranges_follow_its_parts(tmp_path: Path) -> None:
    """Ranges are cut at part boundaries, so each part's CRC can be combined from
    its ranges' CRCs without reading anything twice."""
    store = FakeStore()
    data = os.urandom(19 * MiB)
    sizes = [7 * MiB, 7 * MiB, 5 * MiB]
    store.add_object("b", "k", data, part_sizes=sizes)
    settings = TransferConfig(part_size=5 * MiB, max_concurrency=2, fsync=False, resume=False)
    result = await download_file(store, "b", "k", tmp_path / "out", config=settings)
    spans = store.requests("get")
    assert not any(crosses_a_boundary(span, sizes) for span in spans)
    assert sorted(spans) == [
        (0, 5 * MiB - 1),
        (5 * MiB, 7 * MiB - 1),
        (7 * MiB, 12 * MiB - 1),
        (12 * MiB, 14 * MiB - 1),
        (14 * MiB, 19 * MiB - 1),
    ]
    assert result["parts_count"] == 5
    assert "checksum" in result
    assert store.peak <= 2


async def test_parts_of_unequal_sizes_are_each_asked_for(tmp_path: Path) -> None:
    """The layout guessed from part 1 is wrong when parts differ: every part's size
    is asked for (bounded HEADs), and the CRCs read back from the file agree."""
    store = FakeStore()
    data = os.urandom(1700)
    store.add_object("b", "k", data, part_sizes=[600, 500, 600])
    result = await download_file(store, "b", "k", tmp_path / "out", config=SETTINGS)
    assert sorted(store.requests("head"), key=str) == [1, 1, 2, 3, None]
    assert "checksum" in result
    assert (tmp_path / "out").read_bytes() == data


async def test_bytes_that_disagree_with_the_checksum_fail_and_leave_nothing(tmp_path: Path) -> None:
    store = FakeStore()
    data = os.urandom(2000)
    store.add_object("b", "k", data, part_sizes=[1000, 1000])
    store.serve = lambda stored: stored[:1500] + bytes([stored[1500] ^ 1]) + stored[1501:]
    target = tmp_path / "out"
    with pytest.raises(S3IntegrityError, match="do not match the object's checksum") as caught:
        await download_file(store, "b", "k", target, config=SETTINGS)
    assert (caught.value.bucket, caught.value.key) == ("b", "k")
    assert not target.exists()
    assert leftovers(tmp_path) == []


async def test_an_object_without_a_checksum_is_downloaded_unverified(tmp_path: Path) -> None:
    store = FakeStore()
    data = os.urandom(500)
    store.add_object("b", "k", data, checksum=None)
    result = await download_file(store, "b", "k", tmp_path / "out", config=SETTINGS)
    assert "checksum" not in result
    assert (tmp_path / "out").read_bytes() == data


async def test_a_composite_whose_parts_cannot_be_told_is_unverified_not_condemned(
    tmp_path: Path,
) -> None:
    """A server that refuses HEAD ?partNumber=: the part sizes, and so the composite
    checksum, cannot be checked; the download succeeds without a checksum."""
    store = FakeStore()
    data = os.urandom(3000)
    store.add_object("b", "k", data, part_sizes=[1000, 1000, 1000])
    store.part_heads = False
    result = await download_file(store, "b", "k", tmp_path / "out", config=SETTINGS)
    assert "checksum" not in result
    assert (tmp_path / "out").read_bytes() == data


async def test_a_reply_cut_short_is_asked_again_from_the_first_byte_not_written(
    tmp_path: Path,
) -> None:
    """Bytes go to the file 1 MiB at a time: a reply that breaks off after 1.5 MiB
    is asked again from 1 MiB, the first byte not handed to the writer."""
    store = FakeStore(piece=256 * 1024)
    data = os.urandom(3 * MiB)
    store.add_object("b", "k", data, checksum="FULL_OBJECT")
    store.cut_once = 3 * MiB // 2
    seen: list[int] = []
    result = await download_file(
        store,
        "b",
        "k",
        tmp_path / "out",
        config=SETTINGS,
        progress=lambda done, total: seen.append(done),
    )
    assert store.requests("get") == [(0, 3 * MiB - 1), (MiB, 3 * MiB - 1)]
    assert (tmp_path / "out").read_bytes() == data
    assert "checksum" in result
    assert seen[-1] == 3 * MiB


async def test_an_object_replaced_during_the_download_fails(tmp_path: Path) -> None:
    store = FakeStore()
    store.add_object("b", "k", os.urandom(3000), part_sizes=[1000, 1000, 1000])

    async def replace(operation: str, number: int | None) -> None:
        if operation == "get":
            store.add_object("b", "k", os.urandom(3000))

    store.gate = replace
    with pytest.raises(S3PreconditionFailedError):
        await download_file(store, "b", "k", tmp_path / "out", config=SETTINGS)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


async def test_a_cancelled_download_leaves_no_file_and_no_task(tmp_path: Path) -> None:
    store = FakeStore()
    store.add_object("b", "k", os.urandom(4000), part_sizes=[1000] * 4)
    reached = asyncio.Event()

    async def hang(operation: str, number: int | None) -> None:
        if operation == "get":
            reached.set()
            await asyncio.Event().wait()

    store.gate = hang
    task = asyncio.create_task(download_file(store, "b", "k", tmp_path / "out", config=SETTINGS))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []
