"""Conditional writes: ``if_none_match="*"`` (never overwrite) and ``if_match=etag``
(compare-and-swap) on put_object, upload_file (single PUT and multipart Complete),
copy_object and copy_file. Two writers racing for a key: exactly one wins, the other
gets S3PreconditionFailedError and the winner's bytes stay. A Complete or PUT whose
reply is lost and whose retry answers 412 or NoSuchUpload is ours only when the
stored object is provably the one we sent."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from clirunner import s3aio
from faultproxy import FaultProxy, FaultRule, Reply, matching
from servers import ServerInfo, boto3_client, s3_client

from s3_asyncio_client import (
    RetryConfig,
    S3Client,
    S3ConditionalConflictError,
    S3ConflictError,
    S3InvalidRequestError,
    S3NoSuchKeyError,
    S3PreconditionFailedError,
    TransferConfig,
)
from s3_asyncio_client.protocol.http import HttpResponse
from s3_asyncio_client.transport.errors import is_retryable, response_error

KiB = 1024
MULTIPART = TransferConfig(multipart_threshold=64 * KiB, part_size=32 * KiB)
COMPLETE = matching("POST", query_has="uploadId")
PUT = matching("PUT", path_contains="/k")


def error_xml(code: str, message: str) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code>"
        f"<Message>{message}</Message></Error>"
    ).encode()


@pytest.fixture(params=["local", "seaweedfs"])
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


@pytest.fixture
async def bucket(server: ServerInfo, bucket_name: str) -> str:
    async with s3_client(server) as client:
        await client.create_bucket(bucket_name)
    return bucket_name


@pytest.fixture
async def local_bucket(local: ServerInfo, bucket_name: str) -> str:
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
    return bucket_name


async def body_of(info: ServerInfo, bucket: str, key: str) -> bytes | None:
    async with s3_client(info) as client:
        try:
            return (await client.get_object(bucket, key))["body"]
        except S3NoSuchKeyError:
            return None


# The typed errors and their retry class


def test_conflict_is_a_typed_409_never_retried_by_the_transport() -> None:
    reply = HttpResponse(409, {}, error_xml("ConditionalRequestConflict", "a concurrent write"))
    error = response_error(reply, bucket="b", key="k")
    assert type(error) is S3ConditionalConflictError
    assert isinstance(error, S3ConflictError)
    assert (error.status_code, error.error_code) == (409, "ConditionalRequestConflict")
    assert not is_retryable(error)
    failed = response_error(HttpResponse(412, {}, error_xml("PreconditionFailed", "no")))
    assert type(failed) is S3PreconditionFailedError
    assert not is_retryable(failed)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"if_none_match": "abc"}, "'abc'"),
        ({"if_match": ""}, "''"),
        ({"if_match": 'W/"abc"'}, "W/"),
        ({"if_match": '"a", "b"'}, '"a", "b"'),
        ({"if_none_match": "*", "if_match": "abc"}, "not both"),
    ],
)
async def test_bad_conditions_are_refused_before_any_request(
    local: ServerInfo, options: dict[str, str], named: str
) -> None:
    with FaultProxy(local.endpoint_url) as proxy:
        async with s3_client(local, endpoint_url=proxy.url) as client:
            for call in (
                client.put_object("b", "k", b"x", **options),  # type: ignore[arg-type]
                client.upload_file("b", "k", io.BytesIO(b"x"), **options),  # type: ignore[arg-type]
                client.copy_object("b", "s", "b", "k", **options),  # type: ignore[arg-type]
                client.copy_file("b", "s", "b", "k", **options),  # type: ignore[arg-type]
                client.create_multipart_upload("b", "k", **options),  # type: ignore[arg-type]
            ):
                with pytest.raises(S3InvalidRequestError, match=named):
                    await call
        assert proxy.stats.forwarded == 0


# if_none_match / if_match on each write


async def test_put_if_none_match_and_if_match(server: ServerInfo, bucket: str) -> None:
    async with s3_client(server) as client:
        first = await client.put_object(bucket, "k", b"one", if_none_match="*")
        with pytest.raises(S3PreconditionFailedError) as failed:
            await client.put_object(bucket, "k", b"two", if_none_match="*")
        assert (failed.value.status_code, failed.value.error_code) == (412, "PreconditionFailed")
        with pytest.raises(S3PreconditionFailedError):
            await client.put_object(bucket, "k", b"two", if_match='"0123456789abcdef"')
        assert await body_of(server, bucket, "k") == b"one"
        # The ETag as returned (quoted) or bare: both are the same condition.
        second = await client.put_object(bucket, "k", b"two", if_match=first["etag"])
        await client.put_object(bucket, "k", b"three", if_match=second["etag"].strip('"'))
        assert await body_of(server, bucket, "k") == b"three"
        # S3 (and our server) answer 404 NoSuchKey here; SeaweedFS answers 412.
        expected = (404, "NoSuchKey") if server.name == "local" else (412, "PreconditionFailed")
        with pytest.raises((S3NoSuchKeyError, S3PreconditionFailedError)) as missing:
            await client.put_object(bucket, "absent", b"x", if_match=first["etag"])
        assert (missing.value.status_code, missing.value.error_code) == expected
        assert await body_of(server, bucket, "absent") is None


async def test_upload_file_conditions_single_and_multipart(
    local: ServerInfo, local_bucket: str
) -> None:
    bucket = local_bucket
    big = bytes(range(256)) * 1024  # 256 KiB: 8 parts
    async with s3_client(local, min_part_size=0) as client:
        done = await client.upload_file(bucket, "m", io.BytesIO(big), config=MULTIPART)
        assert done["parts_count"] == 8
        with pytest.raises(S3PreconditionFailedError, match="nothing was uploaded"):
            await client.upload_file(
                bucket, "m", io.BytesIO(b"x" * len(big)), config=MULTIPART, if_none_match="*"
            )
        with pytest.raises(S3PreconditionFailedError):
            await client.upload_file(bucket, "m", io.BytesIO(b"small"), if_none_match="*")
        swapped = await client.upload_file(
            bucket, "m", io.BytesIO(big[::-1]), config=MULTIPART, if_match=done["etag"]
        )
        assert swapped["parts_count"] == 8
        assert [u async for u in client.iter_multipart_uploads(bucket)] == []
    assert await body_of(local, bucket, "m") == big[::-1]


async def test_complete_carries_the_condition(local: ServerInfo, local_bucket: str) -> None:
    """The early check passes, then another writer takes the key: Complete refuses."""
    bucket = local_bucket
    async with s3_client(local, min_part_size=0) as client:
        upload = await client.create_multipart_upload(bucket, "late", if_none_match="*")
        await upload.upload_part(1, b"mine")
        await client.put_object(bucket, "late", b"theirs")
        with pytest.raises(S3PreconditionFailedError) as failed:
            await upload.complete()
        assert failed.value.error_code == "PreconditionFailed"
        await upload.abort()
    assert await body_of(local, bucket, "late") == b"theirs"


async def test_copy_conditions_are_the_destinations(server: ServerInfo, bucket: str) -> None:
    async with s3_client(server) as client:
        await client.put_object(bucket, "src", b"source")
        target = await client.put_object(bucket, "dst", b"target")
        with pytest.raises(S3PreconditionFailedError):
            await client.copy_object(bucket, "src", bucket, "dst", if_none_match="*")
        with pytest.raises(S3PreconditionFailedError):
            await client.copy_file(bucket, "src", bucket, "dst", if_none_match="*")
        assert await body_of(server, bucket, "dst") == b"target"
        await client.copy_file(bucket, "src", bucket, "new", if_none_match="*")
        await client.copy_object(bucket, "src", bucket, "dst", if_match=target["etag"])
    assert await body_of(server, bucket, "dst") == b"source"
    assert await body_of(server, bucket, "new") == b"source"


# Races: two clients, one key, exactly one wins


async def test_put_race_has_one_winner(server: ServerInfo, bucket: str) -> None:
    async with s3_client(server) as one, s3_client(server) as two:
        results = await asyncio.gather(
            one.put_object(bucket, "race", b"A" * 10_000, if_none_match="*"),
            two.put_object(bucket, "race", b"B" * 10_000, if_none_match="*"),
            return_exceptions=True,
        )
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, S3PreconditionFailedError)]
    assert (len(wins), len(losses)) == (1, 1), results
    winner = b"A" if results[0] is wins[0] else b"B"
    assert await body_of(server, bucket, "race") == winner * 10_000


async def test_multipart_race_has_one_winner(server: ServerInfo, bucket: str) -> None:
    """Both pass the early check (the key is absent), both send every part; the
    Complete that comes second is refused and its upload aborted."""
    part = max(32 * KiB, server.min_part_size)  # SeaweedFS: 5 MiB parts
    size, config = 2 * part + 100, TransferConfig(multipart_threshold=part, part_size=part)
    options = {"min_part_size": server.min_part_size}
    async with s3_client(server, **options) as one, s3_client(server, **options) as two:
        results = await asyncio.gather(
            one.upload_file(
                bucket, "mp", io.BytesIO(b"A" * size), config=config, if_none_match="*"
            ),
            two.upload_file(
                bucket, "mp", io.BytesIO(b"B" * size), config=config, if_none_match="*"
            ),
            return_exceptions=True,
        )
        assert [u async for u in one.iter_multipart_uploads(bucket)] == []
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, S3PreconditionFailedError)]
    assert (len(wins), len(losses)) == (1, 1), results
    assert wins[0]["parts_count"] == 3
    winner = b"A" if results[0] is wins[0] else b"B"
    assert await body_of(server, bucket, "mp") == winner * size


# A lost reply, and a retry that meets our own object


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url) as proxy:
        yield proxy


@pytest.fixture
async def through_proxy(local: ServerInfo, proxy: FaultProxy) -> AsyncIterator[S3Client]:
    retry = RetryConfig(max_attempts=3, base_delay=0.01)
    async with s3_client(local, endpoint_url=proxy.url, retry=retry, min_part_size=0) as client:
        yield client


def answered(status: int, code: str) -> FaultRule:
    """The real reply replaced by ``code``, as S3 answers a repeated request."""

    def rewrite(reply: Reply) -> Reply:
        reply.status, reply.body = status, error_xml(code, "as S3 answers a repeat")
        reply.set_header("Content-Length", None)
        reply.set_header("ETag", None)
        return reply

    return FaultRule("rewrite", match=COMPLETE, rewrite=rewrite)


@pytest.mark.parametrize(("status", "code"), [(412, "PreconditionFailed"), (404, "NoSuchUpload")])
async def test_lost_complete_reply_then_retry_refused_is_ours(
    local: ServerInfo,
    local_bucket: str,
    proxy: FaultProxy,
    through_proxy: S3Client,
    status: int,
    code: str,
) -> None:
    bucket = local_bucket
    data = b"Z" * (128 * KiB)
    proxy.set_rules([FaultRule("drop_reply", match=COMPLETE, times=1), answered(status, code)])
    result = await through_proxy.upload_file(
        bucket, "lost", io.BytesIO(data), config=MULTIPART, if_none_match="*"
    )
    assert proxy.stats.faults["drop_reply"] == 1
    assert proxy.stats.faults["rewrite"] == 1
    assert result["parts_count"] == 4
    async with s3_client(local, min_part_size=0) as client:
        assert (await client.head_object(bucket, "lost"))["etag"] == result["etag"]
    assert await body_of(local, bucket, "lost") == data


async def test_refused_complete_with_another_writers_object_is_not_ours(
    local: ServerInfo, local_bucket: str, proxy: FaultProxy, through_proxy: S3Client
) -> None:
    """Another writer's object of the same size and part count is there: the 412 stands."""
    bucket = local_bucket
    size = 128 * KiB
    async with s3_client(local, min_part_size=0) as other:
        await other.upload_file(bucket, "taken", io.BytesIO(b"O" * size), config=MULTIPART)
    upload = await through_proxy.create_multipart_upload(bucket, "taken")
    for number in range(1, 5):
        await upload.upload_part(number, b"M" * (32 * KiB))
    with pytest.raises(S3PreconditionFailedError) as failed:
        await upload.complete(if_none_match="*")
    assert (failed.value.status_code, failed.value.error_code) == (412, "PreconditionFailed")
    await upload.abort()
    assert await body_of(local, bucket, "taken") == b"O" * size


