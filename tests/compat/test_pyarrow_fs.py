"""pyarrow.fs.S3FileSystem (aws-sdk-cpp) against the embedded server: the filesystem
calls themselves. Parquet files and datasets written through it are covered by
tests/integration/test_dataframe_clients.py."""

from __future__ import annotations

import os
from typing import Any

import pyarrow.fs as pafs
import pytest
from compatkit import MIB, ODD_NAMES, stored_keys
from servers import ServerInfo
from thirdparty import arrow_fs


def test_dirs_streams_listing_and_delete(local: ServerInfo, s3: Any, bucket: str) -> None:
    fs = arrow_fs(local)
    fs.create_dir(f"{bucket}/data/empty dir")
    data = {name: os.urandom(index * 1000) for index, name in enumerate(ODD_NAMES)}
    for name, body in data.items():
        with fs.open_output_stream(f"{bucket}/data/{name}") as out:
            out.write(body)

    with fs.open_input_file(f"{bucket}/data/unicodé/naïve ü 日本.txt") as source:
        assert source.size() == len(data["unicodé/naïve ü 日本.txt"])
        source.seek(7)
        assert source.read(100) == data["unicodé/naïve ü 日本.txt"][7:107]
    with fs.open_input_stream(f"{bucket}/data/a/b/c/d.txt") as stream:
        assert stream.read() == data["a/b/c/d.txt"]

    infos = fs.get_file_info(pafs.FileSelector(f"{bucket}/data", recursive=True))
    files = {info.path: info.size for info in infos if info.type == pafs.FileType.File}
    dirs = {info.path for info in infos if info.type == pafs.FileType.Directory}
    assert files == {f"{bucket}/data/{name}": len(body) for name, body in data.items()}
    assert {f"{bucket}/data/empty dir", f"{bucket}/data/dir one/nested two"} <= dirs

    (missing,) = fs.get_file_info([f"{bucket}/data/nothing here"])
    assert missing.type == pafs.FileType.NotFound
    fs.delete_file(f"{bucket}/data/hash#tag.txt")
    assert "data/hash#tag.txt" not in stored_keys(s3, bucket)
    fs.delete_dir(f"{bucket}/data")
    assert stored_keys(s3, bucket) == {}


def test_big_stream_copy_and_move(local: ServerInfo, s3: Any, bucket: str) -> None:
    fs = arrow_fs(local)
    body = os.urandom(11 * MIB)  # pyarrow uploads 10 MiB parts: two of them
    with fs.open_output_stream(f"{bucket}/big.bin") as out:
        out.write(body)
    fs.copy_file(f"{bucket}/big.bin", f"{bucket}/copy of big.bin")
    fs.move(f"{bucket}/copy of big.bin", f"{bucket}/moved/big.bin")
    assert stored_keys(s3, bucket) == {"big.bin": len(body), "moved/big.bin": len(body)}
    with fs.open_input_file(f"{bucket}/moved/big.bin") as source:
        assert source.read() == body
    with pytest.raises(FileNotFoundError):
        fs.open_input_file(f"{bucket}/copy of big.bin")


def test_bucket_as_top_directory(local: ServerInfo, s3: Any, bucket_name: str) -> None:
    # Off by default in pyarrow: a user who wants buckets made and removed says so.
    fs = arrow_fs(local, allow_bucket_creation=True, allow_bucket_deletion=True)
    fs.create_dir(bucket_name)  # CreateBucket
    (info,) = fs.get_file_info([bucket_name])
    assert info.type == pafs.FileType.Directory
    with fs.open_output_stream(f"{bucket_name}/file.txt") as out:
        out.write(b"in a new bucket")
    assert {i.path for i in fs.get_file_info(pafs.FileSelector(""))} >= {bucket_name}
    fs.delete_dir_contents(bucket_name)
    fs.delete_dir(bucket_name)  # DeleteBucket
    assert bucket_name not in {item["Name"] for item in s3.list_buckets()["Buckets"]}
