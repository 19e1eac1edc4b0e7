"""SigV2 against the embedded server: ``Authorization: AWS key:signature`` (boto3 with
``signature_version="s3"``), presigned ``AWSAccessKeyId``/``Signature``/``Expires``
URLs (boto3, a hand-built one, aws-cli v1's ``aws s3 presign``); accepted by default,
refused under ``strict`` as AWS does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from botocore.exceptions import ClientError
from rawhttp import Reply, request
from servers import ServerInfo, boto3_client

from s3_asyncio_client.protocol.signing import Credentials, presign_url
from s3_asyncio_client.server import LocalS3Server

MOVED = "The authorization mechanism you have provided is not supported."


@pytest.fixture
def v2(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local, signature_version="s3")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def bucket(v2: Any) -> str:
    name = f"v2-{uuid.uuid4().hex[:12]}"
    v2.create_bucket(Bucket=name)
    return name


def v2_url(
    server: ServerInfo, method: str, path: str, expires: int, *, sign_query: str = ""
) -> str:
    """A SigV2 presigned path and query, signed here (not by any library);
    ``sign_query`` is a raw sub-resource query, signed with its values decoded."""
    resource = f"{path}?{unquote(sign_query)}" if sign_query else path
    text = f"{method}\n\n\n{expires}\n{resource}"
    key = server.secret_key.encode()
    signature = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha1).digest()).decode()
    extra = f"{sign_query}&" if sign_query else ""
    return (
        f"{path}?{extra}AWSAccessKeyId={quote(server.access_key)}&Expires={expires}"
        f"&Signature={quote(signature, safe='')}"
    )


def presigned_v4(server: ServerInfo, path: str) -> str:
    return presign_url(
        "GET",
        f"{server.endpoint_url}{path}",
        Credentials(server.access_key, server.secret_key),
        region=server.region,
        timestamp=datetime.now(UTC),
        expires=60,
    ).headers["url"]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def assert_error(reply: Reply, status: int, code: str, text: bytes = b"") -> None:
    assert (reply.status, reply.code) == (status, code), reply.body
    assert text in reply.body


def test_boto3_header_auth(v2: Any, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="a b/ü", Body=b"v2 body", Metadata={"m": "1"})
    got = v2.get_object(Bucket=bucket, Key="a b/ü", ResponseContentType="text/x-v2")
    assert (got["Body"].read(), got["Metadata"], got["ContentType"]) == (
        b"v2 body",
        {"m": "1"},
        "text/x-v2",
    )
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket)["Contents"]] == ["a b/ü"]
    upload = v2.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = v2.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
    v2.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )
    assert v2.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"p"
    v2.delete_object(Bucket=bucket, Key="mp")
    assert v2.head_object(Bucket=bucket, Key="a b/ü")["ContentLength"] == 7


def test_header_auth_refusals(local: ServerInfo, bucket: str, v2: Any) -> None:
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    path = f"/{bucket}/forged"
    bad = {"date": date, "authorization": f"AWS {local.access_key}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    reply = request(local.endpoint_url, "PUT", path, body=b"x", headers=bad)
    assert_error(reply, 403, "SignatureDoesNotMatch", b"<StringToSign>PUT\n")
    unknown = {"date": date, "authorization": "AWS nobody:AAAA"}
    reply = request(local.endpoint_url, "PUT", path, body=b"x", headers=unknown)
    assert_error(reply, 403, "InvalidAccessKeyId")
    malformed = {"date": date, "authorization": f"AWS {local.access_key}"}
    reply = request(local.endpoint_url, "PUT", path, body=b"x", headers=malformed)
    assert_error(reply, 400, "InvalidArgument")
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    stale = {"date": old, "authorization": f"AWS {local.access_key}:AAAA"}
    reply = request(local.endpoint_url, "PUT", path, body=b"x", headers=stale)
    assert_error(reply, 403, "RequestTimeTooSkewed")
    with pytest.raises(ClientError) as caught:
        v2.head_object(Bucket=bucket, Key="forged")
    assert caught.value.response["Error"]["Code"] == "404"


def test_content_md5_checked(v2: Any, bucket: str) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as caught:
        v2.put_object(Bucket=bucket, Key="md5", Body=b"body", ContentMD5=wrong)
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert "Contents" not in v2.list_objects_v2(Bucket=bucket)


def test_boto3_presigned_get_and_put(v2: Any, bucket: str) -> None:
    put = v2.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "pre/ü+x"}, ExpiresIn=60
    )
    assert "AWSAccessKeyId=" in put
    assert "X-Amz-" not in put
    # No Content-Type (urllib would add one): the URL signed none.
    parts = urlsplit(put)
    reply = request(put.split(parts.path)[0], "PUT", path_of(put), body=b"via v2")
    assert reply.status == 200, reply.body
    get = v2.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "pre/ü+x", "ResponseContentDisposition": "inline"},
    )
    with urllib.request.urlopen(get) as reply:
        assert reply.read() == b"via v2"
        assert reply.headers["Content-Disposition"] == "inline"


def test_presigned_refusals(local: ServerInfo, v2: Any, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="k", Body=b"kept")
    path = f"/{bucket}/k"
    good = v2_url(local, "GET", path, int(time.time()) + 60)
    assert request(local.endpoint_url, "GET", good).body == b"kept"
    with_override = v2_url(
        local, "GET", path, int(time.time()) + 60, sign_query="response-content-type=a%2Fb"
    )
    reply = request(local.endpoint_url, "GET", with_override)
    assert (reply.status, reply.headers["content-type"]) == (200, "a/b")
    past = int(time.time()) - 5
    reply = request(local.endpoint_url, "GET", v2_url(local, "GET", path, past))
    assert_error(reply, 403, "AccessDenied", b"<Message>Request has expired</Message>")
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(past)).encode()
    assert b"<Expires>" + expected + b"</Expires><ServerTime>" in reply.body
    tampered = good.replace(f"Expires={int(good.split('Expires=')[1].split('&')[0])}", "Expires=1")
    reply = request(local.endpoint_url, "GET", tampered)
    assert_error(reply, 403, "AccessDenied", b"Request has expired")
    later = good.replace("Expires=", "Expires=9")
    assert_error(request(local.endpoint_url, "GET", later), 403, "SignatureDoesNotMatch")
    not_a_date = f"{path}?AWSAccessKeyId={local.access_key}&Expires=soon&Signature=x"
    reply = request(local.endpoint_url, "GET", not_a_date)
    assert_error(reply, 403, "AccessDenied", b"Invalid date (should be seconds since epoch)")
    partial = f"{path}?AWSAccessKeyId={local.access_key}&Signature=x"
    assert_error(request(local.endpoint_url, "GET", partial), 403, "AccessDenied")
    # Every x-amz-* header is signed under SigV2: one added to a URL breaks it.
    put = v2_url(local, "PUT", f"/{bucket}/added", int(time.time()) + 60)
    reply = request(local.endpoint_url, "PUT", put, body=b"x", headers={"x-amz-meta-added": "1"})
    assert_error(reply, 403, "SignatureDoesNotMatch")
    keys = [o["Key"] for o in v2.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["k"]


def test_strict_refuses_sigv2(tmp_path: Path) -> None:
    with LocalS3Server(tmp_path / "strict", strict=True) as server:
        info = ServerInfo(
            name="strict",
            endpoint_url=server.endpoint_url,
            access_key=server.access_key,
            secret_key=server.secret_key,
            checks_signatures=True,
            min_part_size=5 * 1024 * 1024,
        )
        v4 = boto3_client(info)
        v2 = boto3_client(info, signature_version="s3")
        try:
            v4.create_bucket(Bucket="bkt")
            with pytest.raises(ClientError) as caught:
                v2.put_object(Bucket="bkt", Key="k", Body=b"x")
            error = caught.value.response["Error"]
            assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
                "InvalidRequest",
                400,
            )
            assert error["Message"].startswith(MOVED)
            url = v2_url(info, "GET", "/bkt/k", int(time.time()) + 60)
            reply = request(server.endpoint_url, "GET", url)
            assert_error(reply, 400, "InvalidRequest", b"Please use AWS4-HMAC-SHA256.")
            assert "Contents" not in v4.list_objects_v2(Bucket="bkt")
        finally:
            v4.close()
            v2.close()


def _aws_cli() -> str | None:
    return shutil.which("aws")


@pytest.mark.skipif(_aws_cli() is None, reason="aws-cli is not installed")
def test_aws_cli_v1_presign(local: ServerInfo, v2: Any, bucket: str, tmp_path: Path) -> None:
    v2.put_object(Bucket=bucket, Key="cli/obj", Body=b"from the cli")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": local.access_key,
        "AWS_SECRET_ACCESS_KEY": local.secret_key,
        "AWS_DEFAULT_REGION": local.region,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    aws = _aws_cli()
    assert aws is not None
    done = subprocess.run(
        [aws, "s3", "presign", f"s3://{bucket}/cli/obj", "--endpoint-url", local.endpoint_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    url = done.stdout.strip()
    with urllib.request.urlopen(url) as reply:
        assert reply.read() == b"from the cli"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url.replace("Signature=", "Signature=A"))
    assert caught.value.code == 403
    caught.value.close()


def test_non_ascii_signature(local: ServerInfo, bucket: str) -> None:
    url = v2_url(local, "GET", f"/{bucket}/k", int(time.time()) + 60)
    forged = url.split("&Signature=")[0] + "&Signature=%C3%A9"
    assert_error(request(local.endpoint_url, "GET", forged), 403, "SignatureDoesNotMatch")
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    headers = {"date": date, "authorization": f"AWS {local.access_key}:\xe9"}
    reply = request(local.endpoint_url, "GET", f"/{bucket}/k", headers=headers)
    assert_error(reply, 403, "SignatureDoesNotMatch")
    # SigV4's signatures too: a non-ASCII one is a mismatch, not a server error.
    v4 = f"/{bucket}/k?" + presigned_v4(local, f"/{bucket}/k").split("?", 1)[1]
    forged_v4 = v4.split("&X-Amz-Signature=")[0] + "&X-Amz-Signature=%C3%A9"
    assert_error(request(local.endpoint_url, "GET", forged_v4), 403, "SignatureDoesNotMatch")