async def test_lost_put_reply_then_412_is_ours(
    local: ServerInfo, local_bucket: str, proxy: FaultProxy, through_proxy: S3Client
) -> None:
    bucket = local_bucket
    proxy.set_rules([FaultRule("drop_reply", match=PUT, times=1)])
    result = await through_proxy.put_object(bucket, "k1", b"payload", if_none_match="*")
    assert proxy.stats.faults["drop_reply"] == 1
    async with s3_client(local, min_part_size=0) as client:
        assert (await client.head_object(bucket, "k1"))["etag"] == result["etag"]
        # Someone else's object under the key: the 412 stands.
        await client.put_object(bucket, "k2", b"someone else")
    with pytest.raises(S3PreconditionFailedError):
        await through_proxy.put_object(bucket, "k2", b"payload", if_none_match="*")
    assert await body_of(local, bucket, "k2") == b"someone else"


async def test_conflict_409_on_put_is_sent_again(
    local: ServerInfo, local_bucket: str, proxy: FaultProxy, through_proxy: S3Client
) -> None:
    """S3 advises sending a PUT again after 409 ConditionalRequestConflict; a Complete
    is not (the upload must be started over): the typed error."""
    bucket = local_bucket

    def conflict(reply: Reply) -> Reply:
        reply.status, reply.body = 409, error_xml("ConditionalRequestConflict", "concurrent")
        reply.set_header("Content-Length", None)
        return reply

    proxy.set_rules([FaultRule("rewrite", match=PUT, rewrite=conflict, times=1)])
    await through_proxy.put_object(bucket, "k", b"v", if_none_match="*")
    assert proxy.stats.faults["rewrite"] == 1
    assert await body_of(local, bucket, "k") == b"v"
    # Upstream's real Complete acted; its 409 reply makes the error typed, not retried.
    proxy.set_rules([FaultRule("rewrite", match=COMPLETE, rewrite=conflict, times=1)])
    upload = await through_proxy.create_multipart_upload(bucket, "c", if_none_match="*")
    await upload.upload_part(1, b"part")
    proxy.reset_stats()
    with pytest.raises(S3ConditionalConflictError):
        await upload.complete()
    assert proxy.stats.faults["rewrite"] == 1
    assert proxy.stats.forwarded == 1


