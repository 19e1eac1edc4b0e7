"""A server whose listings never end: it repeats a next-page token or marker, or says a
page is truncated and sends none. Every paginator of ours (iter_objects and
``s3aio ls``, iter_multipart_uploads and abort_stale_uploads, ListParts) stops with
S3PaginationError naming the token, after a bounded number of requests, having
changed nothing.

The fault proxy stands in front of the embedded server and rewrites its listing
replies; everything else passes untouched.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo

from s3_asyncio_client import MultipartUpload, S3Client
from s3_asyncio_client.cli import Settings
from s3_asyncio_client.cli.manage import ls
from s3_asyncio_client.exceptions import S3PaginationError

LISTING = matching("GET", query_has="list-type")
UPLOADS = matching("GET", query_has="uploads")
PARTS = matching("GET", query_has="uploadId")
MISSING = "the reply says IsTruncated but sends no next"
TWICE = "was received twice"


def rewrite(**elements: str | None) -> Callable[[Reply], Reply]:
    """A rewrite that says IsTruncated and sets each element (None: removes it).

    An element whose value is "" keeps the first value the server sent for it, so
    every later reply repeats that one.
    """
    first: dict[str, bytes] = {}

    def apply(reply: Reply) -> Reply:
        assert isinstance(reply.body, bytes)
        body = re.sub(
            rb"<IsTruncated>\w+</IsTruncated>", b"<IsTruncated>true</IsTruncated>", reply.body
        )
        for tag, value in elements.items():
            pattern = re.compile(f"<{tag}>([^<]*)</{tag}>".encode())
            found = pattern.search(body)
            if value == "" and found is not None:
                first.setdefault(tag, found.group(1))
            body = pattern.sub(b"", body)
            if value is not None:
                text = first.get(tag, value.encode())
                body = body.replace(
                    b"</IsTruncated>",
                    f"</IsTruncated><{tag}>".encode() + text + f"</{tag}>".encode(),
                    1,
                )
        reply.body = body
        reply.set_header("Content-Length", str(len(body)))
        return reply

    return apply


def client_for(info: ServerInfo, endpoint: str) -> S3Client:
    return S3Client(access_key=info.access_key, secret_key=info.secret_key, endpoint_url=endpoint)


@pytest.fixture
async def bucket(local: ServerInfo) -> AsyncIterator[str]:
    """A bucket with three objects, made directly (not through the proxy)."""
    name = f"p-{uuid.uuid4().hex[:12]}"
    async with client_for(local, local.endpoint_url) as client:
        await client.create_bucket(name)
        for key in ("k1", "k2", "k3"):
            await client.put_object(name, key, key.encode())
        yield name


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url) as p:
        yield p


def lying(proxy: FaultProxy, match: Callable[[str, str], bool], **elements: str | None) -> None:
    proxy.set_rules([FaultRule("rewrite", match=match, rewrite=rewrite(**elements))])
    proxy.reset_stats()


async def test_repeated_continuation_token(
    local: ServerInfo, bucket: str, proxy: FaultProxy
) -> None:
    lying(proxy, LISTING, NextContinuationToken="")
    seen: list[str] = []

    async def collect(client: S3Client) -> None:
        async for item in client.iter_objects(bucket, page_size=1):
            seen.append(item["key"])

    async with client_for(local, proxy.url) as client:
        expected = f"ListObjectsV2: the same next continuation token {TWICE}"
        with pytest.raises(S3PaginationError, match=expected) as caught:
            await collect(client)
    assert seen == ["k1", "k2"]  # two pages, then the token of the first came back
    assert caught.value.token is not None
    assert caught.value.token in str(caught.value)
    assert caught.value.bucket == bucket
    assert proxy.stats.requests == 2


async def test_truncated_listing_without_a_token(
    local: ServerInfo, bucket: str, proxy: FaultProxy
) -> None:
    lying(proxy, LISTING, NextContinuationToken=None)
    async with client_for(local, proxy.url) as client:
        with pytest.raises(S3PaginationError, match=f"{MISSING} continuation token") as caught:
            _ = [item async for item in client.iter_objects(bucket)]
    assert caught.value.token is None
    assert proxy.stats.requests == 1


@pytest.mark.parametrize("recursive", [True, False], ids=["ls-r", "ls"])
def test_cli_ls_stops_on_a_repeated_token(
    local: ServerInfo, bucket: str, proxy: FaultProxy, recursive: bool
) -> None:
    # One page of three keys, then a valid token (after "k1") on every reply.
    lying(proxy, LISTING, NextContinuationToken=base64.urlsafe_b64encode(b"k1").decode())
    args = [f"s3://{bucket}/", *(["-r"] if recursive else [])]
    env = {
        "AWS_ACCESS_KEY_ID": local.access_key,
        "AWS_SECRET_ACCESS_KEY": local.secret_key,
        "AWS_PROFILE": None,
    }
    settings = Settings(proxy.url, None, None, progress=False, debug=False)
    result = CliRunner().invoke(ls, args, obj=settings, env=env)
    assert result.exit_code == 1, result.output
    assert TWICE in result.stderr
    assert result.stdout.count("k1") == 1  # the first page, then the one after k1
    assert result.stdout.count("k3") == 2
    assert proxy.stats.requests == 2


async def test_repeated_upload_markers_abort_nothing(
    local: ServerInfo, bucket: str, proxy: FaultProxy
) -> None:
    async with client_for(local, local.endpoint_url) as direct:
        upload = await direct.create_multipart_upload(bucket, "stale")
    lying(proxy, UPLOADS, NextKeyMarker="zzz", NextUploadIdMarker="id")
    async with client_for(local, proxy.url) as client:
        with pytest.raises(S3PaginationError, match=TWICE) as caught:
            _ = [u async for u in client.iter_multipart_uploads(bucket)]
        assert "zzz" in str(caught.value.token)
        assert proxy.stats.requests == 2
        proxy.reset_stats()
        with pytest.raises(S3PaginationError, match=TWICE):
            await client.abort_stale_uploads(bucket, older_than=timedelta(0))
        assert proxy.stats.requests == 2
    async with client_for(local, local.endpoint_url) as direct:
        left = [u["upload_id"] async for u in direct.iter_multipart_uploads(bucket)]
        assert left == [upload.upload_id]  # nothing aborted on a listing cut short
        await MultipartUpload(direct, bucket, "stale", upload.upload_id).abort()


async def test_truncated_uploads_without_a_marker(
    local: ServerInfo, bucket: str, proxy: FaultProxy
) -> None:
    lying(proxy, UPLOADS, NextKeyMarker=None, NextUploadIdMarker=None)
    async with client_for(local, proxy.url) as client:
        with pytest.raises(S3PaginationError, match=f"{MISSING} key and upload id markers"):
            await client.abort_stale_uploads(bucket, older_than=timedelta(0))
    assert proxy.stats.requests == 1


@pytest.mark.parametrize(
    ("marker", "message", "requests"),
    [("", f"ListParts: the same next part number marker {TWICE}: 1", 2), (None, MISSING, 1)],
    ids=["repeated", "missing"],
)
async def test_list_parts_stops(
    local: ServerInfo,
    bucket: str,
    proxy: FaultProxy,
    marker: str | None,
    message: str,
    requests: int,
) -> None:
    async with client_for(local, local.endpoint_url) as direct:
        upload = await direct.create_multipart_upload(bucket, "parts")
        await upload.upload_part(1, b"one")
    lying(proxy, PARTS, NextPartNumberMarker=marker)
    async with client_for(local, proxy.url) as client:
        handle = MultipartUpload(client, bucket, "parts", upload.upload_id)
        with pytest.raises(S3PaginationError, match=message) as caught:
            await handle.list_parts()
    assert caught.value.key == "parts"
    assert proxy.stats.requests == requests
    async with client_for(local, local.endpoint_url) as direct:
        await MultipartUpload(direct, bucket, "parts", upload.upload_id).abort()
