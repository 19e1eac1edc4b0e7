"""Object metadata and Content-Encoding as the embedded server keeps them: header bytes
given back exactly as they arrived (UTF-8, ISO-8859-1, RFC 2047 encoded words), and
``aws-chunked`` as framing only when the payload hash says STREAMING-*."""

from __future__ import annotations

import base64
import gzip
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ParamValidationError
from rawhttp import signed
from servers import ServerInfo

from s3_asyncio_client.protocol.signing import UNSIGNED_PAYLOAD, Credentials, sign_headers

WORD = "=?UTF-8?B?aMOpbGxvIOKckw==?="  # "héllo ✓" as an RFC 2047 encoded word


def _reply_bytes(local: ServerInfo, method: str, path: str, name: bytes) -> bytes:
    """The exact bytes of header ``name`` in the reply (http.client reads header
    bytes as ISO-8859-1: encoding back gives the bytes that came)."""
    reply = signed(local, method, path)
    assert reply.status == 200, reply.body
    return reply.headers[name.decode()].encode("latin-1")


def _put_raw(local: ServerInfo, path: str, lines: list[tuple[str, bytes]], signed_as: str) -> bytes:
    """A signed PUT with an empty body whose extra header lines are sent as the exact
    bytes given; the last one is signed, as the text ``signed_as``. The status line."""
    parts = urlsplit(local.endpoint_url)
    sent = [("host", parts.netloc), ("content-length", "0"), (lines[-1][0], signed_as)]
    signature = sign_headers(
        "PUT",
        f"{local.endpoint_url}{path}",
        sent,
        Credentials(local.access_key, local.secret_key),
        region=local.region,
        timestamp=datetime.now(UTC),
        payload_hash=UNSIGNED_PAYLOAD,
    )
    head = f"PUT {path} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-length: 0\r\n".encode()
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in signature.headers.items())
    head += b"".join(name.encode() + b": " + value + b"\r\n" for name, value in lines)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + b"connection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("sent", "signed_as"),
    [
        ("héllo ✓".encode(), "héllo ✓"),  # UTF-8 bytes, signed as the text they encode
        (b"h\xe9llo", "héllo"),  # ISO-8859-1 bytes (http.client's encoding of a str)
        (WORD.encode(), WORD),
    ],
    ids=["utf-8", "latin-1", "encoded-word"],
)
def test_metadata_bytes_come_back_as_sent(
    local: ServerInfo, bucket: str, sent: bytes, signed_as: str
) -> None:
    path = f"/{bucket}/meta"
    lines = [("content-disposition", b'attachment; filename="' + sent + b'"')]
    lines.append(("x-amz-meta-name", sent))
    assert _put_raw(local, path, lines, signed_as) == b"HTTP/1.1 200 OK"
    for method in ("HEAD", "GET"):
        assert _reply_bytes(local, method, path, b"x-amz-meta-name") == sent
        expected = b'attachment; filename="' + sent + b'"'
        assert _reply_bytes(local, method, path, b"content-disposition") == expected


def test_boto3_metadata_round_trip(s3: Any, bucket: str) -> None:
    """botocore sends a str value as UTF-8 bytes and reads reply headers as ISO-8859-1:
    the bytes it gets back are the bytes it sent; an encoded word comes back as is."""
    s3.put_object(Bucket=bucket, Key="word", Body=b"x", Metadata={"name": WORD})
    assert s3.head_object(Bucket=bucket, Key="word")["Metadata"] == {"name": WORD}
    with pytest.raises(ParamValidationError):  # botocore refuses non-ASCII itself
        s3.put_object(Bucket=bucket, Key="text", Body=b"x", Metadata={"name": "héllo ✓"})
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    s3.put_object(Bucket=bucket, Key="text", Body=b"x", ContentDisposition="héllo ✓")
    for got in (
        s3.head_object(Bucket=bucket, Key="text"),
        s3.get_object(Bucket=bucket, Key="text"),
    ):
        assert got["ContentDisposition"].encode("latin-1") == "héllo ✓".encode()


def test_bad_signature_over_metadata_bytes(local: ServerInfo, bucket: str) -> None:
    """The signature covers the value: signed as other text, it does not verify."""
    path = f"/{bucket}/forged"
    reply = _put_raw(local, path, [("x-amz-meta-name", b"h\xe9llo")], "hallo")
    assert reply == b"HTTP/1.1 403 Forbidden"
    assert signed(local, "HEAD", path).status == 404


# Content-Encoding and aws-chunked


def test_plain_body_labelled_aws_chunked_is_stored_as_sent(
    local: ServerInfo, s3: Any, bucket: str
) -> None:
    """Without a STREAMING-* payload hash the body is not framed, whatever the label."""
    body = b"5\r\nhello\r\n0\r\n\r\n"  # looks like a frame: must be kept byte for byte
    reply = signed(
        local, "PUT", f"/{bucket}/plain", body=body, headers={"content-encoding": "aws-chunked"}
    )
    assert reply.status == 200, reply.body
    got = s3.get_object(Bucket=bucket, Key="plain")
    assert got["Body"].read() == body
    assert "ContentEncoding" not in got


def test_framed_body_under_unsigned_payload_is_decoded(
    local: ServerInfo, s3: Any, bucket: str
) -> None:
    """Labelled aws-chunked and with its decoded length, a body is framed even when
    the payload hash is UNSIGNED-PAYLOAD (as some SDKs send it)."""
    headers = {"content-encoding": "aws-chunked,gzip", "x-amz-decoded-content-length": "5"}
    body = b"5\r\nhello\r\n0\r\n\r\n"
    reply = signed(
        local, "PUT", f"/{bucket}/framed", body=body, headers=headers, payload_hash=UNSIGNED_PAYLOAD
    )
    assert reply.status == 200, reply.body
    got = s3.get_object(Bucket=bucket, Key="framed")
    assert (got["Body"].read(), got["ContentEncoding"]) == (b"hello", "gzip")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("gzip", "gzip"),
        ("deflate, gzip", "deflate, gzip"),
        ("aws-chunked,gzip", "gzip"),
        ("gzip, aws-chunked", "gzip"),
        ("aws-chunked, deflate,gzip", "deflate,gzip"),
        ("aws-chunked", None),
    ],
)
def test_stored_content_encoding(
    local: ServerInfo, s3: Any, bucket: str, sent: str, kept: str | None
) -> None:
    reply = signed(local, "PUT", f"/{bucket}/e", body=b"data", headers={"content-encoding": sent})
    assert reply.status == 200, reply.body
    head = s3.head_object(Bucket=bucket, Key="e")
    assert head.get("ContentEncoding") == kept
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == b"data"


def test_boto3_gzip_with_checksum(s3: Any, bucket: str) -> None:
    """A checksum makes botocore frame the body (aws-chunked over https; a trailer
    request here too when asked): only gzip is kept."""
    body = gzip.compress(b"hello " * 1000)
    sent = s3.put_object(
        Bucket=bucket, Key="z", Body=body, ContentEncoding="gzip", ChecksumAlgorithm="CRC32"
    )
    got = s3.get_object(Bucket=bucket, Key="z", ChecksumMode="ENABLED")
    assert got["ContentEncoding"] == "gzip"
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == sent["ChecksumCRC32"]
    crc = base64.b64decode(sent["ChecksumCRC32"])
    assert len(crc) == 4
