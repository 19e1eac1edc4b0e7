"""The ``s3aio`` command line, run as a subprocess against the embedded server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from clirunner import S3AIO, cli_env, killed_then_rerun, s3aio, stalling_parts
from faultproxy import FaultProxy
from servers import ServerInfo

from s3_asyncio_client import Client

MiB = 1024 * 1024


def test_bucket_and_object_commands(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    assert s3aio(local, "mb", url).stdout == f"made bucket {url}\n"
    assert bucket_name in s3aio(local, "ls").stdout
    data = os.urandom(3 * MiB + 5)
    (tmp_path / "file.bin").write_bytes(data)
    out = s3aio(local, "cp", str(tmp_path / "file.bin"), f"{url}/dir/").stdout
    # Not a terminal: one plain summary line per file, no bars.
    assert out.startswith(f"{tmp_path / 'file.bin'} -> {url}/dir/file.bin: 3.0 MiB in ")
    assert "\x1b[" not in out
    listing = s3aio(local, "ls", f"{url}/").stdout.splitlines()
    assert listing == [f"{'PRE':>32}  dir/"]
    assert s3aio(local, "ls", "--bytes", f"{url}/dir/").stdout.split()[-2:] == [
        str(len(data)),
        "dir/file.bin",
    ]
    s3aio(local, "cp", f"{url}/dir/file.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    s3aio(local, "cp", f"{url}/dir/file.bin", f"{url}/copy.bin")
    s3aio(local, "cp", f"{url}/copy.bin", str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == data
    presigned = s3aio(local, "presign", f"{url}/copy.bin", "--expires", "60").stdout.strip()
    assert presigned.startswith(f"{local.endpoint_url}/{bucket_name}/copy.bin?X-Amz-Algorithm=")
    assert local.secret_key not in presigned
    assert s3aio(local, "rm", f"{url}/copy.bin").stdout == f"deleted {url}/copy.bin\n"
    refused = s3aio(local, "rb", url, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("s3aio: error: BucketNotEmpty 409")
    assert s3aio(local, "rb", "--force", url).stdout == f"removed bucket {url}\n"


def test_recursive_trees_with_odd_names(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    files = {
        "top.txt": b"top",
        "a/b/c/deep.bin": os.urandom(1000),
        "with space/plus+sign~tilde.txt": b"odd",
        "ünï/cødé.txt": b"unicode",
        "a/empty": b"",
    }
    for name, content in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(content)
    s3aio(local, "mb", f"s3://{bucket_name}")
    s3aio(local, "cp", "--recursive", str(tree), f"s3://{bucket_name}/up")
    keys = [
        line.split()[-1]
        for line in s3aio(
            local, "ls", "-r", "--bytes", f"s3://{bucket_name}/up/"
        ).stdout.splitlines()
    ]
    assert len(keys) == len(files)
    s3aio(local, "cp", "-r", f"s3://{bucket_name}/up/", str(tmp_path / "down"))
    for name, content in files.items():
        assert (tmp_path / "down" / name).read_bytes() == content
    s3aio(local, "cp", "-r", f"s3://{bucket_name}/up/", f"s3://{bucket_name}/copy/")
    removed = s3aio(local, "rm", "-r", f"s3://{bucket_name}/up/").stdout
    assert removed == f"deleted {len(files)} objects under s3://{bucket_name}/up/\n"
    remaining = s3aio(local, "ls", "-r", f"s3://{bucket_name}").stdout.splitlines()
    assert len(remaining) == len(files)
    assert all("copy/" in line for line in remaining)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "s3://no-such-bucket-x"], "s3aio: error: bucket 'no-such-bucket-x' does not exist"),
        (["cp", "s3://{b}/missing", "out"], "s3aio: error: s3://{b}/missing does not exist"),
        (
            ["cp", "no-such-file", "s3://{b}/k"],
            "s3aio: error: No such file or directory: no-such-file",
        ),
        (["rm", "s3://{b}/missing"], "s3aio: error: s3://{b}/missing does not exist"),
    ],
)
def test_errors_are_one_line(
    local: ServerInfo, bucket_name: str, tmp_path: Path, args: list[str], message: str
) -> None:
    s3aio(local, "mb", f"s3://{bucket_name}")
    result = s3aio(local, *[a.format(b=bucket_name) for a in args], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr == message.format(b=bucket_name) + "\n"
    assert "Traceback" not in result.stderr


def test_bad_credentials_and_unreachable_endpoint(local: ServerInfo) -> None:
    wrong = ServerInfo(
        name="x",
        endpoint_url=local.endpoint_url,
        access_key=local.access_key,
        secret_key="wrong-secret",
        checks_signatures=True,
        min_part_size=0,
    )
    result = s3aio(wrong, "ls", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("s3aio: error: access denied (SignatureDoesNotMatch)")
    assert "wrong-secret" not in result.stderr
    result = s3aio(local, "ls", endpoint="http://127.0.0.1:9", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("s3aio: error: endpoint unreachable: ")
    debug = s3aio(local, "--debug", "ls", endpoint="http://127.0.0.1:9", check=False)
    assert "Traceback" in debug.stderr


def test_usage_errors_exit_2(local: ServerInfo) -> None:
    result = s3aio(local, "cp", "a", "b", check=False)
    assert result.returncode == 2
    assert "one of SOURCE and TARGET must be an s3:// URL" in result.stderr
    result = s3aio(local, "cp", "--part-size", "tiny", "a", "s3://b/k", check=False)
    assert result.returncode == 2


def test_mpu_ls_and_abort(local: ServerInfo, bucket_name: str) -> None:
    import asyncio

    from s3_asyncio_client import S3Client

    async def start_upload() -> str:
        async with S3Client(
            endpoint_url=local.endpoint_url,
            access_key=local.access_key,
            secret_key=local.secret_key,
        ) as client:
            await client.create_bucket(bucket_name)
            upload = await client.create_multipart_upload(bucket_name, "pending/key")
            await client.create_multipart_upload(bucket_name, "other")
            return upload.upload_id

    upload_id = asyncio.run(start_upload())
    listed = s3aio(local, "mpu", "ls", f"s3://{bucket_name}").stdout
    assert upload_id in listed
    assert len(listed.splitlines()) == 2
    out = s3aio(
        local, "mpu", "abort", f"s3://{bucket_name}/pending/key", "--upload-id", upload_id
    ).stdout
    assert out == f"aborted {upload_id}\n"
    out = s3aio(local, "mpu", "abort", f"s3://{bucket_name}", "--older-than", "0s").stdout
    assert out.endswith("1 uploads aborted\n")
    assert s3aio(local, "mpu", "ls", f"s3://{bucket_name}").stdout == ""


def test_killed_cp_resumes(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    """kill -9 mid-``cp``; the same command again sends only what is missing."""
    size, part = 48 * MiB, 8 * MiB
    data = os.urandom(size)
    (tmp_path / "big.bin").write_bytes(data)
    s3aio(local, "mb", f"s3://{bucket_name}")
    env = cli_env(local, XDG_CACHE_HOME=str(tmp_path / "cache"))
    journals = tmp_path / "cache" / "s3-asyncio-client" / "uploads"
    with FaultProxy(local.endpoint_url, rules=[stalling_parts(4, 5, 6)]) as proxy:
        command = [*S3AIO, "--endpoint-url", proxy.url, "cp", "--concurrency", "2"]
        command += [str(tmp_path / "big.bin"), f"s3://{bucket_name}/big.bin"]
        resent = killed_then_rerun(command, env, journals, proxy)
    assert resent < size - 2 * part
    back = tmp_path / "back.bin"
    s3aio(local, "cp", f"s3://{bucket_name}/big.bin", str(back))
    assert back.read_bytes() == data


def test_demo_runs(local: ServerInfo, tmp_path: Path) -> None:
    result = subprocess.run(
        [*S3AIO, "demo", "--size", "24MiB"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "verified: the downloaded file is byte-for-byte the original" in out
    assert "notebook: parts uploaded in order [3, 1, 2]" in out
    assert "This should be first. This should be second. This should be third. " in out
    assert "throughput: upload" in out
    assert out.endswith("cleaned up; demo done\n")


def test_recursive_download_skips_folder_markers_and_refuses_escapes(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """Zero-byte keys ending in "/" (folders made by consoles and other tools) are
    skipped, as aws-cli skips them; the rest downloads, an empty file included. A key
    that would leave the target folder, or that holds data under a folder's name, is
    refused before anything is written."""
    objects = {
        "pre/": b"",
        "pre/q/": b"",
        "pre/q/sub/": b"",
        "pre/q/sub/f.txt": b"deep",
        "pre/a.txt": b"top",
        "pre/empty": b"",
        "abs//etc/x": b"rooted",
        "esc/../evil.txt": b"escape",
        "esc/ok.txt": b"fine",
        "dir/full/": b"data under a folder's name",
    }
    with Client(local.endpoint_url, access_key=local.access_key, secret_key=local.secret_key) as c:
        bucket = c.bucket(bucket_name).create()
        for key, body in objects.items():
            bucket.object(key).put_content(body)
    url = f"s3://{bucket_name}"
    down = tmp_path / "down"
    s3aio(local, "cp", "-r", f"{url}/pre/", str(down))
    tree = {p.relative_to(down).as_posix(): p.is_dir() for p in down.rglob("*")}
    assert tree == {"a.txt": False, "empty": False, "q": True, "q/sub": True, "q/sub/f.txt": False}
    assert (down / "q/sub/f.txt").read_bytes() == b"deep"
    assert (down / "empty").read_bytes() == b""
    s3aio(local, "cp", "-r", f"{url}/pre/", f"{url}/copy/")
    copied = s3aio(local, "ls", "-r", f"{url}/copy/").stdout
    assert sorted(line.split()[-1] for line in copied.splitlines()) == [
        "copy/a.txt",
        "copy/empty",
        "copy/q/sub/f.txt",
    ]
    s3aio(local, "cp", "-r", f"{url}/abs/", str(tmp_path / "abs"))
    assert (tmp_path / "abs/etc/x").read_bytes() == b"rooted"
    for prefix, key in (("esc/", "esc/../evil.txt"), ("dir/", "dir/full/")):
        refused = s3aio(local, "cp", "-r", f"{url}/{prefix}", str(tmp_path / "out"), check=False)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"s3aio: error: key {key!r} ")
        assert len(refused.stderr.splitlines()) == 1
        assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists()
