"""Forged and tampered SigV4 requests against the embedded server: an ``x-amz-*``
header added to a signed request or to a presigned URL is refused (403 AccessDenied,
``<HeadersNotSigned>``), never acted on; the same headers, signed, still work."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from rawhttp import Reply, request, signed
from servers import ServerInfo

from s3_asyncio_client.protocol.signing import (
    UNSIGNED_PAYLOAD,
    Credentials,
    presign_url,
    sign_headers,
)
from s3_asyncio_client.server import LocalS3Server

SECRET = b"the secret object's bytes"
NOT_SIGNED = b"<Message>There were headers present in the request which were not signed</Message>"


def credentials(local: ServerInfo) -> Credentials:
    return Credentials(local.access_key, local.secret_key)


def presigned(
    local: ServerInfo, method: str, path: str, headers: Sequence[tuple[str, str]] = ()
) -> str:
    """The raw path and query of a presigned URL for ``path``."""
    url = presign_url(
        method,
        f"{local.endpoint_url}{path}",
        credentials(local),
        region=local.region,
        timestamp=datetime.now(UTC),
        expires=300,
        headers=headers,
    ).headers["url"]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def assert_not_signed(reply: Reply, names: str) -> None:
    assert (reply.status, reply.code) == (403, "AccessDenied"), reply.body
    assert NOT_SIGNED in reply.body
    assert f"<HeadersNotSigned>{names}</HeadersNotSigned>".encode() in reply.body


@pytest.fixture
def buckets(local: ServerInfo) -> tuple[str, str]:
    """(other, mine): ``other/secret`` holds SECRET; ``mine/kept`` holds b"mine"."""
    other, mine = (f"f-{uuid.uuid4().hex[:12]}" for _ in range(2))
    for name in (other, mine):
        assert signed(local, "PUT", f"/{name}").status == 200
    assert signed(local, "PUT", f"/{other}/secret", body=SECRET).status == 200
    assert signed(local, "PUT", f"/{mine}/kept", body=b"mine").status == 200
    return other, mine


def body_of(local: ServerInfo, path: str) -> bytes | None:
    reply = signed(local, "GET", path)
    if reply.status == 404:
        assert reply.code == "NoSuchKey"
        return None
    assert reply.status == 200, reply.body
    return reply.body


def test_presigned_put_with_added_copy_source(local: ServerInfo, buckets: tuple[str, str]) -> None:
    other, mine = buckets
    for key in ("new", "kept"):
        reply = request(
            local.endpoint_url,
            "PUT",
            presigned(local, "PUT", f"/{mine}/{key}"),
            headers={"x-amz-copy-source": f"/{other}/secret"},
        )
        assert_not_signed(reply, "x-amz-copy-source")
    assert body_of(local, f"/{mine}/new") is None
    assert body_of(local, f"/{mine}/kept") == b"mine"


def test_presigned_upload_part_with_added_copy_source(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    other, mine = buckets
    created = signed(local, "POST", f"/{mine}/mp?uploads")
    assert created.status == 200
    found = re.search(rb"<UploadId>([^<]+)</UploadId>", created.body)
    assert found is not None
    upload_id = found.group(1).decode()
    path = presigned(local, "PUT", f"/{mine}/mp?partNumber=1&uploadId={upload_id}")
    reply = request(
        local.endpoint_url, "PUT", path, headers={"x-amz-copy-source": f"/{other}/secret"}
    )
    assert_not_signed(reply, "x-amz-copy-source")
    parts = signed(local, "GET", f"/{mine}/mp?uploadId={upload_id}")
    assert parts.status == 200
    assert b"<Part>" not in parts.body
    assert signed(local, "DELETE", f"/{mine}/mp?uploadId={upload_id}").status == 204


def test_header_signed_with_metadata_added_after_signing(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    _, mine = buckets
    reply = signed(
        local,
        "PUT",
        f"/{mine}/kept",
        body=b"forged",
        unsigned={"X-Amz-Meta-Owner": "mallory", "x-amz-meta-role": "admin"},
    )
    assert_not_signed(reply, "x-amz-meta-owner, x-amz-meta-role")
    assert body_of(local, f"/{mine}/kept") == b"mine"
    head = signed(local, "HEAD", f"/{mine}/kept")
    assert "x-amz-meta-owner" not in head.headers


def test_header_signed_with_copy_source_added_after_signing(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    other, mine = buckets
    for key in ("new", "kept"):
        reply = signed(
            local, "PUT", f"/{mine}/{key}", unsigned={"x-amz-copy-source": f"/{other}/secret"}
        )
        assert_not_signed(reply, "x-amz-copy-source")
    assert body_of(local, f"/{mine}/new") is None
    assert body_of(local, f"/{mine}/kept") == b"mine"


def test_header_signed_with_decoded_length_added_after_signing(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    _, mine = buckets
    added = {"x-amz-decoded-content-length": "6"}
    reply = signed(local, "PUT", f"/{mine}/kept", body=b"forged", unsigned=added)
    assert_not_signed(reply, "x-amz-decoded-content-length")
    assert body_of(local, f"/{mine}/kept") == b"mine"


def test_header_signed_payload_hash_must_be_signed(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    """With header auth even x-amz-content-sha256 must be signed, as on S3."""
    _, mine = buckets
    host = urlsplit(local.endpoint_url).netloc
    headers = {"host": host, "content-length": "6"}
    signature = sign_headers(
        "PUT",
        f"{local.endpoint_url}/{mine}/kept",
        list(headers.items()),
        credentials(local),
        region=local.region,
        timestamp=datetime.now(UTC),
        payload_hash=UNSIGNED_PAYLOAD,
        add_content_sha256=False,
    )
    headers.update(signature.headers)
    headers["x-amz-content-sha256"] = UNSIGNED_PAYLOAD
    reply = request(local.endpoint_url, "PUT", f"/{mine}/kept", body=b"forged", headers=headers)
    assert_not_signed(reply, "x-amz-content-sha256")
    assert body_of(local, f"/{mine}/kept") == b"mine"


def test_presigned_put_with_added_date_or_token(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    _, mine = buckets
    path = presigned(local, "PUT", f"/{mine}/kept")
    extra = {"x-amz-date": "20200101T000000Z", "x-amz-security-token": "t", "x-amz-acl": "x"}
    reply = request(local.endpoint_url, "PUT", path, body=b"forged", headers=extra)
    assert_not_signed(reply, "x-amz-date, x-amz-security-token, x-amz-acl")
    assert body_of(local, f"/{mine}/kept") == b"mine"


def test_signed_headers_still_work(local: ServerInfo, buckets: tuple[str, str]) -> None:
    other, mine = buckets
    copy_source = ("x-amz-copy-source", f"/{other}/secret")
    reply = request(
        local.endpoint_url,
        "PUT",
        presigned(local, "PUT", f"/{mine}/copied", [copy_source]),
        headers=dict([copy_source]),
    )
    assert reply.status == 200, reply.body
    assert body_of(local, f"/{mine}/copied") == SECRET
    reply = signed(local, "PUT", f"/{mine}/meta", body=b"m", headers={"x-amz-meta-owner": "me"})
    assert reply.status == 200, reply.body
    assert signed(local, "HEAD", f"/{mine}/meta").headers["x-amz-meta-owner"] == "me"
    reply = signed(local, "PUT", f"/{mine}/copy2", headers=dict([copy_source]))
    assert reply.status == 200, reply.body
    assert body_of(local, f"/{mine}/copy2") == SECRET


def test_presigned_payload_hash_need_not_be_signed(
    local: ServerInfo, buckets: tuple[str, str]
) -> None:
    """A presigned URL's payload is unsigned; x-amz-content-sha256 may come unsigned."""
    _, mine = buckets
    reply = request(
        local.endpoint_url,
        "PUT",
        presigned(local, "PUT", f"/{mine}/hashed"),
        body=b"ok",
        headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    assert reply.status == 200, reply.body
    assert body_of(local, f"/{mine}/hashed") == b"ok"


def test_boto3_presigned_urls(local: ServerInfo, buckets: tuple[str, str]) -> None:
    other, mine = buckets
    s3 = boto3.client(
        "s3",
        endpoint_url=local.endpoint_url,
        aws_access_key_id=local.access_key,
        aws_secret_access_key=local.secret_key,
        region_name=local.region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        with_meta = s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": mine, "Key": "b3", "Metadata": {"owner": "me"}},
            ExpiresIn=60,
        )
        plain = s3.generate_presigned_url(
            "put_object", Params={"Bucket": mine, "Key": "b3-plain"}, ExpiresIn=60
        )
    finally:
        s3.close()

    def path_of(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    meta = {"x-amz-meta-owner": "me"}
    reply = request(local.endpoint_url, "PUT", path_of(with_meta), body=b"b", headers=meta)
    assert reply.status == 200, reply.body
    forged = {"x-amz-copy-source": f"/{other}/secret"}
    reply = request(local.endpoint_url, "PUT", path_of(plain), headers=forged)
    assert_not_signed(reply, "x-amz-copy-source")
    assert body_of(local, f"/{mine}/b3-plain") is None


def test_auth_off_ignores_signatures(tmp_path_factory: pytest.TempPathFactory) -> None:
    with LocalS3Server(tmp_path_factory.mktemp("open"), auth=False) as server:
        assert request(server.endpoint_url, "PUT", "/open").status == 200
        meta = {"x-amz-meta-owner": "anyone"}
        assert request(server.endpoint_url, "PUT", "/open/k", body=b"x", headers=meta).status == 200
        head = request(server.endpoint_url, "HEAD", "/open/k")
        assert head.headers["x-amz-meta-owner"] == "anyone"
