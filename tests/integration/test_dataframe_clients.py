"""The embedded server used by data-frame libraries with their own S3 stacks:
pyarrow (aws-sdk-cpp) and polars (Rust object_store) write and read Parquet files and
a partitioned dataset with their default settings, which send a CRC64NVME checksum
with every upload. Our own client then downloads what pyarrow wrote and verifies it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from servers import ServerInfo, boto3_client, s3_client
from thirdparty import arrow_fs, parts_of, polars_options

# pyarrow's S3 output stream always uses a multipart upload (unless opened lazily) in
# parts of 10 MiB, which pyarrow does not let us change: random, uncompressed rows of
# this size take three parts. polars uploads one PUT unless the file outgrows its
# upload chunk, which POLARS_UPLOAD_CHUNK_SIZE sets (to the smallest part S3 allows).
BIG = 24 * 1024 * 1024
ROW = 1024
POLARS_PART = 5 * 1024 * 1024


@pytest.fixture
def bucket(local: ServerInfo, bucket_name: str) -> Iterator[str]:
    client = boto3_client(local)
    client.create_bucket(Bucket=bucket_name)
    try:
        yield bucket_name
    finally:
        client.close()


@pytest.fixture
def boto3(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local)
    try:
        yield client
    finally:
        client.close()


def small_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(1000), pa.int64()),
            "group": pa.array([f"g{i % 4}" for i in range(1000)]),
            "value": pa.array([i * 0.5 for i in range(1000)]),
        }
    )


def big_table() -> pa.Table:
    data = os.urandom(BIG)  # incompressible, so the file really is this large
    blobs = [data[start : start + ROW] for start in range(0, BIG, ROW)]
    return pa.table({"n": pa.array(range(len(blobs)), pa.int64()), "blob": blobs})


def frame(table: pa.Table) -> pl.DataFrame:
    result = pl.from_arrow(table)
    assert isinstance(result, pl.DataFrame)
    return result


def test_pyarrow_writes_and_reads_parquet(local: ServerInfo, bucket: str, boto3: Any) -> None:
    fs = arrow_fs(local)
    small, big = small_table(), big_table()
    pq.write_table(small, f"{bucket}/small.parquet", filesystem=fs)
    pq.write_table(big, f"{bucket}/big.parquet", filesystem=fs, compression="none")

    assert pq.read_table(f"{bucket}/small.parquet", filesystem=fs).equals(small)
    assert pq.read_table(f"{bucket}/big.parquet", filesystem=fs).equals(big)
    assert parts_of(boto3, bucket, "small.parquet") == 1
    assert parts_of(boto3, bucket, "big.parquet") == 3


def test_pyarrow_writes_and_reads_partitioned_dataset(
    local: ServerInfo, bucket: str, boto3: Any
) -> None:
    fs = arrow_fs(local)
    table = small_table()
    ds.write_dataset(
        table,
        f"{bucket}/dataset",
        filesystem=fs,
        format="parquet",
        partitioning=["group"],
        partitioning_flavor="hive",
    )

    listed = boto3.list_objects_v2(Bucket=bucket, Prefix="dataset/")
    # Beside the data files pyarrow leaves empty "directory/" marker objects.
    files = sorted(item["Key"] for item in listed["Contents"] if item["Size"])
    assert [key.split("/")[1] for key in files] == [f"group=g{i}" for i in range(4)]
    assert all(key.endswith(".parquet") for key in files)
    back = ds.dataset(f"{bucket}/dataset", filesystem=fs, format="parquet", partitioning="hive")
    got = back.to_table().sort_by("id").select(["id", "group", "value"])
    assert got.column("group").to_pylist() == table.column("group").to_pylist()
    assert got.select(["id", "value"]).equals(table.select(["id", "value"]))


async def test_our_client_verifies_what_pyarrow_wrote(
    local: ServerInfo, bucket: str, tmp_path: Path
) -> None:
    pq.write_table(big_table(), f"{bucket}/big.parquet", filesystem=arrow_fs(local))
    source = tmp_path / "source.parquet"
    pafs.copy_files(f"{bucket}/big.parquet", str(source), source_filesystem=arrow_fs(local))

    target = tmp_path / "big.parquet"
    async with s3_client(local) as client:
        result = await client.download_file(bucket, "big.parquet", target)
    assert target.read_bytes() == source.read_bytes()
    assert result["size"] == source.stat().st_size
    # aws-sdk-cpp creates its multipart upload naming no checksum algorithm: the server
    # keeps S3's default, CRC64NVME over the whole object, combined from the parts.
    assert result["checksum"].startswith("crc64nvme ")


def test_polars_writes_and_reads_parquet(
    local: ServerInfo, bucket: str, boto3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLARS_UPLOAD_CHUNK_SIZE", str(POLARS_PART))
    options = polars_options(local)
    small, big = frame(small_table()), frame(big_table())
    small.write_parquet(f"s3://{bucket}/small.parquet", storage_options=options)
    big.write_parquet(
        f"s3://{bucket}/big.parquet", storage_options=options, compression="uncompressed"
    )

    read = pl.read_parquet(f"s3://{bucket}/small.parquet", storage_options=options)
    assert read.equals(small)
    scanned = pl.scan_parquet(f"s3://{bucket}/big.parquet", storage_options=options)
    assert scanned.collect().equals(big)
    assert parts_of(boto3, bucket, "small.parquet") == 0
    assert parts_of(boto3, bucket, "big.parquet") == 5


async def test_our_client_verifies_what_polars_wrote(
    local: ServerInfo, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLARS_UPLOAD_CHUNK_SIZE", str(POLARS_PART))
    big = frame(big_table())
    big.write_parquet(f"s3://{bucket}/big.parquet", storage_options=polars_options(local))

    target = tmp_path / "big.parquet"
    async with s3_client(local) as client:
        result = await client.download_file(bucket, "big.parquet", target)
    assert pl.read_parquet(target).equals(big)
    # object_store sent CRC64NVME with every part; the server keeps the object's value.
    assert result["checksum"].startswith("crc64nvme ")
