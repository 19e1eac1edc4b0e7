"""Server-side copies against the in-memory store: one CopyObject, or parts copied
in parallel (bounded), completed, or aborted on failure."""

from __future__ import annotations

import os

import pytest
from fakes import FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.copy import copy_file
from s3_asyncio_client.exceptions import S3ServerError

pytestmark = pytest.mark.unit

MiB = 1024 * 1024
SETTINGS = TransferConfig(part_size=5 * MiB, max_concurrency=2)


async def test_up_to_the_limit_it_is_one_copy() -> None:
    store = FakeStore()
    store.add_object("src", "a", b"x" * 100)
    result = await copy_file(store, "src", "a", "dst", "b", config=SETTINGS)
    assert result == {
        "etag": store.objects[("src", "a")].etag,
        "size": 100,
        "parts_count": 0,
        "skipped_bytes": 0,
    }
    assert store.objects[("dst", "b")].data == b"x" * 100
    assert [op for op, _ in store.log] == ["head", "copy"]


async def test_beyond_it_parts_are_copied_in_parallel_ranges() -> None:
    store = FakeStore()
    data = os.urandom(16 * MiB)
    source = store.add_object("src", "a", data)
    source.content_type, source.metadata = "x/y", {"m": "1"}
    result = await copy_file(store, "src", "a", "dst", "b", config=SETTINGS, single_copy_limit=0)
    copied = store.objects[("dst", "b")]
    assert (copied.data, copied.content_type, copied.metadata) == (data, "x/y", {"m": "1"})
    assert copied.part_sizes == [5 * MiB, 5 * MiB, 5 * MiB, MiB]
    assert (result["parts_count"], result["size"]) == (4, 16 * MiB)
    assert sorted(store.requests("upload_part_copy")) == [1, 2, 3, 4]
    assert store.peak <= 2


async def test_a_failed_part_copy_aborts_the_upload() -> None:
    store = FakeStore()
    store.add_object("src", "a", os.urandom(11 * MiB))
    store.fail("upload_part_copy", 2)
    with pytest.raises(S3ServerError):
        await copy_file(store, "src", "a", "dst", "b", config=SETTINGS, single_copy_limit=0)
    assert store.uploads == {}
    assert store.requests("abort") == [None]
    assert ("dst", "b") not in store.objects
