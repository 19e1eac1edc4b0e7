"""``s3aio sync``, run as a subprocess against the embedded server (and SeaweedFS)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from clirunner import S3AIO, cli_env, killed_then_rerun, s3aio, stalling_parts
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo

from s3_asyncio_client import Client

MiB = 1024 * 1024
ODD = {
    "top.txt": b"top",
    "a/b/c/d/e/deep.bin": os.urandom(1000),
    "with space/plus+sign%20~.txt": b"odd",
    "ünï/cødé ✓.txt": b"unicode",
    "a/empty": b"",
    "a-c/empty too": b"",
}


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def tree_of(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time (ns)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def sync(info: ServerInfo, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return s3aio(info, "sync", *args, check=check, timeout=300)


def summary(result: subprocess.CompletedProcess[str]) -> str:
    """The counts of the last line: "N transferred (...), N deleted, N unchanged, N failed"."""
    last = result.stdout.splitlines()[-1]
    assert last.startswith("sync: "), result.stdout
    return last.removeprefix("sync: ").partition(" in ")[0]


def nothing_to_do(info: ServerInfo, *args: str) -> None:
    """A dry run of ``sync ARGS`` plans nothing, and a real run transfers nothing."""
    planned = sync(info, "--dryrun", *args).stdout.splitlines()
    assert planned[-1].startswith("(dryrun) sync: 0 to transfer (0 B), 0 to delete, "), planned
    assert len(planned) == 1
    assert summary(sync(info, *args)).startswith("0 transferred (0 B), 0 deleted, ")


def client(info: ServerInfo) -> Client:
    return Client(info.endpoint_url, access_key=info.access_key, secret_key=info.secret_key)


def keys(info: ServerInfo, url: str) -> list[str]:
    """The keys under an ``s3://bucket/prefix`` URL."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    with client(info) as c:
        return sorted(entry.name for entry in c.bucket(bucket).list_objects(prefix))


@pytest.mark.parametrize("server", ["local", "seaweedfs"])
def test_tree_up_down_and_across_then_nothing_to_do(
    server: str, request: pytest.FixtureRequest, bucket_name: str, tmp_path: Path
) -> None:
    info: ServerInfo = request.getfixturevalue(server)
    tree, down = tmp_path / "tree", tmp_path / "down"
    make_tree(tree, {**ODD, "big/forty.bin": os.urandom(40 * MiB)})
    url = f"s3://{bucket_name}"
    s3aio(info, "mb", url)
    up = sync(info, str(tree), f"{url}/up")
    assert summary(up) == f"{len(ODD) + 1} transferred (40.0 MiB), 0 deleted, 0 unchanged, 0 failed"
    assert f"{tree / 'ünï/cødé ✓.txt'} -> {url}/up/ünï/cødé ✓.txt: 7 B in " in up.stdout
    assert len(keys(info, f"{url}/up/")) == len(ODD) + 1
    nothing_to_do(info, str(tree), f"{url}/up")
    # Down: the bytes and the modification times come back.
    sync(info, f"{url}/up", str(down))
    assert tree_of(down) == tree_of(tree)
    nothing_to_do(info, f"{url}/up", str(down))
    nothing_to_do(info, str(down), f"{url}/up")
    nothing_to_do(info, "--exact-timestamps", f"{url}/up", str(down))
    nothing_to_do(info, "--exact-timestamps", str(down), f"{url}/up")
    # Across, server-side: the copies keep the times, so back down is nothing new.
    across = sync(info, f"{url}/up/", f"{url}/copy/")
    assert summary(across).startswith(f"{len(ODD) + 1} transferred (40.0 MiB), 0 deleted")
    nothing_to_do(info, f"{url}/up/", f"{url}/copy/")
    nothing_to_do(info, f"{url}/copy", str(down))
    if server == "local":
        nothing_to_do(info, "--checksum", str(tree), f"{url}/copy")


