"""Browser POST uploads on the embedded server: boto3's ``generate_presigned_post``
posted with ``requests``; policy expiry, conditions (exact, starts-with,
content-length-range, ``${filename}``), extra fields, signatures, the success
replies, and that nothing is stored when S3 would refuse."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from servers import ServerInfo, boto3_client

from s3_asyncio_client.server import LocalS3Server

FILE = b"posted bytes\n" * 100
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture
def s3(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local, signature_version="s3v4")  # boto3 signs forms with V2 else
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"post-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@contextlib.contextmanager
def browser() -> Iterator[requests.Session]:
    """A requests session that takes no proxy from the environment (127.0.0.1)."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def post(
    url: str,
    fields: dict[str, str],
    body: bytes = FILE,
    filename: str = "photo.jpg",
    after: dict[str, str] | None = None,
) -> requests.Response:
    """The form as a browser sends it: fields, the file, then ``after`` fields."""
    files: list[tuple[str, Any]] = [(name, (None, value)) for name, value in fields.items()]
    files.append(("file", (filename, body, "image/jpeg")))
    files += [(name, (None, value)) for name, value in (after or {}).items()]
    with browser() as session:
        return session.post(url, files=files, allow_redirects=False, timeout=30)


def code_of(reply: requests.Response) -> str:
    text = reply.text
    return text[text.find("<Code>") + 6 : text.find("</Code>")]


def keys_in(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_presigned_post_stores_the_object(s3: Any, bucket: str) -> None:
    form = s3.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={
            "Content-Type": "image/jpeg",
            "x-amz-meta-owner": "browser",
            "success_action_status": "201",
            "Cache-Control": "max-age=60",
            "acl": "public-read",
        },
        Conditions=[
            {"acl": "public-read"},
            ["starts-with", "$key", "uploads/"],
            {"Content-Type": "image/jpeg"},
            {"x-amz-meta-owner": "browser"},
            {"success_action_status": "201"},
            ["starts-with", "$Cache-Control", "max-age="],
            ["content-length-range", 1, 10_000],
        ],
        ExpiresIn=60,
    )
    reply = post(form["url"], form["fields"], after={"x-amz-meta-late": "ignored"})
    assert reply.status_code == 201, reply.text
    etag = '"' + hashlib.md5(FILE).hexdigest() + '"'
    assert f"<Bucket>{bucket}</Bucket><Key>uploads/photo.jpg</Key><ETag>{etag}</ETag>" in (
        reply.text
    )
    assert reply.headers["ETag"] == etag
    assert reply.headers["Location"].endswith(f"/{bucket}/uploads/photo.jpg")
    head = s3.head_object(Bucket=bucket, Key="uploads/photo.jpg")
    assert (head["ContentType"], head["Metadata"], head["CacheControl"]) == (
        "image/jpeg",
        {"owner": "browser"},
        "max-age=60",
    )
    assert s3.get_object(Bucket=bucket, Key="uploads/photo.jpg")["Body"].read() == FILE
    grants = s3.get_object_acl(Bucket=bucket, Key="uploads/photo.jpg")["Grants"]
    assert {"Type": "Group", "URI": ALL_USERS} in [g["Grantee"] for g in grants]
    with browser() as session:
        anonymous = session.get(reply.headers["Location"], timeout=30)
    assert (anonymous.status_code, anonymous.content) == (200, FILE)


def test_success_replies(s3: Any, bucket: str) -> None:
    plain = s3.generate_presigned_post(bucket, "plain", ExpiresIn=60)
    reply = post(plain["url"], plain["fields"])
    assert (reply.status_code, reply.content) == (204, b"")
    fields = {"success_action_status": "200"}
    ok = s3.generate_presigned_post(bucket, "ok", Fields=fields, Conditions=[fields], ExpiresIn=60)
    assert post(ok["url"], ok["fields"]).status_code == 200
    target = "http://127.0.0.1:9/done?x=1"
    fields = {"success_action_redirect": target}
    moved = s3.generate_presigned_post(
        bucket, "moved", Fields=fields, Conditions=[fields], ExpiresIn=60
    )
    reply = post(moved["url"], moved["fields"])
    assert reply.status_code == 303
    location = urlsplit(reply.headers["Location"])
    assert location._replace(query="").geturl() == "http://127.0.0.1:9/done"
    query = parse_qs(location.query)
    assert (query["x"], query["bucket"], query["key"]) == (["1"], [bucket], ["moved"])
    assert query["etag"] == ['"' + hashlib.md5(FILE).hexdigest() + '"']
    assert sorted(keys_in(s3, bucket)) == ["moved", "ok", "plain"]


@pytest.mark.parametrize(
    ("size", "status", "code"),
    [(5, 400, "EntityTooSmall"), (300_000, 400, "EntityTooLarge"), (100, 204, "")],
)
def test_content_length_range(s3: Any, bucket: str, size: int, status: int, code: str) -> None:
    form = s3.generate_presigned_post(
        bucket, "sized", Conditions=[["content-length-range", 10, 1000]], ExpiresIn=60
    )
    reply = post(form["url"], form["fields"], body=b"x" * size)
    assert (reply.status_code, code_of(reply) if code else "") == (status, code), reply.text
    assert keys_in(s3, bucket) == ([] if code else ["sized"])


