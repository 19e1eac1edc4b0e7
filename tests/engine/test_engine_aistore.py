"""The engine on an endpoint with AIStore's limits: at most 9,999 parts, and copies
beyond one CopyObject made through the client (no UploadPartCopy)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import FakeCapabilities, FakeStore

from s3_asyncio_client.config import TransferConfig
from s3_asyncio_client.engine.copy import copy_file
from s3_asyncio_client.engine.upload import upload_file

pytestmark = pytest.mark.unit

MiB = 1024 * 1024


async def test_a_file_is_planned_in_at_most_9999_parts(tmp_path: Path) -> None:
    store = FakeStore(keep_bytes=False)
    store.capabilities = FakeCapabilities(max_parts=9_999)
    size = 10_000 * 5 * MiB  # 10,000 parts of 5 MiB on S3
    source = tmp_path / "big"
    with source.open("wb") as file:
        file.truncate(size)
    config = TransferConfig(part_size=5 * MiB, max_concurrency=4, resume=False)
    result = await upload_file(store, "b", "k", source, config=config)
    assert result["size"] == size
    assert result["parts_count"] == len(store.requests("upload_part")) == -(-size // (6 * MiB))
    assert max(store.requests("upload_part")) <= 9_999


async def test_a_large_copy_goes_through_the_client_without_upload_part_copy() -> None:
    store = FakeStore()
    store.capabilities = FakeCapabilities(copies_parts=False)
    data = os.urandom(12 * MiB + 7)
    await store.put_object("b", "src", data, content_type="text/x-demo", metadata={"m": "1"})
    config = TransferConfig(part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=2)
    result = await copy_file(store, "b", "src", "b", "dst", config=config, single_copy_limit=MiB)
    assert store.requests("upload_part_copy") == []
    assert store.requests("upload_part") == [1, 2, 3]
    assert (result["size"], result["parts_count"]) == (len(data), 3)
    copied = store.objects[("b", "dst")]
    assert copied.data == data
    info = await store.head_object("b", "dst")
    assert (info["content_type"], info["metadata"]) == ("text/x-demo", {"m": "1"})