def test_changed_deleted_filtered_and_dry_runs(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    make_tree(tree, ODD)
    make_tree(tree, {"logs/x.log": b"log", "keep.png": b"png"})
    url = f"s3://{bucket_name}/t"
    s3aio(local, "mb", f"s3://{bucket_name}")
    sync(local, str(tree), url)
    before = keys(local, f"{url}/")
    (tree / "top.txt").write_bytes(b"changed, longer")
    (tree / "a/empty").unlink()
    (tree / "logs/x.log").unlink()
    planned = sync(local, "--dryrun", "--delete", str(tree), url).stdout.splitlines()
    assert planned[:-1] == [
        f"(dryrun) upload: {tree / 'top.txt'} -> {url}/top.txt",
        f"(dryrun) delete: {url}/a/empty",
        f"(dryrun) delete: {url}/logs/x.log",
    ]
    assert keys(local, f"{url}/") == before  # the dry run changed nothing
    # Without --delete the extras stay; filtered names are neither sent nor deleted.
    assert summary(sync(local, str(tree), url)).startswith("1 transferred (15 B), 0 deleted")
    assert keys(local, f"{url}/") == before
    out = sync(local, "--delete", "--exclude", "logs/*", str(tree), url)
    assert summary(out).startswith("0 transferred (0 B), 1 deleted")
    assert f"deleted {url}/a/empty" in out.stdout
    assert "t/logs/x.log" in keys(local, f"{url}/")
    # Includes after excludes take names back: only *.png, from a fresh prefix.
    other = f"s3://{bucket_name}/png"
    sync(local, "--exclude", "*", "--include", "*.png", str(tree), other)
    assert keys(local, f"{other}/") == ["png/keep.png"]
    sync(local, "--include", "*.png", "--exclude", "*", str(tree), f"{other}2")
    assert keys(local, f"{other}2/") == []
    # Bucket to bucket with --delete: server-side copies, DeleteObjects for extras.
    with client(local) as c:
        c.bucket(bucket_name).object("mirror/extra").put_content(b"extra")
    out = sync(local, "--delete", url, f"s3://{bucket_name}/mirror")
    assert summary(out).startswith(f"{len(keys(local, f'{url}/'))} transferred")
    assert f"deleted s3://{bucket_name}/mirror/extra" in out.stdout
    mirrored = keys(local, f"s3://{bucket_name}/mirror/")
    assert [k.removeprefix("mirror/") for k in mirrored] == [
        k.removeprefix("t/") for k in keys(local, f"{url}/")
    ]
    # Down with --delete removes local extras, but not excluded ones.
    down = tmp_path / "down"
    make_tree(down, {"extra.txt": b"x", "mine.tmp": b"y"})
    sync(local, "--delete", "--exclude", "*.tmp", url, str(down))
    assert not (down / "extra.txt").exists()
    assert (down / "mine.tmp").read_bytes() == b"y"
    assert (down / "top.txt").read_bytes() == b"changed, longer"


def test_checksum_sees_a_change_that_size_and_time_do_not(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    make_tree(tree, {"small.txt": b"aaaa", "big.bin": os.urandom(20 * MiB)})
    url = f"s3://{bucket_name}/c"
    s3aio(local, "mb", f"s3://{bucket_name}")
    sync(local, "--part-size", "8MiB", str(tree), url)  # big.bin: a composite of 3 parts
    for name, offset in (("small.txt", 1), ("big.bin", 17 * MiB)):
        path, stat = tree / name, (tree / name).stat()
        with path.open("r+b") as f:
            f.seek(offset)
            f.write(b"Z")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert summary(sync(local, str(tree), url)).startswith("0 transferred")
    out = sync(local, "--checksum", str(tree), url)
    assert summary(out).startswith("2 transferred")
    nothing_to_do(local, "--checksum", str(tree), url)
    down = tmp_path / "down"
    sync(local, url, str(down))
    assert tree_of(down) == tree_of(tree)


def test_killed_sync_resumes(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    """kill -9 mid-sync of a large file; the same command again completes it,
    sending only what the upload journal lacks."""
    size, part = 40 * MiB, 8 * MiB
    data = os.urandom(size)
    make_tree(tmp_path / "tree", {"big.bin": data, "small.txt": b"small"})
    s3aio(local, "mb", f"s3://{bucket_name}")
    env = cli_env(local, XDG_CACHE_HOME=str(tmp_path / "cache"))
    journals = tmp_path / "cache" / "s3-asyncio-client" / "uploads"
    with FaultProxy(local.endpoint_url, rules=[stalling_parts(4, 5)]) as proxy:
        command = [*S3AIO, "--endpoint-url", proxy.url, "sync", "--part-size", "8MiB"]
        command += ["--concurrency", "2", str(tmp_path / "tree"), f"s3://{bucket_name}/t"]
        resent = killed_then_rerun(command, env, journals, proxy)
    assert resent < size - 2 * part
    back = tmp_path / "back"
    sync(local, f"s3://{bucket_name}/t", str(back))
    assert (back / "big.bin").read_bytes() == data
    assert (back / "small.txt").read_bytes() == b"small"


def test_failures_exit_1_after_the_rest_and_usage_errors_exit_2(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket_name}"
    with client(local) as c:
        bucket = c.bucket(bucket_name).create()
        for key in ("d/blocked", "d/fine.txt", "d/z.txt", "esc/../evil.txt", "esc/ok.txt"):
            bucket.object(key).put_content(key.encode())
    down = tmp_path / "down"
    (down / "blocked").mkdir(parents=True)  # a folder where the file must go
    (down / "blocked" / "inside").write_bytes(b"in the way")
    failed = sync(local, f"{url}/d", str(down), check=False)
    assert failed.returncode == 1
    assert summary(failed).startswith("2 transferred (17 B), 0 deleted, 0 unchanged, 1 failed")
    assert failed.stderr.splitlines()[0] == "s3aio: error: 1 failed, 2 done:"
    assert failed.stderr.splitlines()[1].startswith(f"  {url}/d/blocked: ")
    assert (down / "z.txt").read_bytes() == b"d/z.txt"
    # A key that cannot be a file name is refused before anything is written.
    refused = sync(local, f"{url}/esc", str(tmp_path / "esc"), check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("s3aio: error: key 'esc/../evil.txt' ")
    assert not (tmp_path / "esc").exists()
    for args in (["a", "b"], ["--size-only", "--checksum", "a", url], ["--jobs", "0", "a", url]):
        assert sync(local, *args, check=False).returncode == 2


def test_a_file_that_fails_fails_alone(local: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    """The server fails every PUT of one file (500, through its retries): the other
    files are sent, the failed one is listed on stderr, and the exit status is 1."""
    tree = tmp_path / "tree"
    make_tree(tree, {"a.txt": b"a", "secret.txt": b"s", "z.txt": b"z"})
    s3aio(local, "mb", f"s3://{bucket_name}")
    rule = FaultRule("status500", match=matching("PUT", path_contains="secret.txt"))
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        failed = s3aio(
            local, "sync", str(tree), f"s3://{bucket_name}", endpoint=proxy.url, check=False
        )
    assert failed.returncode == 1
    assert summary(failed) == "2 transferred (2 B), 0 deleted, 0 unchanged, 1 failed"
    assert f"  {tree / 'secret.txt'}: " in failed.stderr
    assert keys(local, f"s3://{bucket_name}") == ["a.txt", "z.txt"]


def without_checksums(reply: Reply) -> Reply:
    """A server that keeps no checksum: its HEAD replies carry none."""
    for name, _ in list(reply.headers):
        if name.lower().startswith("x-amz-checksum-"):
            reply.set_header(name, None)
    return reply


def test_checksum_without_stored_checksums_falls_back_to_size_and_time(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    make_tree(tree, {"a.txt": b"aaaa", "b.txt": b"bbbb", "c.txt": b"cccc"})
    url = f"s3://{bucket_name}/n"
    s3aio(local, "mb", f"s3://{bucket_name}")
    sync(local, str(tree), url)
    stat = (tree / "a.txt").stat()
    (tree / "a.txt").write_bytes(b"AAAA")  # same size, same time: only content tells
    os.utime(tree / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (tree / "b.txt").write_bytes(b"BBBB")  # same size, newer: time tells
    os.utime(tree / "b.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))
    rule = FaultRule("rewrite", match=matching("HEAD"), rewrite=without_checksums)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        out = s3aio(local, "sync", "--checksum", str(tree), url, endpoint=proxy.url)
    assert summary(out) == "1 transferred (4 B), 0 deleted, 2 unchanged, 0 failed"
    assert f"{tree / 'b.txt'} -> {url}/b.txt: " in out.stdout
    assert out.stderr == (
        "s3aio: 3 objects keep no checksum to compare with: "
        "compared by size and modification time\n"
    )
    # With the checksums, the change of a.txt shows.
    out = sync(local, "--checksum", str(tree), url)
    assert summary(out) == "1 transferred (4 B), 0 deleted, 2 unchanged, 0 failed"
    assert f"{tree / 'a.txt'} -> {url}/a.txt: " in out.stdout
