"""aws-cli v1 (`aws s3`, `aws s3api`) against the embedded server, as a user drives it:
a scratch config, credentials from the environment, ``--endpoint-url``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from compatkit import BIG, MIB, Tool, fetch, make_tree, read_tree, stored_keys
from servers import ServerInfo
from thirdparty import parts_of


@pytest.fixture
def aws(local: ServerInfo, env: dict[str, str]) -> Tool:
    """aws-cli on the server."""
    # The scratch config as a user would write it: path-style addressing (the endpoint
    # is an IP address) and multipart above 8 MiB in parts of 5 MiB (the smallest S3
    # allows), so a file of BIG bytes goes up in three parts.
    Path(env["AWS_CONFIG_FILE"]).write_text(
        "[default]\ns3 =\n  addressing_style = path\n"
        "  multipart_threshold = 8MB\n  multipart_chunksize = 5MB\n"
    )

    return Tool("aws", env, "--endpoint-url", local.endpoint_url)


def test_mb_cp_ls_rm_rb(aws: Tool, s3: Any, bucket_name: str, tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from aws-cli\n")
    aws("s3", "mb", f"s3://{bucket_name}")
    aws("s3", "cp", str(small), f"s3://{bucket_name}/docs/small.txt")
    aws("s3", "cp", str(small), f"s3://{bucket_name}/top.txt")

    top = aws("s3", "ls", f"s3://{bucket_name}")
    assert [line.split()[-1] for line in top.splitlines()] == ["docs/", "top.txt"]
    everything = aws("s3", "ls", "--recursive", f"s3://{bucket_name}")
    listed = {line.split(maxsplit=3)[3]: int(line.split()[2]) for line in everything.splitlines()}
    assert listed == {"docs/small.txt": small.stat().st_size, "top.txt": small.stat().st_size}

    back = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{bucket_name}/docs/small.txt", str(back))
    assert back.read_bytes() == small.read_bytes()

    aws("s3", "rm", "--recursive", f"s3://{bucket_name}")
    assert stored_keys(s3, bucket_name) == {}
    aws("s3", "rb", f"s3://{bucket_name}")
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket=bucket_name)
    assert gone.value.response["Error"]["Code"] == "404"


def test_cp_multipart_up_and_down(aws: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    aws("s3", "cp", str(source), f"s3://{bucket}/big.bin")
    assert parts_of(s3, bucket, "big.bin") == -(-BIG // (5 * MIB))

    target = tmp_path / "big.back"
    aws("s3", "cp", f"s3://{bucket}/big.bin", str(target))  # ranged GETs, 5 MiB each
    assert target.read_bytes() == source.read_bytes()


def test_sync_odd_names_up_and_down(aws: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "up")
    aws("s3", "sync", str(tmp_path / "up"), f"s3://{bucket}/tree")
    assert stored_keys(s3, bucket) == {f"tree/{name}": len(data) for name, data in tree.items()}
    # A second sync finds nothing to do: names and sizes compare equal after the trip.
    assert aws("s3", "sync", str(tmp_path / "up"), f"s3://{bucket}/tree") == ""

    aws("s3", "sync", f"s3://{bucket}/tree", str(tmp_path / "down"))
    assert read_tree(tmp_path / "down") == tree
    # Pages of 2 keys: ListObjectsV2 continuation tokens with encoding-type=url.
    listed = aws("s3", "ls", "--recursive", "--page-size", "2", f"s3://{bucket}/tree/")
    assert sorted(line.split(maxsplit=3)[3] for line in listed.splitlines()) == sorted(
        f"tree/{name}" for name in tree
    )


def test_presign_with_default_signature(aws: Tool, bucket: str, s3: Any) -> None:
    """aws-cli v1 presigns with SigV2 (``AWSAccessKeyId``, ``Signature``, ``Expires``)
    when it is given a custom endpoint."""
    s3.put_object(Bucket=bucket, Key="shared/report 1+1.txt", Body=b"presigned bytes")
    url = aws("s3", "presign", f"s3://{bucket}/shared/report 1+1.txt", "--expires-in", "300")
    assert "AWSAccessKeyId=" in url
    assert "X-Amz-Signature" not in url
    assert fetch(url.strip()) == b"presigned bytes"


def test_s3api_list_object_versions(aws: Tool, bucket: str, s3: Any) -> None:
    for key in ("a.txt", "dir/b.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    out = aws("s3api", "list-object-versions", "--bucket", bucket, "--output", "json")
    versions = json.loads(out)["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [
        ("a.txt", "null", True),
        ("dir/b.txt", "null", True),
    ]


def test_copy_move_stream_and_sync_delete(aws: Tool, s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    aws("s3", "cp", str(source), f"s3://{bucket}/big.bin")
    # Above the threshold aws-cli copies server-side in 5 MiB UploadPartCopy ranges.
    aws("s3", "cp", f"s3://{bucket}/big.bin", f"s3://{bucket}/copies/big copy.bin")
    assert parts_of(s3, bucket, "copies/big copy.bin") == -(-BIG // (5 * MIB))
    assert s3.head_object(Bucket=bucket, Key="copies/big copy.bin")["ContentLength"] == BIG
    # Below it, one CopyObject: the server copies the metadata (aws-cli v1 passes
    # none to a multipart copy, so only the single copy can show it).
    s3.put_object(Bucket=bucket, Key="note.txt", Body=b"note", Metadata={"origin": "cli"})
    aws("s3", "cp", f"s3://{bucket}/note.txt", f"s3://{bucket}/copies/note.txt")
    assert s3.head_object(Bucket=bucket, Key="copies/note.txt")["Metadata"] == {"origin": "cli"}
    aws("s3", "rm", f"s3://{bucket}/copies/note.txt")
    aws("s3", "rm", f"s3://{bucket}/note.txt")
    aws("s3", "mv", f"s3://{bucket}/copies/big copy.bin", f"s3://{bucket}/moved.bin")
    assert sorted(stored_keys(s3, bucket)) == ["big.bin", "moved.bin"]

    # Standard input of unknown length goes up as a multipart upload; "-" reads back.
    piped = os.urandom(9 * MIB)
    aws("s3", "cp", "-", f"s3://{bucket}/piped.bin", stdin=piped)
    assert parts_of(s3, bucket, "piped.bin") == 2
    assert aws.raw("s3", "cp", f"s3://{bucket}/piped.bin", "-") == piped

    tree = make_tree(tmp_path / "up")
    aws("s3", "sync", str(tmp_path / "up"), f"s3://{bucket}/tree")
    (tmp_path / "up" / "plain.txt").unlink()
    aws("s3", "sync", "--delete", str(tmp_path / "up"), f"s3://{bucket}/tree")
    assert "tree/plain.txt" not in stored_keys(s3, bucket)
    assert len(stored_keys(s3, bucket, "tree/")) == len(tree) - 1


def test_public_read_acl_location_and_metadata(
    aws: Tool, s3: Any, bucket: str, local: ServerInfo, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    page.write_bytes(b"<h1>public</h1>")
    aws(
        "s3",
        "cp",
        str(page),
        f"s3://{bucket}/site/index.html",
        "--acl",
        "public-read",
        "--content-type",
        "text/html",
        "--metadata",
        "author=zoe,topic=odd names",
    )
    # public-read: a plain, unsigned GET of the object works.
    assert fetch(f"{local.endpoint_url}/{bucket}/site/index.html") == page.read_bytes()
    head = s3.head_object(Bucket=bucket, Key="site/index.html")
    assert (head["ContentType"], head["Metadata"]) == (
        "text/html",
        {"author": "zoe", "topic": "odd names"},
    )
    acl = json.loads(aws("s3api", "get-object-acl", "--bucket", bucket, "--key", "site/index.html"))
    assert {grant["Permission"] for grant in acl["Grants"]} == {"FULL_CONTROL", "READ"}

    location = json.loads(aws("s3api", "get-bucket-location", "--bucket", bucket))
    assert location["LocationConstraint"] is None  # us-east-1 answers an empty constraint
    assert f" {bucket}" in aws("s3", "ls")
