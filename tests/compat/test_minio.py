"""minio-py against the embedded server."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from compatkit import BIG, MIB, ODD_NAMES, fetch, stored_keys
from minio import Minio
from minio.commonconfig import ComposeSource, CopySource, Tags
from minio.deleteobjects import DeleteObject
from servers import ServerInfo
from thirdparty import parts_of


@pytest.fixture
def minio(local: ServerInfo) -> Iterator[Minio]:
    # No retries: a refused request must fail the test, not be retried away.
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=30), retries=False)
    try:
        yield Minio(
            local.endpoint_url.partition("://")[2],
            access_key=local.access_key,
            secret_key=local.secret_key,
            secure=False,
            region=local.region,
            http_client=pool,
        )
    finally:
        pool.clear()


def test_bucket_objects_and_presigned_get(
    minio: Minio, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    minio.make_bucket(bucket_name)
    assert minio.bucket_exists(bucket_name)
    small = {f"tree/{name}": name.encode() * 2 for name in ODD_NAMES}
    for key, body in small.items():
        minio.put_object(bucket_name, key, io.BytesIO(body), len(body))
    big = os.urandom(BIG)
    minio.put_object(bucket_name, "big.bin", io.BytesIO(big), len(big), part_size=5 * MIB)
    assert parts_of(s3, bucket_name, "big.bin") == -(-BIG // (5 * MIB))

    source = tmp_path / "local file.bin"
    source.write_bytes(os.urandom(3 * MIB))
    minio.fput_object(bucket_name, "files/local file.bin", str(source))
    target = tmp_path / "back.bin"
    minio.fget_object(bucket_name, "files/local file.bin", str(target))
    assert target.read_bytes() == source.read_bytes()
    reply = minio.get_object(bucket_name, "big.bin")
    try:
        assert reply.read() == big
    finally:
        reply.close()
        reply.release_conn()

    listed = {obj.object_name: obj.size for obj in minio.list_objects(bucket_name, recursive=True)}
    assert listed == stored_keys(s3, bucket_name)
    assert len(listed) == len(small) + 2
    top = {obj.object_name for obj in minio.list_objects(bucket_name, prefix="tree/")}
    assert {"tree/a/", "tree/dir one/", "tree/unicodé/", "tree/plain.txt"} <= top

    url = minio.presigned_get_object(bucket_name, "tree/with space.txt", timedelta(minutes=5))
    assert fetch(url) == small["tree/with space.txt"]

    minio.remove_object(bucket_name, "big.bin")
    errors = list(minio.remove_objects(bucket_name, (DeleteObject(name) for name in listed)))
    assert errors == []
    assert stored_keys(s3, bucket_name) == {}
    minio.remove_bucket(bucket_name)
    assert not minio.bucket_exists(bucket_name)


def test_copy_compose_stat_tags_and_presigned_put(minio: Minio, s3: Any, bucket: str) -> None:
    big = os.urandom(BIG)
    minio.put_object(bucket, "src/big file.bin", io.BytesIO(big), len(big), part_size=5 * MIB)
    minio.copy_object(bucket, "dst/copy+1.bin", CopySource(bucket, "src/big file.bin"))
    stat = minio.stat_object(bucket, "dst/copy+1.bin")
    assert stat.size == BIG
    # compose_object copies ranges of its sources with UploadPartCopy.
    minio.compose_object(
        bucket,
        "dst/joined #2.bin",
        [ComposeSource(bucket, "src/big file.bin"), ComposeSource(bucket, "dst/copy+1.bin")],
    )
    joined = minio.get_object(bucket, "dst/joined #2.bin", offset=BIG - 5, length=10)
    try:
        assert joined.read() == big[-5:] + big[:5]
    finally:
        joined.close()
        joined.release_conn()

    tags = Tags.new_object_tags()
    tags["team"] = "data"
    minio.set_object_tags(bucket, "dst/copy+1.bin", tags)
    assert dict(minio.get_object_tags(bucket, "dst/copy+1.bin") or {}) == {"team": "data"}

    url = minio.presigned_put_object(bucket, "uploads/via url.txt", timedelta(minutes=5))
    put = urllib3.PoolManager(retries=False)
    try:
        reply = put.request("PUT", url, body=b"put through a presigned URL")
    finally:
        put.clear()
    assert reply.status == 200
    assert s3.get_object(Bucket=bucket, Key="uploads/via url.txt")["Body"].read() == (
        b"put through a presigned URL"
    )
    versions = list(minio.list_objects(bucket, recursive=True, include_version=True))
    assert {(obj.object_name, obj.version_id, obj.is_latest) for obj in versions} == {
        (key, "null", "true") for key in stored_keys(s3, bucket)
    }
