"""Comparing a file or an object with an object by checksum (``engine.compare``),
against the in-memory store: nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.compare import compare_file, compare_objects

pytestmark = pytest.mark.unit

MiB = 1024 * 1024
CONFIG = TransferConfig()


@pytest.mark.parametrize(
    ("kind", "algorithm", "sizes"),
    [
        ("FULL_OBJECT", "crc32c", None),
        ("FULL_OBJECT", "crc64nvme", [5 * MiB, 5 * MiB, 7]),
        ("COMPOSITE", "crc32c", [5 * MiB, 5 * MiB, 7]),
        ("COMPOSITE", "sha256", [5 * MiB, 5 * MiB, 7]),
        ("COMPOSITE", "crc32", [5 * MiB, 3 * MiB, 2 * MiB + 7]),  # parts of unequal sizes
    ],
)
async def test_a_file_matches_by_checksum_and_a_change_shows(
    tmp_path: Path, kind: str, algorithm: str, sizes: list[int] | None
) -> None:
    data = os.urandom(10 * MiB + 7)
    store = FakeStore()
    store.add_object("b", "k", data, part_sizes=sizes, checksum=kind, algorithm=algorithm)  # type: ignore[arg-type]
    path = tmp_path / "f"
    path.write_bytes(data)
    same = await compare_file(store, "b", "k", path, config=CONFIG)  # type: ignore[arg-type]
    assert same.same is True
    assert str(same.checksum).startswith(algorithm)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    changed = await compare_file(store, "b", "k", path, config=CONFIG)  # type: ignore[arg-type]
    assert changed.same is False
    assert store.requests("get") == []


async def test_no_checksum_cannot_tell_and_sizes_differ_is_a_change(tmp_path: Path) -> None:
    store = FakeStore()
    store.add_object("b", "none", b"abc", checksum=None)
    store.add_object("b", "kept", b"abc", checksum="FULL_OBJECT")
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    unknown = await compare_file(store, "b", "none", path, config=CONFIG)  # type: ignore[arg-type]
    assert (unknown.same, unknown.checksum) == (None, None)
    path.write_bytes(b"abcd")
    assert (await compare_file(store, "b", "kept", path, config=CONFIG)).same is False  # type: ignore[arg-type]


async def test_two_objects_compare_only_by_the_same_kind_of_checksum() -> None:
    store = FakeStore()
    data = os.urandom(MiB)
    store.add_object("b", "a", data, checksum="FULL_OBJECT")
    store.add_object("b", "same", data, checksum="FULL_OBJECT")
    store.add_object("b", "other", os.urandom(MiB), checksum="FULL_OBJECT")
    store.add_object("b", "crc32", data, checksum="FULL_OBJECT", algorithm="crc32")
    store.add_object("b", "parts", data, part_sizes=[MiB // 2, MiB // 2], checksum="COMPOSITE")
    verdicts = {}
    for key in ("same", "other", "crc32", "parts"):
        first, second = await compare_objects(store, ("b", "a"), ("b", key))  # type: ignore[arg-type]
        assert first.same == second.same
        verdicts[key] = first.same
    assert verdicts == {"same": True, "other": False, "crc32": None, "parts": None}
