"""The embedded server driven by boto3, an independent client: every operation, the
error codes S3 gives, SigV4 header and presigned auth, integrity checks, aws-chunked
bodies, strict limits, several users and anonymous access."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from rawhttp import request
from s3errors import error_of

from s3_asyncio_client.protocol.signing import (
    Credentials,
    chunk_signature,
    presign_url,
    sign_headers,
)
from s3_asyncio_client.server import LocalS3Server, load_credentials_file

MiB = 1024 * 1024
ALICE = Credentials("alice-access-key", "alice-secret-key-0123456789")
BOB = Credentials("bob-access-key", "bob-secret-key-9876543210")


def boto(server: LocalS3Server, credentials: Credentials | None = None, **config: Any) -> Any:
    who = credentials or Credentials(server.access_key, server.secret_key)
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=who.access_key,
        aws_secret_access_key=who.secret_key,
        aws_session_token=who.session_token,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            signature_version="s3v4",
            **config,
        ),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server]:
    credentials = {ALICE.access_key: ALICE.secret_key, BOB.access_key: BOB.secret_key}
    with LocalS3Server(tmp_path_factory.mktemp("root"), credentials=credentials) as running:
        yield running


@pytest.fixture
def s3(server: LocalS3Server) -> Iterator[Any]:
    client = boto(server)
    yield client
    client.close()


def test_buckets(s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    assert bucket_name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    head = s3.head_bucket(Bucket=bucket_name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=bucket_name).get("LocationConstraint") is None
    s3.create_bucket(Bucket=bucket_name)  # already yours: 200 in us-east-1, as S3 answers
    s3.put_object(Bucket=bucket_name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=bucket_name)
    assert error_of(caught) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=bucket_name, Key="k")
    s3.delete_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=bucket_name)
    assert error_of(caught) == ("404", 404)
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket=bucket_name)
    assert error_of(caught) == ("NoSuchBucket", 404)
    for bad in ("UpperCase", "ab", "a..b", "192.168.0.1", "-dash"):
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket=bad)
        assert error_of(caught) == ("InvalidBucketName", 400), bad


def test_put_get_head_metadata_and_checksums(s3: Any, bucket: str) -> None:
    body = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=body, Metadata={"owner": "me"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    crc = put["ChecksumCRC32"]  # boto3 sent a CRC32 header: it is echoed, as on S3
    head = s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(body)
    assert head["ContentType"] == "binary/octet-stream"
    assert head["Metadata"] == {"owner": "me"}
    assert head["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    s3.put_object(
        Bucket=bucket,
        Key="typed",
        Body=b"{}",
        ContentType="application/json",
        ContentDisposition="attachment",
        CacheControl="no-cache",
        ChecksumAlgorithm="SHA256",
    )
    typed = s3.get_object(Bucket=bucket, Key="typed")
    assert (typed["ContentType"], typed["ContentDisposition"], typed["CacheControl"]) == (
        "application/json",
        "attachment",
        "no-cache",
    )


def test_ranges(s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    for spec, expected in [
        ("bytes=10-19", body[10:20]),
        ("bytes=10000-", body[10000:]),
        ("bytes=-7", body[-7:]),
        ("bytes=10230-99999", body[10230:]),
    ]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=spec)
        assert got["Body"].read() == expected, spec
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        first = (
            len(body) - len(expected) if spec.startswith("bytes=-") else int(spec[6:].split("-")[0])
        )
        assert got["ContentRange"] == f"bytes {first}-{first + len(expected) - 1}/{len(body)}"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert error_of(caught) == ("InvalidRange", 416)
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-range"] == f"bytes */{len(body)}"


def test_conditional_requests(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    later = datetime.now(UTC) + timedelta(hours=1)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=earlier)["Body"].read() == b"v1"
    for kwargs, expected in [
        ({"IfMatch": '"0123"'}, ("PreconditionFailed", 412)),
        ({"IfUnmodifiedSince": earlier}, ("PreconditionFailed", 412)),
        ({"IfNoneMatch": etag}, ("304", 304)),
        ({"IfModifiedSince": later}, ("304", 304)),
    ]:
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="c", **kwargs)
        assert error_of(caught) == expected, kwargs
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert error_of(caught) == ("412", 412)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert error_of(caught) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v1"


def test_delete_and_missing(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="d")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="d")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="d")
    assert error_of(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="d")
    assert error_of(caught) == ("404", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket + "-none", Key="d")
    assert error_of(caught) == ("NoSuchBucket", 404)


def test_error_document(server: LocalS3Server, bucket: str) -> None:
    reply = request(server.endpoint_url, "GET", f"/{bucket}/missing", credentials=ALICE)
    assert reply.status == 404
    for element in (b"<Code>NoSuchKey</Code>", b"<Message>", b"<Resource>", b"<RequestId>"):
        assert element in reply.body
    assert reply.headers["x-amz-request-id"].encode() in reply.body


def test_delete_objects(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "missing"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "missing"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_copy_object(s3: Any, bucket: str) -> None:
    source = "src dir/ü+%.bin"
    s3.put_object(Bucket=bucket, Key=source, Body=b"payload", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": source})
    kept = s3.get_object(Bucket=bucket, Key="kept")
    assert (kept["Body"].read(), kept["Metadata"]) == (b"payload", {"a": "1"})
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource=f"{bucket}/{source}",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/plain",
    )
    replaced = s3.head_object(Bucket=bucket, Key="replaced")
    assert (replaced["Metadata"], replaced["ContentType"]) == ({"b": "2"}, "text/plain")
    s3.put_object(Bucket=bucket, Key=source, Body=b"changed")  # copies are independent
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"payload"
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "kept"})
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert error_of(caught) == ("NoSuchKey", 404)


def test_listings_v1_v2_pages_and_delimiters(s3: Any, bucket: str) -> None:
    keys = [f"dir/{i:02d}" for i in range(7)] + ["dir/sub/x", "a b+c", "top", "ü/é"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 3}
    )
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "ü/"]
    assert [o["Key"] for o in top["Contents"]] == ["a b+c", "top"]
    assert top["KeyCount"] == 4
    under = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/", MaxKeys=5)
    assert under["IsTruncated"]
    assert [o["Key"] for o in under["Contents"]] == keys[:5]
    rest = s3.list_objects_v2(
        Bucket=bucket,
        Prefix="dir/",
        Delimiter="/",
        ContinuationToken=under["NextContinuationToken"],
    )
    assert [o["Key"] for o in rest["Contents"]] == keys[5:7]
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["dir/sub/"]
    assert not rest["IsTruncated"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="dir/05", Prefix="dir/")
    assert [o["Key"] for o in after["Contents"]] == ["dir/06", "dir/sub/x"]
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert v1["IsTruncated"]
    assert [o["Key"] for o in v1["Contents"]] == ["a b+c"]
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["dir/"]
    v1_next = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=v1["NextMarker"])
    assert [o["Key"] for o in v1_next["Contents"]] == ["top"]
    assert [p["Prefix"] for p in v1_next["CommonPrefixes"]] == ["ü/"]
    v1_pages = s3.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 4}
    )
    assert [o["Key"] for p in v1_pages for o in p.get("Contents", [])] == listed


def test_multipart_operations(s3: Any, bucket: str) -> None:
    source = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ContentType="text/x-mp", Metadata={"m": "1"},
        ChecksumAlgorithm="CRC32",
    )  # fmt: skip
    upload_id = created["UploadId"]
    parts = []
    bodies = [os.urandom(1000 + i) for i in range(4)]
    for number, body in enumerate(bodies, 1):
        reply = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=body,
            ChecksumAlgorithm="CRC32",
        )  # fmt: skip
        parts.append(
            {"PartNumber": number, "ETag": reply["ETag"], "ChecksumCRC32": reply["ChecksumCRC32"]}
        )
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=5,
        CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=100-199999",
    )["CopyPartResult"]  # fmt: skip
    parts.append(
        {"PartNumber": 5, "ETag": copied["ETag"], "ChecksumCRC32": copied["ChecksumCRC32"]}
    )
    first = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    assert first["IsTruncated"]
    second = s3.list_parts(
        Bucket=bucket, Key="mp", UploadId=upload_id,
        PartNumberMarker=first["NextPartNumberMarker"],
    )  # fmt: skip
    assert [p["PartNumber"] for p in second["Parts"]] == [3, 4, 5]
    assert second["Parts"][2]["Size"] == 199_900
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp", upload_id)]
    for wrong, code in [
        ([parts[1], parts[0]], "InvalidPartOrder"),
        ([{**parts[0], "ETag": '"' + "0" * 32 + '"'}], "InvalidPart"),
        ([{**parts[0], "PartNumber": 9}], "InvalidPart"),
    ]:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": wrong}
            )
        assert error_of(caught) == (code, 400)
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    md5s = b"".join(bytes.fromhex(p["ETag"].strip('"')) for p in parts)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-5"'
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == b"".join(bodies) + source[100:200000]
    assert (got["ContentType"], got["Metadata"]) == ("text/x-mp", {"m": "1"})
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert error_of(caught) == ("NoSuchUpload", 404)
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=aborted, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as caught:
        s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    assert error_of(caught) == ("NoSuchUpload", 404)


def test_get_and_head_by_part_number(s3: Any, bucket: str) -> None:
    """partNumber serves one part of a multipart object (206 with its Content-Range, as
    S3 does); a single PUT is one part; out of range is 400 InvalidPartNumber."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    bodies = [os.urandom(7000), os.urandom(3000), os.urandom(5)]
    parts = [
        {"PartNumber": n, "ETag": s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=n, Body=body
        )["ETag"]}
        for n, body in enumerate(bodies, 1)
    ]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert (head["ContentLength"], head["PartsCount"]) == (3000, 3)
    assert head["ContentRange"] == "bytes 7000-9999/10005"
    got = s3.get_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert got["Body"].read() == bodies[2]
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    s3.put_object(Bucket=bucket, Key="single", Body=b"one part")
    assert s3.get_object(Bucket=bucket, Key="single", PartNumber=1)["Body"].read() == b"one part"
    for key, number in (("mp", 4), ("single", 2)):
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key=key, PartNumber=number)
        assert error_of(caught) == ("InvalidPartNumber", 400)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=1, Range="bytes=0-1")
    assert error_of(caught) == ("InvalidRequest", 400)


