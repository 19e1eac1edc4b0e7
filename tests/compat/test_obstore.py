"""obstore (Rust object_store) against the embedded server."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import obstore
import pytest
from compatkit import BIG, MIB, ODD_NAMES, fetch, stored_keys
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store
from servers import ServerInfo
from thirdparty import parts_of


@pytest.fixture
def store(local: ServerInfo, bucket: str) -> S3Store:
    return S3Store(
        bucket,
        endpoint=local.endpoint_url,
        access_key_id=local.access_key,
        secret_access_key=local.secret_key,
        region=local.region,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True, "timeout": timedelta(seconds=30)},
        # No retries: a refused request must fail the test, not be retried away.
        retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=30)},
    )


def test_put_get_list_delete(store: S3Store, s3: Any, bucket: str) -> None:
    data = {f"tree/{name}": f"{name}\n".encode() * 3 for name in ODD_NAMES}
    for path, body in data.items():
        obstore.put(store, path, body, attributes={"Content-Type": "text/plain"})

    assert {path: bytes(obstore.get(store, path).bytes()) for path in data} == data
    listed = obstore.list(store, "tree").collect()
    assert {meta["path"]: meta["size"] for meta in listed} == {
        path: len(body) for path, body in data.items()
    }
    top = obstore.list_with_delimiter(store, "tree")
    assert sorted(top["common_prefixes"]) == ["tree/a", "tree/dir one", "tree/unicodé"]
    head = s3.head_object(Bucket=bucket, Key="tree/with space.txt")
    assert head["ContentType"] == "text/plain"

    obstore.delete(store, ["tree/plus+sign.txt", "tree/hash#tag.txt"])  # DeleteObjects
    obstore.delete(store, "tree/with space.txt")
    remaining = {meta["path"] for meta in obstore.list(store, "tree").collect()}
    assert remaining == set(data) - {
        "tree/plus+sign.txt",
        "tree/hash#tag.txt",
        "tree/with space.txt",
    }


def test_multipart_put_and_get_range(store: S3Store, s3: Any, bucket: str) -> None:
    body = os.urandom(BIG)
    obstore.put(store, "big.bin", body, use_multipart=True, chunk_size=5 * MIB)
    assert parts_of(s3, bucket, "big.bin") == -(-BIG // (5 * MIB))

    assert (
        bytes(obstore.get_range(store, "big.bin", start=5 * MIB - 3, length=6))
        == body[5 * MIB - 3 : 5 * MIB + 3]
    )
    assert bytes(obstore.get_range(store, "big.bin", start=BIG - 10, end=BIG)) == body[-10:]
    ranges = obstore.get_ranges(store, "big.bin", starts=[0, MIB], ends=[10, MIB + 10])
    assert [bytes(chunk) for chunk in ranges] == [body[:10], body[MIB : MIB + 10]]
    assert bytes(obstore.get(store, "big.bin").bytes()) == body


def test_put_with_tags(store: S3Store, s3: Any, bucket: str) -> None:
    """object_store sends tags as ``x-amz-tagging`` on PutObject."""
    obstore.put(store, "tagged.txt", b"tagged", tags={"team": "data", "stage": "raw"})
    tags = s3.get_object_tagging(Bucket=bucket, Key="tagged.txt")["TagSet"]
    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [
        ("stage", "raw"),
        ("team", "data"),
    ]


def test_copy_rename_head_conditional_put_and_sign(store: S3Store, s3: Any, bucket: str) -> None:
    obstore.put(store, "src/a b+c.txt", b"first")
    obstore.copy(store, "src/a b+c.txt", "dst/copy #1.txt")  # x-amz-copy-source encoded
    obstore.rename(store, "dst/copy #1.txt", "dst/renamed ü.txt")
    assert sorted(stored_keys(s3, bucket)) == ["dst/renamed ü.txt", "src/a b+c.txt"]
    meta = obstore.head(store, "dst/renamed ü.txt")
    assert (meta["size"], meta["e_tag"]) == (
        5,
        s3.head_object(Bucket=bucket, Key="src/a b+c.txt")["ETag"],
    )

    # mode="create" is PutObject with If-None-Match: *: a second one is refused.
    obstore.put(store, "once.txt", b"one", mode="create")
    with pytest.raises(AlreadyExistsError):
        obstore.put(store, "once.txt", b"two", mode="create")
    assert bytes(obstore.get(store, "once.txt").bytes()) == b"one"

    url = obstore.sign(store, "GET", "src/a b+c.txt", timedelta(minutes=5))
    assert fetch(url) == b"first"
