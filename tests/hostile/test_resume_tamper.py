"""Resuming an upload whose file was rewritten in place, keeping its size and mtime
(``cp -p``, ``rsync -t``, ``tar x``): every part the journal would skip is checked
against the file first, and a changed one is sent again, so the object is the new
file exactly; the untouched parts are still skipped. And the journal, which names
endpoints, keys, paths and upload ids, is private: 0600 in a 0700 folder."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo

from s3_asyncio_client import (
    MultipartUpload,
    RetryConfig,
    S3Client,
    S3NoSuchKeyError,
    S3ServerError,
    TransferConfig,
)
from s3_asyncio_client.client import Checksum

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part SeaweedFS takes
SIZE = 3 * PART
UPLOAD_PART = matching("PUT", query_has="partNumber")
LIST_PARTS = matching("GET", query_has="uploadId")
QUICK = RetryConfig(max_attempts=2, base_delay=0.01, throttle_delay=0.01)


@pytest.fixture(params=["local", "seaweedfs"])
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


@pytest.fixture
def proxy(server: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(server.endpoint_url) as running:
        yield running


def client_through(proxy: FaultProxy, server: ServerInfo, checksum: Checksum = "auto") -> S3Client:
    return S3Client(
        access_key=server.access_key,
        secret_key=server.secret_key,
        endpoint_url=proxy.url,
        retry=QUICK,
        checksum=checksum,
    )


def transfer_config(journal_dir: Path | None) -> TransferConfig:
    return TransferConfig(
        part_size=PART,
        multipart_threshold=PART,
        max_concurrency=1,  # parts in order: 1 and 2 are stored when 3 fails
        journal_dir=str(journal_dir) if journal_dir else None,
    )


def part_3_fails() -> FaultRule:
    return FaultRule("status500", match=lambda m, p: UPLOAD_PART(m, p) and "partNumber=3&" in p)


async def interrupted_upload(
    client: S3Client, proxy: FaultProxy, bucket: str, source: Path, config: TransferConfig
) -> None:
    """Upload ``source`` until part 3 fails for good: parts 1 and 2 stay stored,
    and journaled, for a resume."""
    proxy.set_rules([part_3_fails()])
    with pytest.raises(S3ServerError):
        await client.upload_file(bucket, "obj", source, config=config)
    uploads = [u async for u in client.iter_multipart_uploads(bucket)]
    assert len(uploads) == 1


def rewrite_in_place(path: Path, offset: int, data: bytes) -> bytes:
    """Change bytes of ``path`` and set its mtime back, as ``cp -p`` would leave it;
    returns the file's new content."""
    before = path.stat()
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return path.read_bytes()


def without_checksums(reply: Reply) -> Reply:
    """A ListParts reply from a server that keeps no part checksums."""
    assert isinstance(reply.body, bytes)
    reply.body = re.sub(rb"<(Checksum[A-Z0-9]+)>[^<]*</\1>", b"", reply.body)
    reply.set_header("Content-Length", str(len(reply.body)))
    return reply


async def resume_and_check(
    client: S3Client,
    proxy: FaultProxy,
    bucket: str,
    source: Path,
    config: TransferConfig,
    *,
    expected: bytes,
    resent: int,
) -> None:
    """Resume: ``resent`` parts go out again, the rest are skipped, and the object is
    ``expected`` (the file as it is now) with no upload or journal left behind."""
    proxy.reset_stats()
    result = await client.upload_file(bucket, "obj", source, config=config)
    assert result["size"] == SIZE
    assert result["skipped_bytes"] == SIZE - resent * PART
    sent = proxy.stats.request_bytes_forwarded  # the parts, and a small Complete body
    assert resent * PART <= sent < resent * PART + 64 * 1024
    assert (await client.get_object(bucket, "obj"))["body"] == expected
    assert [u async for u in client.iter_multipart_uploads(bucket)] == []
    assert config.journal_dir is not None
    assert list(Path(config.journal_dir).iterdir()) == []