# The sync facade and the command line


def test_sync_facade_conditions(local: ServerInfo, local_bucket: str) -> None:
    from s3_asyncio_client import Client

    with Client(
        endpoint_url=local.endpoint_url,
        access_key=local.access_key,
        secret_key=local.secret_key,
        region=local.region,
    ) as client:
        obj = client.bucket(local_bucket).object("sync")
        first = obj.put_content(b"one", if_none_match="*")
        with pytest.raises(S3PreconditionFailedError):
            obj.put_content(b"two", if_none_match="*")
        with pytest.raises(S3PreconditionFailedError):
            obj.put_file(__file__, if_match='"0123"')
        obj.put_content(b"two", if_match=first["etag"])
        target = client.bucket(local_bucket).object("copied")
        obj.copy(target, if_none_match="*")
        with pytest.raises(S3PreconditionFailedError):
            obj.copy(target, if_none_match="*")
        upload = client.bucket(local_bucket).object("parts").multipart_upload()
        upload.create()
        upload.add_part(1).put_content(b"part")
        upload.complete(if_none_match="*")
        assert client.bucket(local_bucket).object("parts").get_reader().read_all() == b"part"


def test_cli_no_overwrite_and_if_match(
    local: ServerInfo, local_bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"first")
    url = f"s3://{local_bucket}/a.txt"
    s3aio(local, "cp", "--no-overwrite", str(source), url)
    source.write_bytes(b"second")
    refused = s3aio(local, "cp", "--no-overwrite", str(source), url, check=False)
    assert refused.returncode == 1
    assert f"{url} exists (--no-overwrite): not written" in refused.stderr
    wrong = s3aio(local, "cp", "--if-match", "0123abcd", str(source), url, check=False)
    assert wrong.returncode == 1
    assert f"{url} does not have ETag 0123abcd: not written" in wrong.stderr
    bad = s3aio(local, "cp", "--if-match", "W/x", str(source), url, check=False)
    assert bad.returncode == 2
    assert "if_match must be one ETag" in bad.stderr
    etag = hashlib.md5(b"first").hexdigest()
    s3aio(local, "cp", "--if-match", etag, str(source), url)
    copied = s3aio(local, "cp", "--no-overwrite", url, f"s3://{local_bucket}/b.txt")
    assert copied.returncode == 0
    again = s3aio(local, "cp", "--no-overwrite", url, f"s3://{local_bucket}/b.txt", check=False)
    assert again.returncode == 1
    s3: Any = boto3_client(local)
    assert s3.get_object(Bucket=local_bucket, Key="a.txt")["Body"].read() == b"second"
    assert s3.get_object(Bucket=local_bucket, Key="b.txt")["Body"].read() == b"second"
    s3.close()
