"""Keys that look like paths stay keys: stored byte-exact, never a file system path,
nothing written outside the server's root."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from rawhttp import request

from s3_asyncio_client import S3Client
from s3_asyncio_client.protocol.signing import Credentials, uri_encode
from s3_asyncio_client.server import LocalS3Server

KEYS = [
    "../../etc/passwd",
    "a/../../b",
    "/abs",
    "//double/abs",
    "%2e%2e/",
    "%2e%2e%2f%2e%2e%2fescape",
    "..",
    ".",
    "a//b",
    "./dot",
    "trailing/",
    "x/../y",
    "..\\..\\windows",
    "ünïcödé/../日本",
    "k" * 1024,
]
CREDENTIALS = Credentials("paths-access", "paths-secret")


def _snapshot(folder: Path, skip: Path) -> set[str]:
    """Every path under ``folder``, except inside ``skip``."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        if here == skip or skip in here.parents:
            dirnames[:] = []
            continue
        found.update(str(here / name) for name in dirnames + filenames)
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "sandbox" / "root"


@pytest.fixture
def server(root: Path) -> Iterator[LocalS3Server]:
    with LocalS3Server(
        root, access_key=CREDENTIALS.access_key, secret_key=CREDENTIALS.secret_key
    ) as running:
        yield running


@pytest.fixture
async def client(server: LocalS3Server) -> AsyncIterator[S3Client]:
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region="us-east-1",
    ) as c:
        await c.create_bucket("paths")
        yield c


async def test_path_like_keys_round_trip_inside_root(
    client: S3Client, server: LocalS3Server, root: Path, tmp_path: Path
) -> None:
    outside_before = _snapshot(tmp_path, root)
    for key in KEYS:
        await client.put_object("paths", key, f"body of {key}".encode())
    for key in KEYS:
        got = await client.get_object("paths", key)
        assert got["body"] == f"body of {key}".encode(), key
    listed = [o["key"] async for o in client.iter_objects("paths")]
    assert listed == sorted(KEYS, key=lambda k: k.encode())
    assert _snapshot(tmp_path, root) == outside_before
    # Blob files are named by the server, never after a key.
    names = {name for _, _, files in os.walk(root) for name in files}
    assert not any(part in name for name in names for part in ("passwd", "abs", "escape", ".."))
    await client.delete_objects("paths", KEYS)
    assert [o async for o in client.iter_objects("paths")] == []
    assert _snapshot(tmp_path, root) == outside_before


@pytest.mark.parametrize(
    "raw_key",
    [
        "../../escape-1",
        "..%2F..%2Fescape-2",
        "%2E%2E/%2E%2E/escape-3",
        "%2e%2e%2f%2e%2e%2fescape-4",
        "./../escape-5",
        "%2F%2Fescape-6",
    ],
)
async def test_raw_traversal_in_the_url_path(
    client: S3Client, server: LocalS3Server, root: Path, tmp_path: Path, raw_key: str
) -> None:
    """The path is sent exactly as written: the server decodes it once into a key."""
    outside_before = _snapshot(tmp_path, root)
    path = f"/paths/{raw_key}"
    put = request(server.endpoint_url, "PUT", path, body=b"raw", credentials=CREDENTIALS)
    assert put.status == 200, put.body
    got = request(server.endpoint_url, "GET", path, credentials=CREDENTIALS)
    assert got.body == b"raw"
    from urllib.parse import unquote

    key = unquote(raw_key)
    assert [o["key"] async for o in client.iter_objects("paths")] == [key]
    assert (await client.get_object("paths", key))["body"] == b"raw"
    assert _snapshot(tmp_path, root) == outside_before
    assert not (tmp_path / "sandbox" / raw_key.rsplit("/", 1)[-1]).exists()


async def test_nul_and_overlong_keys_are_refused(server: LocalS3Server, client: S3Client) -> None:
    for key, code in [("nul\x00byte", "InvalidArgument"), ("k" * 1025, "KeyTooLongError")]:
        path = "/paths/" + uri_encode(key, keep_slash=True)
        reply = request(server.endpoint_url, "PUT", path, body=b"x", credentials=CREDENTIALS)
        assert (reply.status, reply.code) == (400, code)
    bad_utf8 = request(
        server.endpoint_url, "PUT", "/paths/%ff%fe", body=b"x", credentials=CREDENTIALS
    )
    assert bad_utf8.status == 400
    assert [o async for o in client.iter_objects("paths")] == []
