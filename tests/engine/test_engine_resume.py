"""Resuming an interrupted upload against the in-memory store: the journal, the
server's ListParts and the file's bytes must all agree before a part is skipped."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.upload import upload_file
from s3_asyncio_client.exceptions import S3ServerError

pytestmark = pytest.mark.unit

MiB = 1024 * 1024
PART = 5 * MiB
SIZE = 3 * PART + 1000  # parts 1-3 of 5 MiB, part 4 of 1000 bytes


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def settings(tmp_path: Path, concurrency: int = 2) -> TransferConfig:
    return TransferConfig(
        part_size=PART,
        multipart_threshold=0,
        max_concurrency=concurrency,
        journal_dir=str(tmp_path / "journals"),
    )


def journal_of(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "journals").glob("*.json")
    return path


async def interrupt(store: FakeStore, source: Path, tmp_path: Path) -> str:
    """Parts 1 and 2 stored, part 3 fails: the upload and its journal stay. Its id."""
    store.fail("upload_part", 3)
    with pytest.raises(S3ServerError):
        await upload_file(store, "b", "k", source, config=settings(tmp_path, concurrency=1))
    (upload_id,) = store.uploads
    assert sorted(store.uploads[upload_id].parts) == [1, 2]
    return upload_id


async def resume(store: FakeStore, source: Path, tmp_path: Path) -> tuple[list[int], int]:
    """Run the upload again: the parts it sent, and the bytes it skipped."""
    before = len(store.log)
    result = await upload_file(store, "b", "k", source, config=settings(tmp_path))
    assert store.objects[("b", "k")].data == source.read_bytes()
    assert list((tmp_path / "journals").glob("*.json")) == []
    sent = sorted(number for op, number in store.log[before:] if op == "upload_part")
    return sent, result["skipped_bytes"]


def rewrite_in_place(path: Path, offset: int) -> None:
    """Change a byte, keeping the size and the mtime (as ``cp -p`` would)."""
    stat = path.stat()
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


async def test_the_parts_held_and_unchanged_are_skipped(source: Path, tmp_path: Path) -> None:
    store = FakeStore()
    upload_id = await interrupt(store, source, tmp_path)
    assert store.requests("abort") == []
    sent, skipped = await resume(store, source, tmp_path)
    assert (sent, skipped) == ([3, 4], 2 * PART)
    assert upload_id not in store.uploads
    assert store.requests("list_parts") == [None]


async def test_a_part_rewritten_in_place_is_sent_again(source: Path, tmp_path: Path) -> None:
    """Same size, same mtime, other bytes: the checksum computed now disagrees."""
    store = FakeStore()
    await interrupt(store, source, tmp_path)
    rewrite_in_place(source, 100)
    assert await resume(store, source, tmp_path) == ([1, 3, 4], PART)


@pytest.mark.parametrize("tampered", [False, True])
async def test_without_listed_checksums_the_journal_s_checksum_is_compared(
    source: Path, tmp_path: Path, tampered: bool
) -> None:
    """A server whose ListParts reports no checksums: the one the journal recorded
    for the part is compared with the file's instead."""
    store = FakeStore()
    store.list_checksums = False
    await interrupt(store, source, tmp_path)
    if tampered:
        rewrite_in_place(source, PART + 5)
    expected = ([2, 3, 4], PART) if tampered else ([3, 4], 2 * PART)
    assert await resume(store, source, tmp_path) == expected


@pytest.mark.parametrize("tampered", [False, True])
async def test_an_upload_without_checksums_compares_the_md5_recorded(
    source: Path, tmp_path: Path, tampered: bool
) -> None:
    store = FakeStore(checksum=None)
    await interrupt(store, source, tmp_path)
    records = journal_of(tmp_path).read_text().splitlines()[1:]
    assert all("md5" in json.loads(line) for line in records)
    if tampered:
        rewrite_in_place(source, 7)
    expected = ([1, 3, 4], PART) if tampered else ([3, 4], 2 * PART)
    assert await resume(store, source, tmp_path) == expected


async def test_with_nothing_to_compare_but_a_plain_md5_etag_it_is_trusted(
    source: Path, tmp_path: Path
) -> None:
    """A journal of an earlier version (no checksum, no MD5), an upload without a
    checksum: the ETag, a plain MD5, is all there is, and it is compared."""
    store = FakeStore(checksum=None)
    await interrupt(store, source, tmp_path)
    journal = journal_of(tmp_path)
    header, *records = journal.read_text().splitlines()
    stripped = [{k: v for k, v in json.loads(r).items() if k != "md5"} for r in records]
    journal.write_text("\n".join([header, *map(json.dumps, stripped)]) + "\n")
    rewrite_in_place(source, PART + 1)
    assert await resume(store, source, tmp_path) == ([2, 3, 4], PART)


async def test_a_torn_last_journal_line_costs_that_part_only(source: Path, tmp_path: Path) -> None:
    store = FakeStore()
    await interrupt(store, source, tmp_path)
    journal = journal_of(tmp_path)
    text = journal.read_text()
    journal.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # part 2 torn
    assert await resume(store, source, tmp_path) == ([2, 3, 4], PART)


async def test_a_part_the_server_lost_or_changed_is_sent_again(
    source: Path, tmp_path: Path
) -> None:
    store = FakeStore()
    upload_id = await interrupt(store, source, tmp_path)
    parts = store.uploads[upload_id].parts
    parts[1][1]["etag"] = '"0123456789abcdef0123456789abcdef"'  # other bytes than recorded
    del parts[2]
    assert await resume(store, source, tmp_path) == ([1, 2, 3, 4], 0)


async def test_a_journal_of_another_file_version_aborts_the_old_upload(
    source: Path, tmp_path: Path
) -> None:
    store = FakeStore()
    old = await interrupt(store, source, tmp_path)
    with source.open("ab") as file:
        file.write(b"more")
    assert await resume(store, source, tmp_path) == ([1, 2, 3, 4], 0)
    assert old not in store.uploads
    assert store.requests("abort") == [None]


async def test_an_upload_gone_from_the_server_starts_afresh(source: Path, tmp_path: Path) -> None:
    store = FakeStore()
    old = await interrupt(store, source, tmp_path)
    del store.uploads[old]  # aborted by someone else, or expired
    assert await resume(store, source, tmp_path) == ([1, 2, 3, 4], 0)
    assert store.requests("create") == [None, None]


async def test_a_cancelled_resumable_upload_keeps_its_parts_and_journal(
    source: Path, tmp_path: Path
) -> None:
    store = FakeStore()
    reached = asyncio.Event()

    async def hang_on_part_3(operation: str, number: int | None) -> None:
        if (operation, number) == ("upload_part", 3):
            reached.set()
            await asyncio.Event().wait()

    store.gate = hang_on_part_3
    task = asyncio.create_task(
        upload_file(store, "b", "k", source, config=settings(tmp_path, concurrency=1))
    )
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == {asyncio.current_task()}
    (upload_id,) = store.uploads
    assert sorted(store.uploads[upload_id].parts) == [1, 2]
    assert store.requests("abort") == []
    assert journal_of(tmp_path).exists()
    store.gate = None
    assert await resume(store, source, tmp_path) == ([3, 4], 2 * PART)
