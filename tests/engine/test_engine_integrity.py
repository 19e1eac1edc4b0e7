"""Stored = sent? The verdicts on an upload's reply, and the headers a file part
needs, against the in-memory store's capabilities: no server."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeStore, crc_value, md5_etag

from s3_asyncio_client.engine.integrity import digest_headers, verify_stored
from s3_asyncio_client.exceptions import S3IntegrityError
from s3_asyncio_client.protocol.http import HttpRequest, HttpResponse, RequestBody
from s3_asyncio_client.transport.file_region import FileRegion, RandomAccess

pytestmark = pytest.mark.unit

DATA = b"the bytes we sent"
CRC = {"x-amz-checksum-crc32": crc_value("crc32", DATA)}


def put(headers: dict[str, str], body: RequestBody = DATA) -> HttpRequest:
    return HttpRequest("PUT", "http://fake.invalid/b/k", dict(headers), body)


@pytest.fixture
def region(tmp_path: Path) -> Iterator[FileRegion]:
    path = tmp_path / "file"
    path.write_bytes(b"head" + DATA + b"tail")
    file = RandomAccess(os.open(path, os.O_RDONLY), owned=True)
    yield FileRegion(file, 4, len(DATA))
    file.close()


async def test_an_echoed_checksum_is_the_server_s_word() -> None:
    store = FakeStore()
    await verify_stored(store, put(CRC), HttpResponse(200, {**CRC, "etag": '"x"'}), key="k")
    assert store.capabilities.checksums_ignored is False


async def test_another_checksum_echoed_is_an_integrity_error() -> None:
    store = FakeStore()
    reply = HttpResponse(200, {"x-amz-checksum-crc32": crc_value("crc32", b"other")})
    with pytest.raises(S3IntegrityError, match="server stored x-amz-checksum-crc32") as caught:
        await verify_stored(store, put(CRC), reply, key="k")
    assert caught.value.key == "k"


async def test_a_server_that_echoes_nothing_is_noted_and_its_etag_compared() -> None:
    store = FakeStore()
    await verify_stored(store, put(CRC), HttpResponse(200, {"etag": md5_etag(DATA)}), key="k")
    assert store.capabilities.checksums_ignored is True
    with pytest.raises(S3IntegrityError, match="not the MD5 of the bytes we sent"):
        await verify_stored(store, put(CRC), HttpResponse(200, {"etag": md5_etag(b"x")}), key="k")


async def test_an_etag_is_compared_with_a_file_region_s_md5(region: FileRegion) -> None:
    store = FakeStore()
    await verify_stored(
        store, put(CRC, region), HttpResponse(200, {"etag": md5_etag(DATA)}), key="k"
    )
    with pytest.raises(S3IntegrityError):
        await verify_stored(
            store, put(CRC, region), HttpResponse(200, {"etag": md5_etag(b"x")}), key="k"
        )


@pytest.mark.parametrize(
    "headers", [{}, {**CRC, "content-md5": "x"}], ids=["no checksum sent", "content-md5 sent"]
)
async def test_nothing_is_noted_when_no_echo_was_due(headers: dict[str, str]) -> None:
    """No checksum sent: no echo to expect. Content-MD5 sent: the server verified
    that one, whatever it does with checksums."""
    store = FakeStore()
    await verify_stored(store, put(headers), HttpResponse(200, {"etag": '"multi-2"'}), key="k")
    assert store.capabilities.checksums_ignored is False


async def test_an_in_memory_body_s_headers_are_the_builder_s() -> None:
    assert await digest_headers(FakeStore(), DATA, "crc32") is None


@pytest.mark.parametrize(("ignored", "signed"), [(False, False), (True, False), (True, True)])
async def test_a_file_region_gets_the_headers_the_endpoint_needs(
    region: FileRegion, ignored: bool, signed: bool
) -> None:
    store = FakeStore()
    store.capabilities.checksums_ignored = ignored
    store.capabilities.signs_payload = signed
    headers = await digest_headers(store, region, "crc32")
    expected = dict(CRC)
    if ignored:
        expected["content-md5"] = base64.b64encode(hashlib.md5(DATA).digest()).decode()
    if signed:
        expected["x-amz-content-sha256"] = hashlib.sha256(DATA).hexdigest()
    assert headers == expected
    assert store.buffers.made == 1