def test_policy_refusals(s3: Any, bucket: str) -> None:
    form = s3.generate_presigned_post(
        bucket,
        "fixed/${filename}",
        Fields={"Content-Type": "text/plain"},
        Conditions=[["starts-with", "$key", "fixed/"], ["eq", "$Content-Type", "text/plain"]],
        ExpiresIn=60,
    )
    fields = form["fields"]
    cases: list[tuple[dict[str, str], int, str, str]] = [
        (
            {**fields, "Content-Type": "text/html"},
            403,
            "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["eq", "$content-type", '
            '"text/plain"]',
        ),
        (
            {**fields, "key": "elsewhere/${filename}"},
            403,
            "AccessDenied",
            "Policy Condition failed",
        ),
        (
            {**fields, "x-amz-meta-extra": "1"},
            403,
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: x-amz-meta-extra",
        ),
        ({**fields, "x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch", ""),
        (
            {name: v for name, v in fields.items() if name != "key"},
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.",
        ),
        ({k: v for k, v in fields.items() if k != "policy"}, 403, "AccessDenied", ""),
    ]
    for sent, status, code, message in cases:
        reply = post(form["url"], sent)
        assert (reply.status_code, code_of(reply)) == (status, code), reply.text
        assert message in reply.text
    ignored = {**fields, "x-ignore-anything": "1"}
    assert post(form["url"], ignored).status_code == 204
    assert keys_in(s3, bucket) == ["fixed/photo.jpg"]


def test_expired_policy(local: ServerInfo, tmp_path: Path) -> None:
    later = time.time() + 300  # the server's clock is 5 minutes ahead of the signer's
    with LocalS3Server(
        tmp_path / "later", access_key=local.access_key, secret_key=local.secret_key,
        clock=lambda: later,
    ) as server:  # fmt: skip
        client = boto3_client(local, endpoint_url=server.endpoint_url, signature_version="s3v4")
        try:
            client.create_bucket(Bucket="late")
            form = client.generate_presigned_post("late", "k", ExpiresIn=60)
            reply = post(form["url"], form["fields"])
            assert (reply.status_code, code_of(reply)) == (403, "AccessDenied")
            assert "Invalid according to Policy: Policy expired." in reply.text
            assert keys_in(client, "late") == []
        finally:
            client.close()


def test_form_shapes(local: ServerInfo, s3: Any, bucket: str) -> None:
    url = f"{local.endpoint_url}/{bucket}"
    form = s3.generate_presigned_post(bucket, "k", ExpiresIn=60)
    with browser() as session:
        no_file = session.post(url, files=[(n, (None, v)) for n, v in form["fields"].items()])
        assert (no_file.status_code, code_of(no_file)) == (
            400,
            "IncorrectNumberOfFilesInPostRequest",
        )
        huge = {**form["fields"], "x-ignore-pad": "p" * 30_000}
        reply = post(url, huge)
        assert (reply.status_code, code_of(reply)) == (400, "MaxPostPreDataLengthExceededError")
        broken = session.post(
            url,
            data=b"--nope\r\nnot a form",
            headers={"Content-Type": "multipart/form-data; boundary=other"},
        )
        assert (broken.status_code, code_of(broken)) == (400, "MalformedPOSTRequest")
    assert keys_in(s3, bucket) == []


def test_hand_built_v4_form_with_checksum(local: ServerInfo, s3: Any, bucket: str) -> None:
    """Signed here from the documented rules, not by any SDK; a checksum field is checked."""
    date = time.strftime("%Y%m%d", time.gmtime())
    credential = f"{local.access_key}/{date}/{local.region}/s3/aws4_request"
    crc = s3.put_object(Bucket=bucket, Key="probe", Body=FILE, ChecksumAlgorithm="CRC32")
    s3.delete_object(Bucket=bucket, Key="probe")
    fields = {
        "key": "hand",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": f"{date}T000000Z",
        "x-amz-checksum-crc32": crc["ChecksumCRC32"],
    }
    expiry = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 60))
    conditions = [{"bucket": bucket}, *({name: v} for name, v in fields.items())]
    policy = base64.b64encode(
        json.dumps({"expiration": expiry, "conditions": conditions}).encode()
    ).decode()
    key = f"AWS4{local.secret_key}".encode()
    for part in (date, local.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
    signed = {**fields, "policy": policy, "x-amz-signature": signature}
    assert post(f"{local.endpoint_url}/{bucket}", signed, body=FILE + b"!").status_code == 400
    assert keys_in(s3, bucket) == []
    assert post(f"{local.endpoint_url}/{bucket}", signed).status_code == 204
    assert s3.get_object(Bucket=bucket, Key="hand")["Body"].read() == FILE


def test_sigv2_form(local: ServerInfo, s3: Any, bucket: str, tmp_path: Path) -> None:
    v2 = boto3_client(local, signature_version="s3")
    try:
        form = v2.generate_presigned_post(bucket, "v2/${filename}", ExpiresIn=60)
    finally:
        v2.close()
    assert "AWSAccessKeyId" in form["fields"]
    forged = {**form["fields"], "signature": base64.b64encode(b"0" * 20).decode()}
    reply = post(form["url"], forged)
    assert (reply.status_code, code_of(reply)) == (403, "SignatureDoesNotMatch")
    assert keys_in(s3, bucket) == []
    assert post(form["url"], form["fields"]).status_code == 204
    assert keys_in(s3, bucket) == ["v2/photo.jpg"]
    with LocalS3Server(
        tmp_path / "strict", access_key=local.access_key, secret_key=local.secret_key,
        strict=True,
    ) as strict:  # fmt: skip
        client = boto3_client(local, endpoint_url=strict.endpoint_url, signature_version="s3v4")
        try:
            client.create_bucket(Bucket=bucket)
            reply = post(f"{strict.endpoint_url}/{bucket}", form["fields"])
            assert (reply.status_code, code_of(reply)) == (400, "InvalidRequest")
            assert keys_in(client, bucket) == []
        finally:
            client.close()
