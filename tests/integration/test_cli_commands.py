"""``s3aio mv``, ``stat``, ``rm`` of several URLs, ``ls`` globs, exit codes, ``--quiet``
and ``--json``: run as a subprocess against the embedded server."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from clirunner import pipeline, s3aio
from servers import ServerInfo, s3_client

MiB = 1024 * 1024


def keys(info: ServerInfo, url: str) -> list[str]:
    listing = s3aio(info, "--json", "ls", "-r", url).stdout.splitlines()
    return sorted(json.loads(line)["key"] for line in listing)


def tree(root: Path) -> dict[str, bytes]:
    files = {"one": b"1", "d/two": b"22", "d/e/three": b"333", "sp ace+ü.txt": b"odd"}
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


def test_mv_leaves_no_source(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    files = tree(tmp_path / "src")
    (tmp_path / "single").write_bytes(b"single")
    s3aio(local, "mv", str(tmp_path / "single"), f"{url}/single")
    assert not (tmp_path / "single").exists()
    s3aio(local, "mv", "-r", str(tmp_path / "src"), f"{url}/up")
    assert not (tmp_path / "src").exists()  # files moved, emptied folders removed
    s3aio(local, "mv", "-r", f"{url}/up/", f"{url}/moved/")
    assert keys(local, f"{url}/up/") == []
    assert keys(local, f"{url}/moved/") == sorted(f"moved/{name}" for name in files)
    s3aio(local, "mv", "-r", f"{url}/moved/", str(tmp_path / "back"))
    assert keys(local, f"{url}/moved/") == []
    for name, content in files.items():
        assert (tmp_path / "back" / name).read_bytes() == content
    s3aio(local, "mv", f"{url}/single", str(tmp_path / "single.txt"))
    assert (tmp_path / "single.txt").read_bytes() == b"single"
    assert keys(local, url) == []


def test_mv_keeps_the_source_of_what_failed(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """A download blocked by a folder of the same name fails; the others move, the
    failed object stays, and the exit status and summary say so."""
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    tree(tmp_path / "src")
    s3aio(local, "cp", "-r", str(tmp_path / "src"), f"{url}/t")
    (tmp_path / "out/d/two/occupied").mkdir(parents=True)
    moved = s3aio(local, "mv", "-r", f"{url}/t/", str(tmp_path / "out"), check=False)
    assert moved.returncode == 1
    assert moved.stderr.splitlines()[0] == "s3aio: error: 1 failed, 3 done:"
    assert moved.stderr.splitlines()[1].startswith(f"  {url}/t/d/two: ")
    assert keys(local, url) == ["t/d/two"]
    assert (tmp_path / "out/d/e/three").read_bytes() == b"333"


def test_mv_onto_itself_is_refused(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    (tmp_path / "f").write_bytes(b"kept")
    s3aio(local, "cp", str(tmp_path / "f"), f"{url}/f")
    refused = s3aio(local, "mv", f"{url}/f", f"{url}/f", check=False)
    assert refused.returncode == 2
    assert "cannot move s3://" in refused.stderr
    assert keys(local, url) == ["f"]
    assert s3aio(local, "mv", f"{url}/f", "-", check=False).returncode == 2


def test_a_tree_copy_finishes_the_others_and_lists_failures(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    tree(tmp_path / "src")
    s3aio(local, "cp", "-r", str(tmp_path / "src"), f"{url}/t")
    for name in ("one", "d/two"):
        (tmp_path / "out" / name / "blocker").mkdir(parents=True)
    copied = s3aio(local, "cp", "-r", f"{url}/t/", str(tmp_path / "out"), check=False)
    assert copied.returncode == 1
    lines = copied.stderr.splitlines()
    assert lines[0] == "s3aio: error: 2 failed, 2 done:"
    assert [line.split(": ")[0] for line in lines[1:]] == [f"  {url}/t/d/two", f"  {url}/t/one"]
    assert (tmp_path / "out/d/e/three").read_bytes() == b"333"
    assert (tmp_path / "out/sp ace+ü.txt").read_bytes() == b"odd"
    summary = copied.stdout.splitlines()[-1]
    assert summary.startswith("2 files, 6 B in ")
    assert summary.endswith("/s); 2 failed")


def test_stat(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    (tmp_path / "big.bin").write_bytes(os.urandom(17 * MiB))
    s3aio(
        local,
        "cp",
        "--part-size",
        "6MiB",
        "--metadata",
        "owner=me",
        str(tmp_path / "big.bin"),
        f"{url}/big.bin",
    )
    found = json.loads(s3aio(local, "--json", "stat", f"{url}/big.bin").stdout)
    assert found["url"] == f"{url}/big.bin"
    assert found["size"] == 17 * MiB
    assert found["parts_count"] == 3
    assert found["etag"].endswith('-3"')
    assert found["content_type"] == "application/octet-stream"
    assert found["metadata"] == {"owner": "me"}
    assert found["checksum_type"] == "COMPOSITE"
    ((algorithm, value),) = found["checksums"].items()
    assert value.endswith("-3")
    text = s3aio(local, "stat", f"{url}/big.bin").stdout.splitlines()
    assert text[0] == f"{url}/big.bin"
    rows = dict(line.strip().split(": ", 1) for line in text[1:])
    assert rows["size"].strip() == f"{17 * MiB} (17.0 MiB)"
    assert rows["parts"].strip() == "3"
    assert rows["checksum"].strip() == f"{algorithm} {value} (COMPOSITE)"
    assert rows["metadata owner"].strip() == "me"
    missing = s3aio(local, "stat", f"{url}/nope", check=False)
    assert (missing.returncode, missing.stderr) == (1, f"s3aio: error: {url}/nope does not exist\n")


def test_rm_several_urls_and_dry_run(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    tree(tmp_path / "src")
    s3aio(local, "cp", "-r", str(tmp_path / "src"), f"{url}/t")
    before = keys(local, url)
    dry = s3aio(local, "rm", "--dryrun", "-r", f"{url}/t/d/", f"{url}/t/one").stdout
    assert dry.splitlines() == [
        f"(dryrun) delete: {url}/t/d/e/three",
        f"(dryrun) delete: {url}/t/d/two",
        f"(dryrun) delete: {url}/t/one",
    ]
    assert keys(local, url) == before
    out = s3aio(local, "rm", f"{url}/t/one", f"{url}/t/missing", f"{url}/t/d/two", check=False)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [f"deleted {url}/t/one", f"deleted {url}/t/d/two"]
    assert out.stderr.splitlines() == [
        "s3aio: error: 1 failed, 2 done:",
        f"  {url}/t/missing: {url}/t/missing does not exist",
    ]
    assert keys(local, url) == ["t/d/e/three", "t/sp ace+ü.txt"]
    assert s3aio(local, "rm", f"{url}/", check=False).returncode == 2


@pytest.mark.parametrize(
    ("pattern", "listed"),
    [
        ("logs/*.gz", ["logs/a.gz", "logs/b.gz"]),  # one level, as a shell's ls
        ("logs/?.gz", ["logs/a.gz", "logs/b.gz"]),
        ("logs/[a]*", ["logs/a.gz", "logs/a.txt"]),
        ("logs/[!a]*", ["PRE logs/x/", "logs/b.gz"]),
        ("logs/*/*.gz", ["logs/x/c.gz", "logs/x/y/d.gz"]),  # a "/" after: every key below
        ("*/*.txt", ["logs/a.txt"]),
        ("l*", ["PRE logs/"]),
        ("logs/a.gz", ["logs/a.gz"]),
    ],
)
def test_ls_globs(
    local: ServerInfo, bucket_name: str, tmp_path: Path, pattern: str, listed: list[str]
) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    for name in ("logs/a.gz", "logs/b.gz", "logs/a.txt", "logs/x/c.gz", "logs/x/y/d.gz"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    s3aio(local, "cp", "-r", str(tmp_path / "logs"), f"{url}/logs")
    lines = s3aio(local, "ls", f"{url}/{pattern}").stdout.splitlines()
    shown = [
        f"PRE {line.split()[-1]}" if line.split()[0] == "PRE" else line.split()[-1]
        for line in lines
    ]
    assert sorted(shown) == sorted(listed)


def test_quiet_and_json(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    files = tree(tmp_path / "src")
    quiet = s3aio(local, "--quiet", "cp", "-r", str(tmp_path / "src"), f"{url}/q")
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert len(s3aio(local, "-q", "ls", "-r", url).stdout.splitlines()) == len(files)
    failed = s3aio(local, "-q", "rm", f"{url}/nope", check=False)
    assert (failed.returncode, failed.stderr) == (1, f"s3aio: error: {url}/nope does not exist\n")
    out = s3aio(local, "--json", "cp", "-r", str(tmp_path / "src"), f"{url}/j").stdout
    records = [json.loads(line) for line in out.splitlines()]
    per_file = sorted((r["source"], r["target"], r["bytes"], r["status"]) for r in records[:-1])
    assert per_file == sorted(
        (str(tmp_path / "src" / name), f"{url}/j/{name}", len(content), "ok")
        for name, content in files.items()
    )
    summary = records[-1]
    assert summary["summary"] is True
    assert (summary["files"], summary["bytes"], summary["failed"]) == (4, 9, 0)
    assert summary["seconds"] >= 0
    assert summary["bytes_per_second"] >= 0
    lines = s3aio(local, "--json", "ls", f"{url}/j/").stdout.splitlines()
    listed = [json.loads(line) for line in lines]
    assert {"prefix": "j/d/"} in listed
    assert {r["key"] for r in listed if "key" in r} == {"j/one", "j/sp ace+ü.txt"}
    removed = s3aio(local, "--json", "rm", "-r", f"{url}/j/").stdout.splitlines()
    assert sorted(json.loads(line)["url"] for line in removed) == sorted(
        f"{url}/j/{name}" for name in files
    )


def test_a_closed_pipe_ends_the_output_quietly(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket_name}"
    s3aio(local, "mb", url)
    tree(tmp_path / "src")
    s3aio(local, "cp", "-r", str(tmp_path / "src"), f"{url}/t")
    many = " ".join([f"{url}/t/"] * 500)  # 2,000 lines: more than a pipe holds
    out = pipeline(local, f"$S3AIO rm --dryrun -r {many} | head -c 10", check=False)
    assert (out.returncode, out.stdout, out.stderr) == (141, b"(dryrun) d", b"")
    assert len(keys(local, url)) == 4


def test_rm_and_rb_delete_thousands_as_they_list(local: ServerInfo, bucket_name: str) -> None:
    """2,500 keys: ``rm -r`` lists and deletes them in batches of 1,000 (three
    DeleteObjects, several at once); ``rb --force`` empties and removes a bucket."""

    async def fill(count: int) -> None:
        async with s3_client(local, max_connections=64) as client:
            await client.create_bucket(bucket_name)
            slots = asyncio.Semaphore(64)

            async def put(number: int) -> None:
                async with slots:
                    await client.put_object(bucket_name, f"d/{number:05d}", b"x")

            await asyncio.gather(*(put(n) for n in range(count)))

    asyncio.run(fill(2500))
    out = s3aio(local, "rm", "-r", f"s3://{bucket_name}/d/")
    assert out.stdout == f"deleted 2500 objects under s3://{bucket_name}/d/\n"
    assert keys(local, f"s3://{bucket_name}") == []
    s3aio(local, "rb", f"s3://{bucket_name}")
    asyncio.run(fill(1500))
    s3aio(local, "rb", "--force", f"s3://{bucket_name}")
    assert bucket_name not in s3aio(local, "ls").stdout