def test_list_multipart_uploads_pages(s3: Any, bucket: str) -> None:
    keys = ["a", "b", "dir/1", "dir/2", "z"]
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in keys}
    pages = s3.get_paginator("list_multipart_uploads").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 2}
    )
    listed = [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])]
    assert listed == [(key, ids[key]) for key in keys]
    seen_uploads, seen_prefixes = [], []
    marker = ""
    while True:
        page = s3.list_multipart_uploads(
            Bucket=bucket, Delimiter="/", MaxUploads=2, KeyMarker=marker
        )
        seen_uploads += [u["Key"] for u in page.get("Uploads", [])]
        seen_prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextKeyMarker"]
    assert (seen_uploads, seen_prefixes) == (["a", "b", "z"], ["dir/"])
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")["Uploads"][1]["Key"] == "dir/2"


def test_upload_and_download_file(s3: Any, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(11 * MiB + 5)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(source), bucket, "file", Config=config)
    assert s3.head_object(Bucket=bucket, Key="file")["ETag"].endswith('-3"')
    target = tmp_path / "out.bin"
    s3.download_file(bucket, "file", str(target), Config=config)  # ranged GETs
    assert target.read_bytes() == data


def test_presigned_get_and_put(s3: Any, bucket: str) -> None:
    key = "pre signed/ü+.txt"
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60
    )
    with urllib.request.urlopen(urllib.request.Request(put_url, b"via url", method="PUT")) as r:
        assert r.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    with urllib.request.urlopen(get_url) as reply:
        assert reply.read() == b"via url"
    tampered = get_url.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(tampered)
    assert caught.value.code == 403
    assert b"SignatureDoesNotMatch" in caught.value.read()
    caught.value.close()


