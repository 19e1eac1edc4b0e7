"""rclone (its own S3 backend on aws-sdk-go-v2) against the embedded server, configured
only through the environment as a user without a config file would."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from compatkit import MIB, Tool, make_tree, read_tree, stored_keys
from servers import ServerInfo
from thirdparty import parts_of

REMOTE = "LOCALS3"


@pytest.fixture
def rclone(local: ServerInfo, env: dict[str, str], tmp_path: Path) -> Tool:
    """rclone with the remote ``LOCALS3:`` on the server, without retries."""
    prefix = f"RCLONE_CONFIG_{REMOTE}_"
    env = {
        **env,
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),  # none: all from the environment
        prefix + "TYPE": "s3",
        prefix + "PROVIDER": "Other",
        prefix + "ENDPOINT": local.endpoint_url,
        prefix + "ACCESS_KEY_ID": local.access_key,
        prefix + "SECRET_ACCESS_KEY": local.secret_key,
        prefix + "REGION": local.region,
        prefix + "FORCE_PATH_STYLE": "true",
        # Multipart above 5 MiB in parts of 5 MiB (the default cutoff is 200 MiB).
        prefix + "UPLOAD_CUTOFF": "5Mi",
        prefix + "CHUNK_SIZE": "5Mi",
        prefix + "COPY_CUTOFF": "5Mi",
        # Pages of 3 keys: every listing pages through the markers (rclone lists
        # with ListObjects V1 on provider Other).
        prefix + "LIST_CHUNK": "3",
    }

    return Tool("rclone", env, "--retries", "1", "--low-level-retries", "1")


def test_copy_lsf_check_delete_purge(rclone: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    up = tmp_path / "up"
    tree = make_tree(up)
    (up / "dir one" / "big.bin").write_bytes(os.urandom(6 * MIB))
    tree["dir one/big.bin"] = (up / "dir one" / "big.bin").read_bytes()
    remote = f"{REMOTE}:{bucket}/tree"

    rclone("copy", str(up), remote)
    assert stored_keys(s3, bucket) == {f"tree/{name}": len(data) for name, data in tree.items()}
    assert parts_of(s3, bucket, "tree/dir one/big.bin") == 2
    assert sorted(rclone("lsf", "-R", "--files-only", remote).splitlines()) == sorted(tree)
    # Sizes and MD5 hashes (from the ETag, or rclone's own metadata for a multipart
    # upload) must all match the local files.
    rclone("check", str(up), remote)
    sums = dict(line.split("  ", 1)[::-1] for line in rclone("md5sum", remote).splitlines())
    assert sums == {name: hashlib.md5(data).hexdigest() for name, data in tree.items()}

    rclone("copy", remote, str(tmp_path / "down"))
    assert read_tree(tmp_path / "down") == tree

    rclone("delete", f"{remote}/a")
    assert not any(key.startswith("tree/a/") for key in stored_keys(s3, bucket))
    rclone("purge", f"{REMOTE}:{bucket}")
    assert bucket not in {item["Name"] for item in s3.list_buckets()["Buckets"]}


def test_server_side_copy_ranges_and_sync(
    rclone: Tool, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    remote = f"{REMOTE}:{bucket_name}"
    rclone("mkdir", remote)  # CreateBucket
    body = os.urandom(11 * MIB)
    (tmp_path / "big file.bin").write_bytes(body)
    rclone("copyto", str(tmp_path / "big file.bin"), f"{remote}/src/big file.bin")
    # A copy inside the remote is server-side: above the copy cutoff (5 MiB here)
    # in UploadPartCopy ranges, below it one CopyObject.
    rclone("copyto", f"{remote}/src/big file.bin", f"{remote}/dst/big+copy.bin")
    assert parts_of(s3, bucket_name, "dst/big+copy.bin") == 3
    rclone("moveto", f"{remote}/dst/big+copy.bin", f"{remote}/dst/moved #1.bin")
    assert sorted(stored_keys(s3, bucket_name)) == ["dst/moved #1.bin", "src/big file.bin"]
    part = rclone.raw(
        "cat", "--offset", str(5 * MIB - 2), "--count", "4", f"{remote}/dst/moved #1.bin"
    )
    assert part == body[5 * MIB - 2 : 5 * MIB + 2]
    assert rclone("size", "--json", remote).startswith('{"count":2,"bytes":' + str(2 * len(body)))

    rclone("sync", f"{remote}/src", str(tmp_path / "mirror"))
    assert (tmp_path / "mirror" / "big file.bin").read_bytes() == body
    rclone("purge", remote)
    assert bucket_name not in {item["Name"] for item in s3.list_buckets()["Buckets"]}
