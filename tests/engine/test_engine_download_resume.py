"""Resumable downloads against the in-memory store: an interrupted download keeps its
partial file and journal, and the same call fetches only the ranges not recorded; a
torn journal, a changed object, an edited partial, a held partial, ``resume=False``."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from pathlib import Path

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.download import download_file
from s3_asyncio_client.engine.rangelog import remove_stale
from s3_asyncio_client.engine.upload import TransferResult
from s3_asyncio_client.exceptions import S3IntegrityError, S3ServerError

pytestmark = pytest.mark.unit

MiB = 1024 * 1024
SIZE = 8 * MiB + 5  # nine ranges of 1 MiB, the last of 5 bytes


def settings(tmp_path: Path, **changes: object) -> TransferConfig:
    options: dict[str, object] = {
        "part_size": MiB,
        "max_concurrency": 1,
        "multipart_threshold": 0,
        "fsync": False,
        "journal_dir": str(tmp_path / "journals"),
    }
    return TransferConfig(**{**options, **changes})  # type: ignore[arg-type]


def partials(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.s3aio-part"))


def journals(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "journals").glob("*.download"))


def fail_after(store: FakeStore, served: int) -> None:
    """GETs fail once ``served`` ranges were served (ranges go one at a time)."""

    async def gate(operation: str, number: int | None) -> None:
        if operation == "get" and len(store.requests("get")) >= served:
            raise S3ServerError("injected", status_code=500, error_code="InternalError")

    store.gate = gate


async def interrupted(tmp_path: Path, data: bytes, served: int = 3, **changes: object) -> FakeStore:
    """A download of ``data`` that fails after ``served`` ranges: the store."""
    store = FakeStore(piece=256 * 1024)
    store.add_object("b", "k", data, checksum="FULL_OBJECT")
    fail_after(store, served)
    with pytest.raises(S3ServerError):
        await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path, **changes))
    store.gate = None
    store.log.clear()
    return store


async def finish(tmp_path: Path, store: FakeStore, **changes: object) -> TransferResult:
    result = await download_file(
        store, "b", "k", tmp_path / "out", config=settings(tmp_path, **changes)
    )
    assert partials(tmp_path) == []
    assert journals(tmp_path) == []
    return result


@pytest.mark.parametrize("fsync", [False, True])
async def test_an_interrupted_download_fetches_only_what_is_missing(
    tmp_path: Path, fsync: bool
) -> None:
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data, fsync=fsync)
    assert not (tmp_path / "out").exists()  # only the final rename makes the target
    (partial,) = partials(tmp_path)
    assert partial.stat().st_size == SIZE
    (journal,) = journals(tmp_path)
    assert len(journal.read_text().splitlines()) == 1 + 3  # header, three ranges
    result = await finish(tmp_path, store, fsync=fsync)
    assert (tmp_path / "out").read_bytes() == data
    assert result["skipped_bytes"] == 3 * MiB
    assert "checksum" in result
    assert "restarted" not in result
    assert store.requests("get") == [(i * MiB, min((i + 1) * MiB, SIZE) - 1) for i in range(3, 9)]


async def test_progress_starts_at_the_bytes_kept(tmp_path: Path) -> None:
    store = await interrupted(tmp_path, os.urandom(SIZE))
    seen: list[int] = []
    await download_file(
        store,
        "b",
        "k",
        tmp_path / "out",
        config=settings(tmp_path),
        progress=lambda done, total: seen.append(done),
    )
    assert seen[0] == 3 * MiB
    assert seen[-1] == SIZE


async def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    (journal,) = journals(tmp_path)
    with journal.open("a") as file:
        file.write('{"first": 3145728, "last": 41')  # killed mid-write
    result = await finish(tmp_path, store)
    assert result["skipped_bytes"] == 3 * MiB
    assert (tmp_path / "out").read_bytes() == data


async def test_a_torn_header_starts_over(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    (journal,) = journals(tmp_path)
    journal.write_text(journal.read_text()[:40])
    result = await finish(tmp_path, store)
    assert result["skipped_bytes"] == 0
    assert len(store.requests("get")) == 9
    assert (tmp_path / "out").read_bytes() == data


async def test_a_changed_object_starts_over_and_says_so(tmp_path: Path) -> None:
    store = await interrupted(tmp_path, os.urandom(SIZE))
    new = os.urandom(SIZE)
    store.add_object("b", "k", new, checksum="FULL_OBJECT")
    result = await finish(tmp_path, store)
    assert result["restarted"] is True
    assert result["skipped_bytes"] == 0
    assert len(store.requests("get")) == 9
    assert (tmp_path / "out").read_bytes() == new


async def test_a_changed_size_starts_over(tmp_path: Path) -> None:
    store = await interrupted(tmp_path, os.urandom(SIZE))
    new = os.urandom(SIZE - 1)
    store.add_object("b", "k", new, checksum="FULL_OBJECT")
    result = await finish(tmp_path, store)
    assert (result["restarted"], result["skipped_bytes"]) == (True, 0)
    assert (tmp_path / "out").read_bytes() == new


@pytest.mark.parametrize("checksum", ["FULL_OBJECT", None])
async def test_an_edited_recorded_range_is_fetched_again(
    tmp_path: Path, checksum: str | None
) -> None:
    """Recorded ranges are read back: one whose bytes changed is fetched again (an
    object without a checksum too: its ranges are recorded with a CRC32)."""
    data = os.urandom(SIZE)
    store = FakeStore(piece=256 * 1024)
    store.add_object("b", "k", data, checksum=checksum)
    fail_after(store, 3)
    with pytest.raises(S3ServerError):
        await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
    store.gate = None
    store.log.clear()
    (partial,) = partials(tmp_path)
    with partial.open("r+b") as file:
        file.seek(MiB + MiB // 2)
        byte = file.read(1)
        file.seek(MiB + MiB // 2)
        file.write(bytes([byte[0] ^ 1]))
    result = await finish(tmp_path, store)
    assert result["skipped_bytes"] == 2 * MiB
    assert store.requests("get")[0] == (MiB, 2 * MiB - 1)
    assert (tmp_path / "out").read_bytes() == data


async def test_a_partial_of_another_size_starts_over(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    (partial,) = partials(tmp_path)
    os.truncate(partial, MiB)
    result = await finish(tmp_path, store)
    assert result["skipped_bytes"] == 0
    assert (tmp_path / "out").read_bytes() == data


async def test_a_sha_object_is_hashed_again_after_a_resume(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    store = FakeStore(piece=256 * 1024)
    store.add_object("b", "k", data, checksum="FULL_OBJECT", algorithm="sha256")
    fail_after(store, 3)
    with pytest.raises(S3ServerError):
        await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
    store.gate = None
    result = await finish(tmp_path, store)
    assert result["skipped_bytes"] == 3 * MiB
    assert result["checksum"].startswith("sha256 ")
    assert (tmp_path / "out").read_bytes() == data


async def test_bytes_that_fail_the_checksum_drop_the_partial_and_journal(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    store.serve = lambda stored: stored[:-1] + bytes([stored[-1] ^ 1])
    with pytest.raises(S3IntegrityError):
        await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
    assert partials(tmp_path) == []
    assert journals(tmp_path) == []
    assert not (tmp_path / "out").exists()


async def test_a_cancelled_download_keeps_what_it_wrote(tmp_path: Path) -> None:
    """Ctrl-C: the ranges written are synced and recorded before the file is let go."""
    data = os.urandom(SIZE)
    store = FakeStore(piece=256 * 1024)
    store.add_object("b", "k", data, checksum="FULL_OBJECT")
    reached = asyncio.Event()

    async def hang(operation: str, number: int | None) -> None:
        if operation == "get" and len(store.requests("get")) >= 4:
            reached.set()
            await asyncio.Event().wait()

    store.gate = hang
    config = settings(tmp_path, fsync=True)
    task = asyncio.create_task(download_file(store, "b", "k", tmp_path / "out", config=config))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.gate = None
    result = await finish(tmp_path, store, fsync=True)
    assert result["skipped_bytes"] == 4 * MiB
    assert (tmp_path / "out").read_bytes() == data


async def test_a_partial_held_by_another_download_is_left_alone(tmp_path: Path) -> None:
    """Two downloads of one target: the second finds the partial locked, runs as
    without resume (a temporary of its own, removed on failure), and leaves the
    first one's partial and journal as they were."""
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    (partial,) = partials(tmp_path)
    (journal,) = journals(tmp_path)
    before = (partial.read_bytes(), journal.read_text())
    fd = os.open(partial, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fail_after(store, 2)
        with pytest.raises(S3ServerError):
            await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
        assert store.requests("get")[0] == (0, MiB - 1)  # nothing skipped
        assert partials(tmp_path) == [partial]
        assert (partial.read_bytes(), journal.read_text()) == before
        store.gate = None
        result = await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
        assert result["skipped_bytes"] == 0
        assert (tmp_path / "out").read_bytes() == data
    finally:
        os.close(fd)
    result = await finish(tmp_path, store)  # the held partial resumes once let go
    assert result["skipped_bytes"] == 3 * MiB


async def test_resume_false_keeps_nothing(tmp_path: Path) -> None:
    await interrupted(tmp_path, os.urandom(SIZE), resume=False)
    assert partials(tmp_path) == []
    assert not list(tmp_path.glob("*.s3aio-part"))
    assert not (tmp_path / "journals").exists()


async def test_a_small_object_is_not_journaled(tmp_path: Path) -> None:
    """At or below ``multipart_threshold`` a download costs less than its journal."""
    await interrupted(tmp_path, os.urandom(SIZE), multipart_threshold=SIZE)
    assert partials(tmp_path) == []
    assert not (tmp_path / "journals").exists()


async def test_the_journal_is_private(tmp_path: Path) -> None:
    await interrupted(tmp_path, os.urandom(SIZE))
    (journal,) = journals(tmp_path)
    assert journal.stat().st_mode & 0o777 == 0o600
    assert journal.parent.stat().st_mode & 0o777 == 0o700


async def test_a_symlink_at_the_partial_s_name_is_not_followed(tmp_path: Path) -> None:
    """A link planted where the partial file goes: the download runs as without
    resume, and the file the link names is left as it was."""
    data = os.urandom(SIZE)
    store = await interrupted(tmp_path, data)
    (partial,) = partials(tmp_path)
    partial.unlink()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    partial.symlink_to(victim)
    result = await download_file(store, "b", "k", tmp_path / "out", config=settings(tmp_path))
    assert result["skipped_bytes"] == 0
    assert (tmp_path / "out").read_bytes() == data
    assert victim.read_bytes() == b"precious"
    assert partial.is_symlink()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_stale_partials_and_journals_are_removed(tmp_path: Path) -> None:
    await interrupted(tmp_path, os.urandom(SIZE))
    (partial,), (journal,) = partials(tmp_path), journals(tmp_path)
    assert remove_stale(tmp_path / "journals", older_than=3600) == []
    assert journal.exists()
    _age(journal, 7200)
    fd = os.open(partial, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a download holds it: left alone
        assert remove_stale(tmp_path / "journals", older_than=3600) == []
        assert (partials(tmp_path), journals(tmp_path)) == ([partial], [journal])
    finally:
        os.close(fd)
    assert remove_stale(tmp_path / "journals", older_than=3600) == [partial]
    assert (partials(tmp_path), journals(tmp_path)) == ([], [])


async def test_a_journal_naming_another_file_removes_only_itself(tmp_path: Path) -> None:
    await interrupted(tmp_path, os.urandom(SIZE))
    (journal,) = journals(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    lines = journal.read_text().splitlines()
    header = json.loads(lines[0])
    header["partial"] = str(victim)
    journal.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    _age(journal, 7200)
    assert remove_stale(tmp_path / "journals", older_than=3600) == []
    assert victim.read_bytes() == b"precious"
    assert journals(tmp_path) == []
