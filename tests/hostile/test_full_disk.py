"""A full disk: the server starts anyway, serves reads, refuses writes with 507
XMinioStorageFull and stores nothing of them, and writes work again once space is
freed, with no restart. On a small tmpfs, mounted for the test (as root; elsewhere
the tests are skipped, with the reason printed)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rawhttp import Reply, request

from s3_asyncio_client.protocol.signing import Credentials
from s3_asyncio_client.server import LocalS3Server

KEYS = Credentials("full-access", "full-secret")
KiB = 1024
KEPT = b"k" * 64 * KiB
NEW = b"n" * 512 * KiB  # under the server's 1 MiB write batch: read whole before any write


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}"
        print(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the file system, then free ``leave`` bytes; the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1024 * KiB, 4 * KiB, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        if leave:
            os.ftruncate(fd, os.fstat(fd).st_size - leave)
    finally:
        os.close(fd)
    return filler


def server_on(disk: Path) -> LocalS3Server:
    return LocalS3Server(
        disk / "root", access_key=KEYS.access_key, secret_key=KEYS.secret_key
    ).start()


def signed(server: LocalS3Server, method: str, path: str, **options: Any) -> Reply:
    return request(server.endpoint_url, method, path, credentials=KEYS, **options)


def upload_id(reply: Reply) -> str:
    assert reply.status == 200, reply.body
    return reply.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()


def assert_full(reply: Reply) -> None:
    assert (reply.status, reply.code) == (507, "XMinioStorageFull"), reply.body


def stored(server: LocalS3Server) -> tuple[list[str], int]:
    """(temp files, blob files) under the root."""
    root = server.root
    temps = sorted(p.name for p in (root / "tmp").iterdir())
    return temps, sum(1 for p in (root / "blobs").rglob("*") if p.is_file())


def test_full_disk_at_start(disk: Path) -> None:
    server = server_on(disk)
    try:
        assert signed(server, "PUT", "/full").status == 200
        assert signed(server, "PUT", "/full/kept", body=KEPT).status == 200
        upload = upload_id(signed(server, "POST", "/full/parts?uploads"))
    finally:
        server.stop()
    filler = fill(disk)
    server = server_on(disk)  # used to fail: SQLite could not open its index
    try:
        got = signed(server, "GET", "/full/kept")
        assert (got.status, got.body) == (200, KEPT)
        assert b"<Key>kept</Key>" in signed(server, "GET", "/full?list-type=2").body
        assert_full(signed(server, "PUT", "/full/new", body=NEW))
        assert_full(signed(server, "POST", "/full/other?uploads"))
        part = f"/full/parts?partNumber=1&uploadId={upload}"
        assert_full(signed(server, "PUT", part, body=NEW))
        assert signed(server, "GET", "/full/new").code == "NoSuchKey"
        assert b"<Part>" not in signed(server, "GET", f"/full/parts?uploadId={upload}").body
        assert stored(server) == ([], 1)

        filler.unlink()  # space is back: no restart needed
        assert signed(server, "PUT", "/full/new", body=NEW).status == 200
        assert signed(server, "PUT", part, body=NEW).status == 200
        upload_id(signed(server, "POST", "/full/other?uploads"))
        got = signed(server, "GET", "/full/new")
        assert (got.status, got.body) == (200, NEW)
    finally:
        server.stop()


def test_disk_filling_up_midway_through_a_body(disk: Path) -> None:
    server = server_on(disk)
    try:
        assert signed(server, "PUT", "/full").status == 200
        assert signed(server, "PUT", "/full/kept", body=KEPT).status == 200
        upload = upload_id(signed(server, "POST", "/full/parts?uploads"))
        filler = fill(disk, leave=128 * KiB)  # room for a quarter of the body
        assert_full(signed(server, "PUT", "/full/kept", body=NEW))
        part = f"/full/parts?partNumber=1&uploadId={upload}"
        assert_full(signed(server, "PUT", part, body=NEW))

        got = signed(server, "GET", "/full/kept")
        assert (got.status, got.body) == (200, KEPT)  # the old version, whole
        listing = signed(server, "GET", "/full?list-type=2").body
        assert listing.count(b"<Key>") == 1
        assert f"<Size>{len(KEPT)}</Size>".encode() in listing
        assert b"<Part>" not in signed(server, "GET", f"/full/parts?uploadId={upload}").body
        assert stored(server) == ([], 1)

        filler.unlink()
        assert signed(server, "PUT", "/full/kept", body=NEW).status == 200
        assert signed(server, "GET", "/full/kept").body == NEW
        assert stored(server) == ([], 1)
    finally:
        server.stop()