def test_expired_presigned_url(server: LocalS3Server, bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="old", Body=b"x")
    url = f"{server.endpoint_url}/{bucket}/old"
    signed = presign_url(
        "GET", url, ALICE, region="us-east-1",
        timestamp=datetime.now(UTC) - timedelta(seconds=120), expires=60,
    ).headers["url"]  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(signed)
    assert caught.value.code == 403
    body = caught.value.read()
    assert b"<Code>AccessDenied</Code>" in body
    assert b"Request has expired" in body
    caught.value.close()


def test_presigned_expires_values(server: LocalS3Server, bucket: str, s3: Any) -> None:
    """S3's answers to each kind of X-Amz-Expires, with the elements S3 adds."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    signed_at = datetime.now(UTC) - timedelta(seconds=120)
    url = presign_url(
        "GET", f"{server.endpoint_url}/{bucket}/k", ALICE, region="us-east-1",
        timestamp=signed_at, expires=60,
    ).headers["url"]  # fmt: skip
    path = url.removeprefix(server.endpoint_url)
    reply = request(server.endpoint_url, "GET", path)
    assert (reply.status, reply.code) == (403, "AccessDenied")
    deadline = (signed_at + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert b"<Message>Request has expired</Message><X-Amz-Expires>60</X-Amz-Expires>" in reply.body
    assert f"<Expires>{deadline}</Expires><ServerTime>".encode() in reply.body
    week = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires"
    for value, message in (
        ("604801", week),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("soon", "X-Amz-Expires should be a number"),
        ("", "Query-string authentication version 4 requires"),
    ):
        reply = request(
            server.endpoint_url, "GET", path.replace("X-Amz-Expires=60", f"X-Amz-Expires={value}")
        )
        status = 400 if value == "" else 403  # a missing value is a malformed query
        assert (reply.status, reply.code) == (status, "AuthorizationQueryParametersError"), value
        assert f"<Message>{message}".encode() in reply.body
    now = presign_url(
        "GET", f"{server.endpoint_url}/{bucket}/k", ALICE, region="us-east-1",
        timestamp=datetime.now(UTC), expires=604800,
    ).headers["url"]  # fmt: skip
    zero = now.removeprefix(server.endpoint_url).replace("X-Amz-Expires=604800", "X-Amz-Expires=0")
    reply = request(server.endpoint_url, "GET", zero)  # checked before the signature, as S3
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert request(server.endpoint_url, "GET", now.removeprefix(server.endpoint_url)).body == b"x"


def test_bad_credentials(server: LocalS3Server, bucket: str) -> None:
    wrong_secret = boto(server, Credentials(ALICE.access_key, "wrong-secret"))
    unknown = boto(server, Credentials("nobody", "whatever"))
    try:
        with pytest.raises(ClientError) as caught:
            wrong_secret.list_objects_v2(Bucket=bucket)
        assert error_of(caught) == ("SignatureDoesNotMatch", 403)
        with pytest.raises(ClientError) as caught:
            unknown.list_buckets()
        assert error_of(caught) == ("InvalidAccessKeyId", 403)
    finally:
        wrong_secret.close()
        unknown.close()
    anonymous = request(server.endpoint_url, "GET", f"/{bucket}")
    assert (anonymous.status, anonymous.code) == (403, "AccessDenied")


def test_clock_skew(server: LocalS3Server) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=16)
    reply = request(server.endpoint_url, "GET", "/", credentials=ALICE, timestamp=stale)
    assert (reply.status, reply.code) == (403, "RequestTimeTooSkewed")
    assert "date" in reply.headers
    assert b"<ServerTime>" in reply.body
    fine = datetime.now(UTC) - timedelta(minutes=14)
    assert request(server.endpoint_url, "GET", "/", credentials=ALICE, timestamp=fine).status == 200


def test_bad_digests_store_nothing(s3: Any, server: LocalS3Server, bucket: str) -> None:
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5=wrong_md5)
    assert error_of(caught) == ("BadDigest", 400)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32C="AAAAAA==")
    assert error_of(caught) == ("BadDigest", 400)
    signed_for_other = hashlib.sha256(b"other").hexdigest()
    reply = request(
        server.endpoint_url, "PUT", f"/{bucket}/bad", body=b"data",
        credentials=ALICE, payload_hash=signed_for_other,
    )  # fmt: skip
    assert (reply.status, reply.code) == (400, "XAmzContentSHA256Mismatch")
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="bad")
    assert error_of(caught) == ("404", 404)
    right_md5 = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket=bucket, Key="good", Body=b"data", ContentMD5=right_md5)


def _force_trailer(context: dict[str, Any], **_: Any) -> None:
    """Make boto3 send aws-chunked with a trailing checksum, as it does over https."""
    algorithm = context.get("checksum", {}).get("request_algorithm")
    if algorithm:
        algorithm["in"] = "trailer"


def test_aws_chunked_unsigned_trailer_from_boto3(server: LocalS3Server, bucket: str) -> None:
    client = boto(server)
    client.meta.events.register("before-call.s3.PutObject", _force_trailer)
    client.meta.events.register("before-call.s3.UploadPart", _force_trailer)
    try:
        body = os.urandom(3 * MiB + 17)  # several 1 MiB aws-chunked frames
        put = client.put_object(Bucket=bucket, Key="chunked", Body=body, ChecksumAlgorithm="SHA256")
        assert put["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        got = client.get_object(Bucket=bucket, Key="chunked")
        assert got["Body"].read() == body
        assert got["ContentLength"] == len(body)
        assert "ContentEncoding" not in got  # aws-chunked is framing, not a stored encoding
    finally:
        client.close()


def _chunked_body(frames: list[bytes], signatures: list[str] | None, trailer: bytes) -> bytes:
    out = b""
    for index, frame in enumerate(frames):
        extension = f";chunk-signature={signatures[index]}" if signatures else ""
        out += f"{len(frame):x}{extension}\r\n".encode() + frame + b"\r\n"
    return out[:-2] + trailer if trailer else out


def test_aws_chunked_signed_and_tampered(server: LocalS3Server, bucket: str) -> None:
    data = os.urandom(200_000)
    frames = [data[:65536], data[65536:131072], data[131072:], b""]
    url = f"{server.endpoint_url}/{bucket}/signed-chunks"
    now = datetime.now(UTC)
    headers = {
        "host": url.split("/")[2],
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    }
    for tamper in (False, True):
        signed = sign_headers(
            "PUT", url, list(headers.items()), ALICE, region="us-east-1", timestamp=now,
            payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        )  # fmt: skip
        previous, signatures = signed.signature, []
        for frame in frames:
            previous = chunk_signature(
                ALICE, region="us-east-1", timestamp=now, previous_signature=previous, chunk=frame
            )
            signatures.append(previous)
        body = _chunked_body(frames, signatures, b"")
        if tamper:
            body = body.replace(data[70000:70010], bytes(10))
        reply = request(
            server.endpoint_url, "PUT", f"/{bucket}/signed-chunks", body=body,
            headers={**{k: v for k, v in headers.items() if k != "host"}, **signed.headers},
        )  # fmt: skip
        if tamper:
            assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
        else:
            assert reply.status == 200, reply.body
    stored = request(server.endpoint_url, "GET", f"/{bucket}/signed-chunks", credentials=ALICE)
    assert stored.body == data


def test_aws_chunked_wrong_trailer_checksum(server: LocalS3Server, bucket: str) -> None:
    body = _chunked_body([b"hello world", b""], None, b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    reply = request(
        server.endpoint_url, "PUT", f"/{bucket}/trailer", body=body, credentials=ALICE,
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        headers={
            "content-encoding": "aws-chunked",
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-decoded-content-length": "11",
        },
    )  # fmt: skip
    assert (reply.status, reply.code) == (400, "BadDigest")
    missing = request(server.endpoint_url, "HEAD", f"/{bucket}/trailer", credentials=ALICE)
    assert missing.status == 404


def test_strict_mode_limits(tmp_path: Path) -> None:
    with LocalS3Server(tmp_path / "strict", strict=True) as strict:
        client = boto(strict)
        try:
            client.create_bucket(Bucket="strict")
            upload_id = client.create_multipart_upload(Bucket="strict", Key="k")["UploadId"]
            etags = [
                client.upload_part(
                    Bucket="strict", Key="k", UploadId=upload_id, PartNumber=n, Body=b"x" * 1024
                )["ETag"]
                for n in (1, 2)
            ]
            with pytest.raises(ClientError) as caught:
                client.complete_multipart_upload(
                    Bucket="strict", Key="k", UploadId=upload_id,
                    MultipartUpload={"Parts": [
                        {"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)
                    ]},
                )  # fmt: skip
            assert error_of(caught) == ("EntityTooSmall", 400)
            with pytest.raises(ClientError) as caught:
                client.upload_part(
                    Bucket="strict", Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x"
                )
            assert error_of(caught) == ("InvalidArgument", 400)
            done = client.complete_multipart_upload(  # a single small last part is fine
                Bucket="strict", Key="k", UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}]},
            )  # fmt: skip
            assert done["ETag"].endswith('-1"')
            huge = request(  # refused from its declared length, before any byte is read
                strict.endpoint_url, "PUT", "/strict/huge", body=iter([]),
                content_length=6 * 1024**3,
                credentials=Credentials(strict.access_key, strict.secret_key),
            )  # fmt: skip
            assert (huge.status, huge.code) == (400, "EntityTooLarge")
        finally:
            client.close()


def test_several_users_share_one_namespace(server: LocalS3Server, bucket_name: str) -> None:
    alice, bob = boto(server, ALICE), boto(server, BOB)
    try:
        alice.create_bucket(Bucket=bucket_name)
        alice.put_object(Bucket=bucket_name, Key="shared", Body=b"from alice")
        assert bob.get_object(Bucket=bucket_name, Key="shared")["Body"].read() == b"from alice"
        bob.create_bucket(Bucket=bucket_name)  # one namespace: us-east-1 answers 200
        assert bob.get_object(Bucket=bucket_name, Key="shared")["Body"].read() == b"from alice"
    finally:
        alice.close()
        bob.close()


def test_credentials_file_with_session_token(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\naws_access_key_id = one\naws_secret_access_key = secret-one\n\n"
        "[temp]\naws_access_key_id = two\naws_secret_access_key = secret-two\n"
        "aws_session_token = token-two\n\n[empty]\nregion = us-east-1\n"
    )
    keys = load_credentials_file(path)
    assert [(k.access_key, k.session_token) for k in keys] == [("one", None), ("two", "token-two")]
    with LocalS3Server(tmp_path / "root", credentials=keys) as server:
        for who in (keys[0], keys[1]):
            client = boto(server, who)
            try:
                assert client.list_buckets()["Buckets"] == []
            finally:
                client.close()
        no_token = boto(server, Credentials("two", "secret-two"))
        try:
            with pytest.raises(ClientError) as caught:
                no_token.list_buckets()
            assert error_of(caught) == ("InvalidToken", 400)
        finally:
            no_token.close()


def test_anonymous_only_when_auth_is_off(tmp_path: Path) -> None:
    with LocalS3Server(tmp_path / "open", auth=False) as server:
        assert request(server.endpoint_url, "PUT", "/open").status == 200
        assert request(server.endpoint_url, "PUT", "/open/k", body=b"anon").status == 200
        assert request(server.endpoint_url, "GET", "/open/k").body == b"anon"
        signed = boto(server)  # signatures are accepted (and ignored) too
        try:
            assert signed.get_object(Bucket="open", Key="k")["Body"].read() == b"anon"
        finally:
            signed.close()


def test_date_header_and_request_ids(server: LocalS3Server) -> None:
    reply = request(server.endpoint_url, "GET", "/", credentials=ALICE)
    assert reply.status == 200
    server_time = time.mktime(time.strptime(reply.headers["date"], "%a, %d %b %Y %H:%M:%S GMT"))
    assert abs(server_time - time.mktime(time.gmtime())) < 60
    assert reply.headers["x-amz-request-id"]
    assert formatdate(usegmt=True)[-3:] == reply.headers["date"][-3:]


def test_streamed_put_without_length(server: LocalS3Server, bucket: str) -> None:
    """HTTP chunked transfer (no Content-Length) with an unsigned payload."""
    pieces = [os.urandom(70_000) for _ in range(5)]
    reply = request(
        server.endpoint_url, "PUT", f"/{bucket}/streamed",
        body=(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in [*pieces, b""]),
        headers={"transfer-encoding": "chunked"}, credentials=ALICE,
    )  # fmt: skip
    assert reply.status == 200, reply.body
    stored = request(server.endpoint_url, "GET", f"/{bucket}/streamed", credentials=ALICE)
    assert stored.body == b"".join(pieces)
    assert reply.headers["etag"] == f'"{hashlib.md5(stored.body).hexdigest()}"'


def test_big_object_is_streamed(s3: Any, bucket: str) -> None:
    data = os.urandom(20 * MiB)
    config = TransferConfig(multipart_threshold=64 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big", Config=config)
    got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_stop_leaves_nothing_behind() -> None:
    before = set(threading.enumerate())
    server = LocalS3Server().start()
    root, port = server.root, server.port
    assert root.is_dir()
    assert [t.name for t in set(threading.enumerate()) - before] == ["LocalS3Server"]
    client = boto(server)
    client.create_bucket(Bucket="left-open")  # a pooled keep-alive connection
    server.stop()
    client.close()
    assert set(threading.enumerate()) <= before  # its thread and executor threads ended
    assert not root.exists()  # a temporary root goes with the server
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert server.access_key
    assert server.secret_key  # generated, since none were given
    server.stop()  # idempotent


def test_one_server_per_root(server: LocalS3Server) -> None:
    with pytest.raises(RuntimeError, match="in use by another server"):
        LocalS3Server(server.root).start()


def test_reader_keeps_its_version_across_overwrite_and_delete(tmp_path: Path) -> None:
    """A GET streams the version it started with, whole, though the key is overwritten
    and deleted meanwhile; the old blobs go once the reader is done."""
    with LocalS3Server(tmp_path / "root") as server:
        client = boto(server)
        try:
            client.create_bucket(Bucket="pins")
            upload_id = client.create_multipart_upload(Bucket="pins", Key="k")["UploadId"]
            old_parts = [os.urandom(6 * MiB), os.urandom(6 * MiB + 5)]
            etags = [
                client.upload_part(
                    Bucket="pins", Key="k", UploadId=upload_id, PartNumber=n, Body=body
                )["ETag"]
                for n, body in enumerate(old_parts, 1)
            ]
            client.complete_multipart_upload(
                Bucket="pins", Key="k", UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                           for n, e in enumerate(etags, 1)]},
            )  # fmt: skip
            stream = client.get_object(Bucket="pins", Key="k")["Body"]
            head = stream.read(MiB)
            client.put_object(Bucket="pins", Key="k", Body=b"new version")
            assert client.get_object(Bucket="pins", Key="k")["Body"].read() == b"new version"
            client.delete_object(Bucket="pins", Key="k")
            assert head + stream.read() == b"".join(old_parts)
            stream.close()
            deadline = time.monotonic() + 5
            while any(p.is_file() for p in (server.root / "blobs").rglob("*")):
                assert time.monotonic() < deadline, "old blobs were never removed"
                time.sleep(0.01)
        finally:
            client.close()
