"""Multipart edge behaviour of the embedded server, as S3 has it: a repeated Complete,
one part number uploaded twice at once, ``partNumber`` reads, copies of multipart
objects."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rawhttp import Reply, signed
from servers import ServerInfo, boto3_client

from s3_asyncio_client.server import LocalS3Server

PART = 64 * 1024


def _upload(s3: Any, bucket: str, key: str, parts: list[bytes]) -> tuple[str, list[dict[str, Any]]]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        reply = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=data
        )
        done.append({"PartNumber": number, "ETag": reply["ETag"]})
    return upload, done


def _complete(s3: Any, bucket: str, key: str, upload: str, parts: list[dict[str, Any]]) -> Any:
    result = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )
    result.pop("ResponseMetadata")
    return result


def _code(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_repeated_complete_answers_the_same(s3: Any, bucket: str) -> None:
    data = [os.urandom(PART), os.urandom(PART), b"tail"]
    upload, parts = _upload(s3, bucket, "k", data)
    first = _complete(s3, bucket, "k", upload, parts)
    assert _complete(s3, bucket, "k", upload, parts) == first
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(data)
    head = s3.head_object(Bucket=bucket, Key="k")
    assert not any("upload" in name for name in head["ResponseMetadata"]["HTTPHeaders"])
    for other in (parts[:2], [{**parts[0], "ETag": parts[1]["ETag"]}, *parts[1:]]):
        with pytest.raises(ClientError) as caught:
            _complete(s3, bucket, "k", upload, other)
        assert _code(caught) == ("NoSuchUpload", 404)
    # A copy is no upload's result; a new version of the key ends the repeats too.
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    with pytest.raises(ClientError) as caught:
        _complete(s3, bucket, "copy", upload, parts)
    assert _code(caught) == ("NoSuchUpload", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    with pytest.raises(ClientError) as caught:
        _complete(s3, bucket, "k", upload, parts)
    assert _code(caught) == ("NoSuchUpload", 404)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_same_part_uploaded_twice_at_once(tmp_path: Path) -> None:
    """Two uploads of part 1 overlap; the one that finishes last is the part, and the
    other's blob is removed."""
    with LocalS3Server(tmp_path / "root") as server:
        info = ServerInfo(
            name="race",
            endpoint_url=server.endpoint_url,
            access_key=server.access_key,
            secret_key=server.secret_key,
            checks_signatures=True,
            min_part_size=0,
        )
        s3 = boto3_client(info)
        try:
            s3.create_bucket(Bucket="race")
            upload = s3.create_multipart_upload(Bucket="race", Key="k")["UploadId"]
            bodies = {"late": os.urandom(3 * PART), "early": os.urandom(2 * PART)}
            halfway = {name: threading.Event() for name in bodies}
            finish = {name: threading.Event() for name in bodies}
            replies: dict[str, Reply] = {}

            def send(name: str) -> None:
                data = bodies[name]

                def pieces() -> Iterator[bytes]:
                    yield data[:PART]
                    halfway[name].set()
                    assert finish[name].wait(30)
                    yield data[PART:]

                replies[name] = signed(
                    info, "PUT", f"/race/k?partNumber=1&uploadId={upload}",
                    body=pieces(), content_length=len(data),
                )  # fmt: skip

            threads = {name: threading.Thread(target=send, args=(name,)) for name in bodies}
            for thread in threads.values():
                thread.start()
            assert all(event.wait(30) for event in halfway.values())
            for name in ("early", "late"):  # "late" finishes last
                finish[name].set()
                threads[name].join(30)
                assert replies[name].status == 200, replies[name].body
            etags = {name: replies[name].headers["etag"] for name in bodies}
            listed = s3.list_parts(Bucket="race", Key="k", UploadId=upload)["Parts"]
            assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, etags["late"])]
            with pytest.raises(ClientError) as caught:
                _complete(s3, "race", "k", upload, [{"PartNumber": 1, "ETag": etags["early"]}])
            assert _code(caught) == ("InvalidPart", 400)
            _complete(s3, "race", "k", upload, [{"PartNumber": 1, "ETag": etags["late"]}])
            assert s3.get_object(Bucket="race", Key="k")["Body"].read() == bodies["late"]
            blobs = [p for p in (server.root / "blobs").rglob("*") if p.is_file()]
            assert len(blobs) == 1  # the early part's blob is gone, not leaked
        finally:
            s3.close()


def _read(local: ServerInfo, method: str, path: str) -> tuple[int, str | None, bytes]:
    reply = signed(local, method, path)
    return reply.status, reply.code, reply.body


def test_part_number_reads(local: ServerInfo, s3: Any, bucket: str) -> None:
    data = [os.urandom(PART), b"second part"]
    upload, parts = _upload(s3, bucket, "mp", data)
    _complete(s3, bucket, "mp", upload, parts)
    s3.put_object(Bucket=bucket, Key="single", Body=b"one")
    for method in ("GET", "HEAD"):
        body = method == "GET"
        status, _, got = _read(local, method, f"/{bucket}/mp?partNumber=2")
        assert (status, got) == (206, data[1] if body else b"")
        status, _, got = _read(local, method, f"/{bucket}/single?partNumber=1")
        assert (status, got) == (206, b"one" if body else b"")
        for path, expected in (
            (f"/{bucket}/mp?partNumber=3", (400, "InvalidPartNumber")),
            (f"/{bucket}/single?partNumber=2", (400, "InvalidPartNumber")),
            (f"/{bucket}/mp?partNumber=0", (400, "InvalidArgument")),
            (f"/{bucket}/mp?partNumber=x", (400, "InvalidArgument")),
            (f"/{bucket}/mp?partNumber=10001", (400, "InvalidArgument")),
        ):
            status, code, _ = _read(local, method, path)
            assert (status, code if body else expected[1]) == expected, path
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert _code(caught) == ("InvalidPartNumber", 400)
    assert "The requested partnumber is not satisfiable" in str(caught.value)


def test_copy_keeps_part_layout(s3: Any, bucket: str) -> None:
    data = [os.urandom(PART), os.urandom(PART // 2), b"end"]
    upload, parts = _upload(s3, bucket, "mp", data)
    made = _complete(s3, bucket, "mp", upload, parts)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"})
    for number, expected in enumerate(data, 1):
        got = s3.get_object(Bucket=bucket, Key="copy", PartNumber=number)
        assert got["PartsCount"] == 3
        assert got["Body"].read() == expected
    assert s3.head_object(Bucket=bucket, Key="copy")["ETag"] == made["ETag"]


def test_copy_source_reads_plus_as_a_space(local: ServerInfo, s3: Any, bucket: str) -> None:
    """x-amz-copy-source is query-string encoded, as S3 reads it: s5cmd sends a space
    as "+", and a literal "+" arrives as %2B."""
    s3.put_object(Bucket=bucket, Key="src/with space.txt", Body=b"spaced")
    s3.put_object(Bucket=bucket, Key="src/with+plus.txt", Body=b"plus")
    for source, target, body in (
        ("src/with+space.txt", "copy/a", b"spaced"),
        ("src/with%2Bplus.txt", "copy/b", b"plus"),
    ):
        headers = {"x-amz-copy-source": f"/{bucket}/{source}"}
        reply = signed(local, "PUT", f"/{bucket}/{target}", headers=headers)
        assert reply.status == 200, reply.body
        assert s3.get_object(Bucket=bucket, Key=target)["Body"].read() == body
