"""s5cmd (aws-sdk-go) against the embedded server, credentials from the environment."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from compatkit import BIG, MIB, Tool, make_tree, read_tree, stored_keys
from servers import ServerInfo
from thirdparty import parts_of


@pytest.fixture
def s5cmd(local: ServerInfo, env: dict[str, str]) -> Tool:
    """s5cmd on the server, without retries."""
    return Tool("s5cmd", env, "--endpoint-url", local.endpoint_url, "--retry-count", "0")


def test_cp_up_and_down_multipart(s5cmd: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    s5cmd("cp", "--part-size", "5", str(source), f"s3://{bucket}/big.bin")
    assert parts_of(s3, bucket, "big.bin") == -(-BIG // (5 * MIB))
    target = tmp_path / "back.bin"
    s5cmd("cp", "--part-size", "5", f"s3://{bucket}/big.bin", str(target))
    assert target.read_bytes() == source.read_bytes()


def test_cp_keeps_content_encoding(s5cmd: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(b"<p>hello</p>" * 100))
    s5cmd(
        "cp",
        "--content-type",
        "text/html",
        "--content-encoding",
        "gzip",
        str(page),
        f"s3://{bucket}/page.html",
    )
    head = s3.head_object(Bucket=bucket, Key="page.html")
    assert (head["ContentType"], head["ContentEncoding"]) == ("text/html", "gzip")
    assert s3.get_object(Bucket=bucket, Key="page.html")["Body"].read() == page.read_bytes()


def test_sync_ls_rm(s5cmd: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "up")
    s5cmd("sync", f"{tmp_path / 'up'}/", f"s3://{bucket}/tree/")
    assert stored_keys(s3, bucket) == {f"tree/{name}": len(data) for name, data in tree.items()}

    # JSON lines; an empty object has no "size" at all.
    listed = [
        json.loads(line) for line in s5cmd("--json", "ls", f"s3://{bucket}/tree/*").splitlines()
    ]
    assert {item["key"]: item.get("size", 0) for item in listed} == {
        f"s3://{bucket}/tree/{name}": len(data) for name, data in tree.items()
    }

    s5cmd("sync", f"s3://{bucket}/tree/*", f"{tmp_path / 'down'}/")
    assert read_tree(tmp_path / "down") == tree

    s5cmd("rm", f"s3://{bucket}/tree/a/*")
    assert not any(key.startswith("tree/a/") for key in stored_keys(s3, bucket))
    s5cmd("rm", f"s3://{bucket}/tree/*")
    assert stored_keys(s3, bucket) == {}


def test_buckets_cat_du(s5cmd: Tool, s3: Any, bucket_name: str, tmp_path: Path) -> None:
    s5cmd("mb", f"s3://{bucket_name}")
    assert f"s3://{bucket_name}" in s5cmd("ls")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    s5cmd("cp", "--part-size", "5", str(source), f"s3://{bucket_name}/big.bin")
    s5cmd("cp", str(source), f"s3://{bucket_name}/again.bin")
    assert s5cmd.raw("cat", f"s3://{bucket_name}/big.bin") == source.read_bytes()
    assert f"{2 * BIG} bytes in 2 objects" in s5cmd("du", f"s3://{bucket_name}/*")

    s5cmd("rm", f"s3://{bucket_name}/*")
    s5cmd("rb", f"s3://{bucket_name}")
    assert bucket_name not in {item["Name"] for item in s3.list_buckets()["Buckets"]}


def test_server_side_copy_and_move_of_odd_names(s5cmd: Tool, s3: Any, bucket: str) -> None:
    """s5cmd encodes ``x-amz-copy-source`` as a query string is encoded: a space
    becomes ``+`` (and a literal ``+`` becomes ``%2B``), which S3 decodes back."""
    for key in ("src/with space.txt", "src/plus+sign.txt", "src/hash#tag.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s5cmd("cp", f"s3://{bucket}/src/*", f"s3://{bucket}/copy/")
    s5cmd("mv", f"s3://{bucket}/copy/with space.txt", f"s3://{bucket}/moved/with space.txt")
    assert stored_keys(s3, bucket) == {
        **{
            key: len(key) for key in ("src/with space.txt", "src/plus+sign.txt", "src/hash#tag.txt")
        },
        "copy/plus+sign.txt": len("src/plus+sign.txt"),
        "copy/hash#tag.txt": len("src/hash#tag.txt"),
        "moved/with space.txt": len("src/with space.txt"),
    }
    body = s3.get_object(Bucket=bucket, Key="moved/with space.txt")["Body"].read()
    assert body == b"src/with space.txt"
