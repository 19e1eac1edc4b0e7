"""``s3aio cp -``, ``cp ... -`` and ``cat`` in real ``bash -o pipefail`` pipelines with
``tar``, ``gzip`` and ``head``, against the embedded server (one case on SeaweedFS)."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

import pytest
from clirunner import pipeline, s3aio
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo

from s3_asyncio_client import S3Client

MiB = 1024 * 1024


def head(info: ServerInfo, bucket: str, key: str) -> dict[str, object]:
    async def main() -> dict[str, object]:
        async with S3Client(
            endpoint_url=info.endpoint_url, access_key=info.access_key, secret_key=info.secret_key
        ) as client:
            return dict(await client.head_object(bucket, key))

    return asyncio.run(main())


def uploads_in_progress(info: ServerInfo, bucket: str) -> list[object]:
    async def main() -> list[object]:
        async with S3Client(
            endpoint_url=info.endpoint_url, access_key=info.access_key, secret_key=info.secret_key
        ) as client:
            return [u async for u in client.iter_multipart_uploads(bucket)]

    return asyncio.run(main())


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "deep/er/b.bin": os.urandom(300_000),
        "with space/ünï+%.txt": b"odd names",
        "empty": b"",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


def tar_round_trip(info: ServerInfo, bucket: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "dir")
    (tmp_path / "out").mkdir()
    pipeline(info, f"tar c -C dir . | $S3AIO cp - s3://{bucket}/dir.tar", cwd=tmp_path)
    pipeline(info, f"$S3AIO cat s3://{bucket}/dir.tar | tar x -C out", cwd=tmp_path)
    for name, content in files.items():
        assert (tmp_path / "out" / name).read_bytes() == content


def test_tar_through_cp_stdin_and_back_through_cat(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    s3aio(local, "mb", f"s3://{bucket_name}")
    tar_round_trip(local, bucket_name, tmp_path)
    assert head(local, bucket_name, "dir.tar")["content_type"] == "application/x-tar"


def test_tar_round_trip_on_seaweedfs(
    seaweedfs: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    s3aio(seaweedfs, "mb", f"s3://{bucket_name}")
    tar_round_trip(seaweedfs, bucket_name, tmp_path)


def test_gzip_through_cat_and_zcat(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    lines = b"".join(b"line %d of the log\n" % n for n in range(200_000))
    (tmp_path / "log").write_bytes(lines)
    s3aio(local, "mb", f"s3://{bucket_name}")
    pipeline(local, f"gzip -c log | $S3AIO cp - s3://{bucket_name}/log.gz", cwd=tmp_path)
    out = pipeline(local, f"$S3AIO cat s3://{bucket_name}/log.gz | zcat", cwd=tmp_path)
    assert out.stdout == lines
    out = pipeline(local, f"$S3AIO cp s3://{bucket_name}/log.gz - | gzip -dc", cwd=tmp_path)
    assert out.stdout == lines
    stored = pipeline(local, f"$S3AIO cat s3://{bucket_name}/log.gz | cat").stdout
    assert gzip.decompress(stored) == lines


def test_a_40_mib_stream_is_uploaded_in_parts_byte_exact(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    data = os.urandom(40 * MiB)
    (tmp_path / "big").write_bytes(data)
    s3aio(local, "mb", f"s3://{bucket_name}")
    # cat: standard input is a pipe, not the file (a redirected file could be seeked).
    pipeline(local, f"cat big | $S3AIO cp - s3://{bucket_name}/big", cwd=tmp_path)
    info = head(local, bucket_name, "big")
    assert info["content_length"] == len(data)
    assert str(info["etag"]).strip('"').endswith("-5")  # 8 MiB parts
    out = pipeline(local, f"$S3AIO cat s3://{bucket_name}/big | cat", cwd=tmp_path)
    assert out.stdout == data
    assert out.stderr == b""


def test_head_closing_the_pipe_ends_cat_quietly(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """The reader leaves after 100 bytes of 40 MiB: exit 141 (as a program killed by
    SIGPIPE), no message, nothing left on disk."""
    data = os.urandom(40 * MiB)
    (tmp_path / "big").write_bytes(data)
    s3aio(local, "mb", f"s3://{bucket_name}")
    s3aio(local, "cp", str(tmp_path / "big"), f"s3://{bucket_name}/big")
    (tmp_path / "run").mkdir()
    for command in ("cat", "cp"):
        source = f"s3://{bucket_name}/big" + (" -" if command == "cp" else "")
        out = pipeline(
            local,
            f"$S3AIO {command} {source} 2>err | head -c 100",
            cwd=tmp_path / "run",
            check=False,
        )
        assert out.returncode == 141
        assert out.stdout == data[:100]
        assert (tmp_path / "run" / "err").read_bytes() == b""
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["err"]


def test_failures_fail_the_pipeline(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    s3aio(local, "mb", f"s3://{bucket_name}")
    missing = pipeline(local, f"$S3AIO cat s3://{bucket_name}/nope | wc -c", check=False)
    assert missing.returncode == 1
    assert missing.stderr == f"s3aio: error: s3://{bucket_name}/nope does not exist\n".encode()
    nokey = pipeline(local, f"echo hi | $S3AIO cp - s3://{bucket_name}/", check=False)
    assert nokey.returncode == 2
    assert b"names no object" in nokey.stderr
    tree = pipeline(local, f"echo hi | $S3AIO cp -r - s3://{bucket_name}/k", check=False)
    assert tree.returncode == 2
    # A stream too long for 10,000 parts at the part size given: refused, naming the
    # part size to use, before anything is sent.
    small = f"--part-size 5MiB --expected-size 5TiB s3://{bucket_name}/huge"
    huge = pipeline(local, f"echo hi | $S3AIO cp - {small}", check=False)
    assert huge.returncode == 1
    assert b"needs more than 10,000 parts from part_size=5242880: use part_size=" in huge.stderr
    assert uploads_in_progress(local, bucket_name) == []
    assert s3aio(local, "ls", f"s3://{bucket_name}/").stdout == ""


def test_a_failed_stream_upload_is_aborted_and_exits_1(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    s3aio(local, "mb", f"s3://{bucket_name}")
    parts = matching("PUT", query_has="partNumber")
    third = FaultRule("status500", match=lambda m, p: parts(m, p) and "partNumber=3&" in p)
    with FaultProxy(local.endpoint_url, rules=[third]) as proxy:
        out = pipeline(
            local,
            f"head -c {30 * MiB} /dev/urandom | $S3AIO cp - s3://{bucket_name}/k",
            endpoint=proxy.url,
            check=False,
        )
    assert out.returncode == 1
    assert out.stderr.startswith(b"s3aio: error: ")
    assert b"Traceback" not in out.stderr
    assert uploads_in_progress(local, bucket_name) == []
    assert s3aio(local, "ls", f"s3://{bucket_name}/").stdout == ""


def test_cat_of_bytes_that_disagree_with_the_checksum_exits_1(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB)
    (tmp_path / "f").write_bytes(data)
    s3aio(local, "mb", f"s3://{bucket_name}")
    s3aio(local, "cp", str(tmp_path / "f"), f"s3://{bucket_name}/f")
    corrupt = FaultRule("corrupt_reply", match=matching("GET", path_contains="/f"))
    with FaultProxy(local.endpoint_url, rules=[corrupt]) as proxy:
        out = pipeline(
            local, f"$S3AIO cat s3://{bucket_name}/f | wc -c", endpoint=proxy.url, check=False
        )
    assert out.returncode == 1
    assert b"do not match the object's checksum" in out.stderr
    assert out.stdout.strip() == str(len(data)).encode()


@pytest.mark.parametrize(("span", "expected"), [("10-19", (10, 20)), ("3145720-", (3145720, None))])
def test_cat_range(
    local: ServerInfo, bucket_name: str, tmp_path: Path, span: str, expected: tuple[int, int | None]
) -> None:
    data = os.urandom(3 * MiB)
    (tmp_path / "f").write_bytes(data)
    s3aio(local, "mb", f"s3://{bucket_name}")
    s3aio(local, "cp", str(tmp_path / "f"), f"s3://{bucket_name}/f")
    out = pipeline(local, f"$S3AIO cat --range {span} s3://{bucket_name}/f | cat")
    assert out.stdout == data[expected[0] : expected[1]]