@pytest.mark.parametrize("lists_checksums", [True, False], ids=["as-listed", "checksums-removed"])
async def test_a_part_rewritten_keeping_size_and_mtime_is_sent_again(
    server: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path, lists_checksums: bool
) -> None:
    """Compared with the checksum ListParts gives, or, from a server that lists none,
    the one the journal recorded."""
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(SIZE))
    config = transfer_config(tmp_path / "journal")
    async with client_through(proxy, server) as client:
        await client.create_bucket(bucket_name)
        await interrupted_upload(client, proxy, bucket_name, source, config)
        new = rewrite_in_place(source, 4321, os.urandom(1000))  # inside part 1
        rules = (
            [] if lists_checksums else [FaultRule("rewrite", LIST_PARTS, rewrite=without_checksums)]
        )
        proxy.set_rules(rules)
        await resume_and_check(client, proxy, bucket_name, source, config, expected=new, resent=2)
        assert proxy.stats.faults["rewrite"] == (0 if lists_checksums else 1)


@pytest.mark.parametrize("journal", ["current", "earlier version"])
async def test_without_checksums_the_journal_has_the_md5_of_what_was_sent(
    server: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path, journal: str
) -> None:
    """An upload with no checksum algorithm: the journal keeps each part's MD5. A
    journal of an earlier version has none: the plain-MD5 ETag is all there is."""
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(SIZE))
    config = transfer_config(tmp_path / "journal")
    async with client_through(proxy, server, checksum=None) as client:
        await client.create_bucket(bucket_name)
        await interrupted_upload(client, proxy, bucket_name, source, config)
        (path,) = (tmp_path / "journal").iterdir()
        header, *parts = [json.loads(line) for line in path.read_text().splitlines()]
        assert [p["part_number"] for p in parts] == [1, 2]
        assert all(len(p["md5"]) == 24 for p in parts)
        if journal == "earlier version":
            lines = [header] + [{k: v for k, v in p.items() if k != "md5"} for p in parts]
            path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        new = rewrite_in_place(source, PART + 17, b"changed")  # inside part 2
        proxy.set_rules([])
        await resume_and_check(client, proxy, bucket_name, source, config, expected=new, resent=2)


async def test_an_untouched_file_is_not_sent_again(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """The check reads the skipped parts; it sends nothing more."""
    source = tmp_path / "data.bin"
    data = os.urandom(SIZE)
    source.write_bytes(data)
    config = transfer_config(tmp_path / "journal")
    with FaultProxy(local.endpoint_url) as proxy:
        async with client_through(proxy, local) as client:
            await client.create_bucket(bucket_name)
            await interrupted_upload(client, proxy, bucket_name, source, config)
            proxy.set_rules([])
            await resume_and_check(
                client, proxy, bucket_name, source, config, expected=data, resent=1
            )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_022")
async def test_journals_are_private(
    local: ServerInfo, bucket_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0600 files in a 0700 folder under umask 022; the default folder, left 0755 by
    an earlier version, is narrowed, and so is a 0644 journal it wrote; a folder the
    user chose keeps its mode (the journals in it are 0600)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    default = tmp_path / "cache" / "s3-asyncio-client" / "uploads"
    default.mkdir(parents=True, mode=0o755)
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(SIZE))
    with FaultProxy(local.endpoint_url) as proxy:
        async with client_through(proxy, local) as client:
            await client.create_bucket(bucket_name)
            for folder, folder_mode in [
                (tmp_path / "new", 0o700),
                (default, 0o700),
                (chosen, 0o755),
            ]:
                config = transfer_config(None if folder == default else folder)
                await interrupted_upload(client, proxy, bucket_name, source, config)
                (journal,) = folder.iterdir()  # no temporary file left beside it
                assert (mode(journal), mode(folder)) == (0o600, folder_mode)
                journal.chmod(0o644)  # as an earlier version wrote it
                await interrupted_upload(client, proxy, bucket_name, source, config)
                assert (mode(journal), mode(folder)) == (0o600, folder_mode)
                journal.unlink()
                async for left in client.iter_multipart_uploads(bucket_name):
                    await MultipartUpload(client, bucket_name, "obj", left["upload_id"]).abort()
            with pytest.raises(S3NoSuchKeyError):
                await client.head_object(bucket_name, "obj")
