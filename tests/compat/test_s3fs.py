"""s3fs (fsspec on aiobotocore) against the embedded server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import s3fs
from compatkit import BIG, MIB, make_tree, read_tree, stored_keys
from servers import ServerInfo
from thirdparty import parts_of


@pytest.fixture
def fs(local: ServerInfo) -> Iterator[s3fs.S3FileSystem]:
    filesystem = s3fs.S3FileSystem(
        key=local.access_key,
        secret=local.secret_key,
        endpoint_url=local.endpoint_url,
        client_kwargs={"region_name": local.region},
        config_kwargs={"s3": {"addressing_style": "path"}, "retries": {"total_max_attempts": 1}},
        skip_instance_cache=True,
    )
    try:
        yield filesystem
    finally:
        filesystem.close_session(filesystem.loop, filesystem.s3)


def test_put_get_ls_info_rm(fs: s3fs.S3FileSystem, s3: Any, bucket: str, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "up")
    fs.put(str(tmp_path / "up"), f"{bucket}/tree", recursive=True)
    assert stored_keys(s3, bucket) == {f"tree/{name}": len(data) for name, data in tree.items()}

    top = fs.ls(f"{bucket}/tree", detail=False)
    assert sorted(top) == sorted({f"{bucket}/tree/{name.split('/')[0]}" for name in tree})
    info = fs.info(f"{bucket}/tree/with space.txt")
    assert (info["type"], info["size"]) == ("file", len(tree["with space.txt"]))
    assert fs.info(f"{bucket}/tree/dir one")["type"] == "directory"

    fs.get(f"{bucket}/tree/", str(tmp_path / "down"), recursive=True)
    assert read_tree(tmp_path / "down") == tree

    fs.rm(f"{bucket}/tree/plus+sign.txt")
    assert not fs.exists(f"{bucket}/tree/plus+sign.txt")
    fs.rm(f"{bucket}/tree", recursive=True)
    assert stored_keys(s3, bucket) == {}


def test_open_write_and_read_multipart(fs: s3fs.S3FileSystem, s3: Any, bucket: str) -> None:
    data = os.urandom(BIG)
    with fs.open(f"{bucket}/big.bin", "wb", block_size=5 * MIB) as out:
        for start in range(0, BIG, MIB):  # written in pieces, flushed as 5 MiB parts
            out.write(data[start : start + MIB])
    assert parts_of(s3, bucket, "big.bin") == -(-BIG // (5 * MIB))

    with fs.open(f"{bucket}/big.bin", "rb", block_size=2 * MIB) as source:
        source.seek(BIG - 100)
        assert source.read() == data[-100:]
        source.seek(0)
        assert source.read() == data


def test_find_and_glob(fs: s3fs.S3FileSystem, bucket: str, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "up")
    fs.put(str(tmp_path / "up"), f"{bucket}/tree", recursive=True)

    found = fs.find(f"{bucket}/tree")
    assert sorted(found) == sorted(f"{bucket}/tree/{name}" for name in tree)
    assert sorted(fs.glob(f"{bucket}/tree/*.txt")) == sorted(
        f"{bucket}/tree/{name}" for name in tree if "/" not in name and name.endswith(".txt")
    )
    assert fs.glob(f"{bucket}/tree/**/d.txt") == [f"{bucket}/tree/a/b/c/d.txt"]


def test_buckets_copy_move_ranges_and_metadata(
    fs: s3fs.S3FileSystem, s3: Any, bucket_name: str
) -> None:
    fs.mkdir(bucket_name)  # CreateBucket
    assert fs.exists(bucket_name)
    assert bucket_name in fs.ls("", detail=False)
    body = os.urandom(3 * MIB)
    fs.pipe(f"{bucket_name}/src/a b+c.bin", body)
    fs.touch(f"{bucket_name}/src/empty")
    fs.copy(f"{bucket_name}/src/a b+c.bin", f"{bucket_name}/dst/copy #1.bin")
    fs.mv(f"{bucket_name}/dst/copy #1.bin", f"{bucket_name}/dst/moved ü.bin")
    assert stored_keys(s3, bucket_name) == {
        "src/a b+c.bin": len(body),
        "src/empty": 0,
        "dst/moved ü.bin": len(body),
    }
    assert fs.du(bucket_name) == 2 * len(body)
    assert fs.cat_ranges(
        [f"{bucket_name}/src/a b+c.bin", f"{bucket_name}/dst/moved ü.bin"], [0, MIB], [4, MIB + 4]
    ) == [body[:4], body[MIB : MIB + 4]]
    assert fs.modified(f"{bucket_name}/src/empty").year >= 2024

    # setxattrs replaces the metadata with a copy onto itself (MetadataDirective REPLACE).
    fs.setxattr(f"{bucket_name}/src/a b+c.bin", copy_kwargs={}, owner="data team")
    assert fs.getxattr(f"{bucket_name}/src/a b+c.bin", "owner") == "data team"
    assert fs.cat(f"{bucket_name}/src/a b+c.bin") == body

    fs.rm(bucket_name, recursive=True)  # DeleteObjects, then DeleteBucket
    fs.invalidate_cache()
    assert not fs.exists(bucket_name)
    assert bucket_name not in {item["Name"] for item in s3.list_buckets()["Buckets"]}
