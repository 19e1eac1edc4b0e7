"""A server that answers with endless XML or error bodies: the client reads a bounded
amount, fails with S3ReplyTooLargeError naming the limit and the operation, and does
not ask again; object bodies the caller asked for have no such limit."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator

import pytest
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo, s3_client

from s3_asyncio_client import RetryConfig, S3Client, S3Error, Timeouts
from s3_asyncio_client.exceptions import S3ReplyTooLargeError
from s3_asyncio_client.protocol import requests as build
from s3_asyncio_client.protocol.addressing import Endpoint
from s3_asyncio_client.transport.replies import ERROR_REPLY_LIMIT, XML_REPLY_LIMIT, operation_name

MiB = 1024 * 1024
HUGE = 256 * MiB  # what the server offers; the client must stop long before
# Bytes the proxy may push into socket buffers before it sees the client leave.
IN_FLIGHT = 16 * MiB
FAST = RetryConfig(max_attempts=3, base_delay=0.01)
LISTING = matching("GET", query_has="list-type")
GET_MISSING = matching("GET", path_contains="/missing")
COMPLETE = matching("POST", query_has="uploadId")
GET_OBJECT = matching("GET", path_contains="/obj")

ENTRY = b"<Contents><Key>" + b"k" * 1000 + b"</Key><Size>1</Size></Contents>"
LISTING_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>b</Name>'
ERROR_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>'


def endless(head: bytes, filler: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes, ``head`` then ``filler`` over and over, made as they are sent."""
    piece = filler * max(1, 64 * 1024 // len(filler))
    yield head
    sent = len(head)
    while sent < total:
        yield piece
        sent += len(piece)


def huge_body(
    head: bytes, filler: bytes, *, status: int | None = None, declare: bool = False
) -> Callable[[Reply], Reply]:
    """A rewrite: the reply's body becomes HUGE bytes (with a Content-Length saying
    so if ``declare``, else chunked), its status ``status`` if given."""

    def rewrite(reply: Reply) -> Reply:
        reply.status = status or reply.status
        reply.set_header("Content-Length", str(HUGE) if declare else None)
        reply.body = endless(head, filler, HUGE)
        return reply

    return rewrite


def client(local: ServerInfo, proxy: FaultProxy, **options: object) -> S3Client:
    options.setdefault("retry", FAST)
    result: S3Client = s3_client(local, endpoint_url=proxy.url, **options)
    return result


@pytest.fixture
async def bucket(local: ServerInfo, bucket_name: str) -> str:
    async with s3_client(local) as direct:
        await direct.create_bucket(bucket_name)
        await direct.put_object(bucket_name, "obj", b"the object")
    return bucket_name


def assert_refused(
    error: S3ReplyTooLargeError, proxy: FaultProxy, operation: str, limit: int
) -> None:
    """The typed error, one request only (not retried), a bounded number of bytes."""
    assert (error.operation, error.limit) == (operation, limit)
    assert operation in str(error)
    assert f"{limit // 1024} KiB" in str(error) or f"{limit // MiB} MiB" in str(error)
    stats = proxy.stats
    assert (stats.requests, stats.faults["rewrite"]) == (1, 1)
    assert stats.response_bytes < limit + IN_FLIGHT <= HUGE // 8


@pytest.mark.parametrize("declare", [False, True], ids=["chunked", "content-length"])
async def test_an_endless_listing_is_refused(local: ServerInfo, bucket: str, declare: bool) -> None:
    rule = FaultRule(
        "rewrite", match=LISTING, rewrite=huge_body(LISTING_HEAD, ENTRY, declare=declare)
    )
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        async with client(local, proxy) as c:
            with pytest.raises(S3ReplyTooLargeError) as caught:
                await c.list_objects(bucket)
        assert_refused(caught.value, proxy, "ListObjectsV2", XML_REPLY_LIMIT)
        assert caught.value.bucket == bucket
        if declare:  # refused on the header, before reading any of the body
            assert f"declares {HUGE} bytes" in str(caught.value)
            assert proxy.stats.response_bytes < XML_REPLY_LIMIT


@pytest.mark.parametrize("status", [404, 503])
async def test_an_endless_error_reply_is_refused_and_not_retried(
    local: ServerInfo, bucket: str, status: int
) -> None:
    """A 503 is retried normally; one whose body never ends is not."""
    rewrite = huge_body(ERROR_HEAD, b"x", status=status)
    rule = FaultRule("rewrite", match=GET_MISSING, rewrite=rewrite)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        async with client(local, proxy) as c:
            with pytest.raises(S3ReplyTooLargeError) as caught:
                await c.get_object(bucket, "missing")
        assert_refused(caught.value, proxy, "GetObject", ERROR_REPLY_LIMIT)
        assert (caught.value.status_code, caught.value.key) == (status, "missing")
        assert "error reply" in str(caught.value)


async def test_an_endless_error_reply_to_a_stream_is_refused(
    local: ServerInfo, bucket: str
) -> None:
    rule = FaultRule("rewrite", match=GET_MISSING, rewrite=huge_body(ERROR_HEAD, b"x"))
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        async with client(local, proxy) as c:
            with pytest.raises(S3ReplyTooLargeError) as caught:
                async with c.open_object(bucket, "missing"):
                    pass
            # The connection was closed, not reused: the next request works.
            assert (await c.get_object(bucket, "obj"))["body"] == b"the object"
        assert caught.value.operation == "GetObject"
        assert proxy.stats.response_bytes < ERROR_REPLY_LIMIT + IN_FLIGHT


async def test_an_object_body_has_no_limit(local: ServerInfo, bucket: str) -> None:
    """get_object returns what the caller asked for, however large."""
    body = bytes(range(256)) * (XML_REPLY_LIMIT // 256 + 4096)
    async with s3_client(local) as c:
        await c.put_object(bucket, "big", body)
        assert (await c.get_object(bucket, "big"))["body"] == body
        await c.delete_object(bucket, "big")


async def test_an_object_body_shorter_than_its_length_is_an_error(
    local: ServerInfo, bucket: str
) -> None:
    """Content-Length promises 100 bytes more than come: the client waits for them
    and fails; it never returns the short body."""

    def longer(reply: Reply) -> Reply:
        reply.set_header("Content-Length", str(int(reply.header("Content-Length") or 0) + 100))
        return reply

    rule = FaultRule("rewrite", match=GET_OBJECT, rewrite=longer)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        options = {"retry": RetryConfig(max_attempts=1), "timeouts": Timeouts(read=1.0)}
        async with client(local, proxy, **options) as c:
            with pytest.raises(S3Error):
                await c.get_object(bucket, "obj")
        assert proxy.stats.faults["rewrite"] == 1


async def test_complete_with_keep_alive_whitespace_succeeds(local: ServerInfo, bucket: str) -> None:
    """CompleteMultipartUpload's reply may open with whitespace sent while S3 works."""

    def padded(reply: Reply) -> Reply:
        assert isinstance(reply.body, bytes)
        reply.body = b" \n" * (512 * 1024) + reply.body
        reply.set_header("Content-Length", str(len(reply.body)))
        return reply

    rule = FaultRule("rewrite", match=COMPLETE, rewrite=padded)
    with FaultProxy(local.endpoint_url, rules=[rule]) as proxy:
        async with client(local, proxy) as c:
            upload = await c.create_multipart_upload(bucket, "assembled")
            await upload.upload_part(1, b"one part")
            result = await upload.complete()
            assert (await c.get_object(bucket, "assembled"))["body"] == b"one part"
            assert result["etag"]
        assert proxy.stats.faults["rewrite"] == 1


def test_the_error_pickles_with_its_fields() -> None:
    error = S3ReplyTooLargeError("too long", limit=5, operation="ListParts", status_code=200)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.limit, copy.operation, copy.status_code, str(copy)) == (
        5,
        "ListParts",
        200,
        str(error),
    )


@pytest.mark.parametrize(
    ("request_for", "operation"),
    [
        (lambda e: build.build_list_objects_v2(e, "b"), "ListObjectsV2"),
        (lambda e: build.build_list_parts(e, "b", "k", "u"), "ListParts"),
        (lambda e: build.build_complete_multipart_upload(e, "b", "k", "u", [(1, '"e"')]),
         "CompleteMultipartUpload"),
        (lambda e: build.build_copy_object(e, "s", "sk", "b", "k"), "CopyObject"),
        (lambda e: build.build_upload_part_copy(e, "b", "k", "u", 1, "s", "sk"), "UploadPartCopy"),
        (lambda e: build.build_get_object(e, "b", "k"), "GetObject"),
        (lambda e: build.build_delete_objects(e, "b", ["k"]), "DeleteObjects"),
        (lambda e: build.build_list_buckets(e), "ListBuckets"),
    ],
)  # fmt: skip
def test_operations_are_named(request_for: Callable[[Endpoint], object], operation: str) -> None:
    request = request_for(Endpoint("http://127.0.0.1:9000", "path"))
    key = None if operation in ("ListObjectsV2", "DeleteObjects", "ListBuckets") else "k"
    bucket = None if operation == "ListBuckets" else "b"
    assert operation_name(request, bucket, key) == operation  # type: ignore[arg-type]
