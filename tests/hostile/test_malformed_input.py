"""Malformed input against the embedded server: hostile aws-chunked frames and numbers
too big for ``int()``. Each is a 400 (or 416) with S3's code, never a 500, and
nothing is stored; a bad frame is refused before the rest of its body is read."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from rawhttp import Reply, request, signed

from s3_asyncio_client.protocol.signing import Credentials, presign_url, sign_headers
from s3_asyncio_client.server import LocalS3Server

MiB = 1024 * 1024
ALICE = Credentials("alice-access-key", "alice-secret-key-0123456789")
STREAMING = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
HUGE = "9" * 5000  # int() refuses past 4,300 digits
BUCKET = "malformed"
OBJECT = b"0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server]:
    credentials = {ALICE.access_key: ALICE.secret_key}
    with LocalS3Server(tmp_path_factory.mktemp("malformed"), credentials=credentials) as running:
        assert signed(running, "PUT", f"/{BUCKET}").status == 200
        assert signed(running, "PUT", f"/{BUCKET}/obj", body=OBJECT).status == 200
        yield running


def files(root: Path) -> list[str]:
    """Every blob and temp file on disk."""
    return sorted(
        str(p.relative_to(root))
        for d in ("blobs", "tmp")
        for p in (root / d).rglob("*")
        if p.is_file()
    )


def assert_error(reply: Reply, status: int, code: str) -> None:
    assert (reply.status, reply.code) == (status, code), reply.body[:500]


def streaming_headers(
    server: LocalS3Server, path: str, length: int, decoded: int | str | None
) -> dict[str, str]:
    """Headers of a signed aws-chunked PUT (unsigned chunks, so no chunk signatures)."""
    headers = {
        "host": urlsplit(server.endpoint_url).netloc,
        "content-encoding": "aws-chunked",
        "content-length": str(length),
        "x-amz-content-sha256": STREAMING,
    }
    if decoded is not None:
        headers["x-amz-decoded-content-length"] = str(decoded)
    signature = sign_headers(
        "PUT",
        f"{server.endpoint_url}{path}",
        list(headers.items()),
        ALICE,
        region=server.region,
        timestamp=datetime.now(UTC),
        payload_hash=STREAMING,
    )
    return {**headers, **signature.headers}


def put_chunked(server: LocalS3Server, key: str, body: bytes, decoded: int = 5) -> Reply:
    path = f"/{BUCKET}/{key}"
    headers = streaming_headers(server, path, len(body), decoded)
    return request(server.endpoint_url, "PUT", path, body=body, headers=headers)


# aws-chunked frames


def test_well_formed_frames_are_stored(server: LocalS3Server) -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    assert put_chunked(server, "good", body).status == 200
    assert signed(server, "GET", f"/{BUCKET}/good").body == b"hello"


@pytest.mark.parametrize(
    "body",
    [
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"-0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"0000000000000000005\r\nhello\r\n0\r\n\r\n",  # 19 digits: past 16
        b"5;" + b"x" * 5000 + b"\r\nhello\r\n0\r\n\r\n",  # header line too long
        b"5\r\nhello\r\n0\r\nx-amz-meta-a:" + b"y" * 5000 + b"\r\n\r\n",  # trailer too long
        b"5\r\nhello\r\n0\r\n" + (b"x-amz-meta-a:" + b"y" * 2000 + b"\r\n") * 9 + b"\r\n",
        b"6\r\nhello!\r\n0\r\n\r\n",  # a chunk larger than the declared decoded length
    ],
    ids=[
        "plus",
        "0x",
        "leading-space",
        "trailing-space",
        "minus-zero",
        "empty",
        "19-digits",
        "long-header",
        "long-trailer",
        "many-trailers",
        "past-declared",
    ],
)
def test_malformed_frames_are_refused(server: LocalS3Server, body: bytes) -> None:
    before = files(server.root)
    assert_error(put_chunked(server, "bad", body), 400, "IncompleteBody")
    assert_error(signed(server, "GET", f"/{BUCKET}/bad"), 404, "NoSuchKey")
    assert files(server.root) == before


def test_chunk_larger_than_the_body_without_declared_length(server: LocalS3Server) -> None:
    before = files(server.root)
    body = b"ffff\r\nhello\r\n0\r\n\r\n"
    path = f"/{BUCKET}/bad"
    headers = streaming_headers(server, path, len(body), None)
    reply = request(server.endpoint_url, "PUT", path, body=body, headers=headers)
    assert_error(reply, 400, "IncompleteBody")
    assert files(server.root) == before


@pytest.mark.parametrize(
    "frame",
    [b"-1\r\n", b"ffffffffffffffff\r\n", b"5;" + b"x" * (64 * 1024)],
    ids=["minus-one", "huge", "no-newline"],
)
def test_bad_frame_is_refused_before_the_body_is_read(server: LocalS3Server, frame: bytes) -> None:
    """The request claims 64 MiB but only its first bytes are ever sent: the 400 must
    come without the rest, so the server neither waits for, buffers nor stores it (a
    frame of -1 once read the whole body into memory: 1.2 GiB for 600 MiB)."""
    before = files(server.root)
    claimed = 64 * MiB
    path = f"/{BUCKET}/flood"
    headers = streaming_headers(server, path, len(frame) + claimed, claimed)
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    address = urlsplit(server.endpoint_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + frame + b"\0" * MiB)
        reply = http.client.HTTPResponse(sock)
        reply.begin()  # a server waiting for the missing 63 MiB never answers
        body = reply.read()
    assert (reply.status, b"<Code>IncompleteBody</Code>" in body) == (400, True), body
    assert_error(signed(server, "GET", f"/{BUCKET}/flood"), 404, "NoSuchKey")
    assert files(server.root) == before


# Numbers too big for int(), and other text that is not a number


def test_huge_ranges(server: LocalS3Server) -> None:
    path = f"/{BUCKET}/obj"
    reply = signed(server, "GET", path, headers={"range": f"bytes={HUGE}-"})
    assert_error(reply, 416, "InvalidRange")
    assert reply.headers["content-range"] == f"bytes */{len(OBJECT)}"
    zeros = "0" * 4000  # two of them still fit aiohttp's 8 KiB header limit
    for spec, expected in (
        (f"0-{HUGE}", OBJECT),
        (f"-{HUGE}", OBJECT),
        (f"-{zeros}5", OBJECT[-5:]),
        (f"{zeros}2-{zeros}3", OBJECT[2:4]),
    ):
        reply = signed(server, "GET", path, headers={"range": f"bytes={spec}"})
        assert (reply.status, reply.body) == (206, expected), spec[:20]
    for spec in ("a-", "0-b", "+1-2", "0x1-2", "5-3", "1_0-"):  # not a range: ignored, as S3
        reply = signed(server, "GET", path, headers={"range": f"bytes={spec}"})
        assert (reply.status, reply.body) == (200, OBJECT), spec


def test_signed_header_that_is_not_utf8(server: LocalS3Server) -> None:
    """http.client sends str header values as Latin-1: b"\\xb2" is not UTF-8. The
    signature verifies over the text signed; a range that is not numbers is ignored."""
    reply = signed(server, "GET", f"/{BUCKET}/obj", headers={"range": "bytes=\xb2-"})
    assert (reply.status, reply.body) == (200, OBJECT)


@pytest.mark.parametrize("value", [HUGE, "²", "١", "-1", "0", "10001", "+1", " 1", "1.0"])
def test_bad_part_number_on_get(server: LocalS3Server, value: str) -> None:
    reply = signed(server, "GET", f"/{BUCKET}/obj?partNumber={quote(value)}")
    assert_error(reply, 400, "InvalidArgument")
    assert b"Part number must be an integer between 1 and 10000, inclusive" in reply.body


def test_bad_numbers_in_multipart_requests(server: LocalS3Server) -> None:
    created = signed(server, "POST", f"/{BUCKET}/mp?uploads")
    upload_id = created.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    base = f"/{BUCKET}/mp?uploadId={upload_id}"
    for value in (HUGE, "²", "0", "-1"):
        reply = signed(server, "PUT", f"{base}&partNumber={quote(value)}", body=b"part")
        assert_error(reply, 400, "InvalidArgument")
    for name in ("max-parts", "part-number-marker"):
        reply = signed(server, "GET", f"{base}&{name}={HUGE}")
        assert_error(reply, 400, "InvalidArgument")
        assert f"Provided {name} not an integer or within integer range".encode() in reply.body
    assert_error(
        signed(server, "GET", f"/{BUCKET}?uploads&max-uploads={HUGE}"), 400, "InvalidArgument"
    )
    assert signed(server, "PUT", f"{base}&partNumber=1", body=b"part").status == 200
    copy = {"x-amz-copy-source": f"/{BUCKET}/obj", "x-amz-copy-source-range": f"bytes=0-{HUGE}"}
    reply = signed(server, "PUT", f"{base}&partNumber=2", headers=copy)
    assert_error(reply, 400, "InvalidArgument")
    before = files(server.root)
    for number in (HUGE, "²", "1e3", ""):
        document = (
            "<CompleteMultipartUpload><Part>"
            f"<PartNumber>{number}</PartNumber><ETag>x</ETag>"
            "</Part></CompleteMultipartUpload>"
        ).encode()
        assert_error(signed(server, "POST", base, body=document), 400, "MalformedXML")
    assert b"<Part>" in signed(server, "GET", base).body  # the upload is untouched
    assert files(server.root) == before
    assert signed(server, "DELETE", base).status == 204


@pytest.mark.parametrize("listing", ["list-type=2&", ""], ids=["v2", "v1"])
@pytest.mark.parametrize("value", [HUGE, "²", "-1", "1.5"])
def test_bad_max_keys(server: LocalS3Server, listing: str, value: str) -> None:
    reply = signed(server, "GET", f"/{BUCKET}?{listing}max-keys={quote(value)}")
    assert_error(reply, 400, "InvalidArgument")
    assert b"Provided max-keys not an integer or within integer range" in reply.body


def test_big_but_valid_max_keys(server: LocalS3Server) -> None:
    reply = signed(server, "GET", f"/{BUCKET}?list-type=2&max-keys=2147483647")
    assert reply.status == 200
    assert b"<MaxKeys>1000</MaxKeys>" in reply.body


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("response-content-type", "text/plain\r\nx-injected: 1"),
        ("response-content-disposition", "attachment\nx"),
        ("response-cache-control", "no-cache\x00"),
        ("response-content-language", "\x7f"),
        ("response-expires", "倉"),
    ],
)
def test_response_overrides_that_are_not_header_values(
    server: LocalS3Server, param: str, value: str
) -> None:
    reply = signed(server, "GET", f"/{BUCKET}/obj?{param}={quote(value)}")
    assert_error(reply, 400, "InvalidArgument")
    assert b"Header value cannot be represented using ISO-8859-1." in reply.body
    assert "x-injected" not in reply.headers


def test_good_response_overrides(server: LocalS3Server) -> None:
    value = 'attachment; filename="caf\xe9.txt"'
    reply = signed(server, "GET", f"/{BUCKET}/obj?response-content-disposition={quote(value)}")
    assert reply.status == 200
    assert reply.headers["content-disposition"].startswith("attachment; filename=")


def test_huge_presign_expiry(server: LocalS3Server) -> None:
    url = presign_url(
        "GET",
        f"{server.endpoint_url}/{BUCKET}/obj",
        ALICE,
        region=server.region,
        timestamp=datetime.now(UTC),
        expires=60,
    ).headers["url"]
    for value in (HUGE, "²"):
        parts = urlsplit(url.replace("X-Amz-Expires=60", f"X-Amz-Expires={quote(value)}"))
        reply = request(server.endpoint_url, "GET", f"{parts.path}?{parts.query}")
        assert_error(reply, 403, "AuthorizationQueryParametersError")


def test_huge_decoded_length_in_strict_mode(tmp_path: Path) -> None:
    credentials = {ALICE.access_key: ALICE.secret_key}
    with LocalS3Server(tmp_path / "strict", credentials=credentials, strict=True) as strict:
        assert signed(strict, "PUT", f"/{BUCKET}").status == 200
        body = b"5\r\nhello\r\n0\r\n\r\n"
        path = f"/{BUCKET}/k"
        headers = streaming_headers(strict, path, len(body), HUGE)
        reply = request(strict.endpoint_url, "PUT", path, body=body, headers=headers)
        assert_error(reply, 400, "IncompleteBody")
        assert files(strict.root) == []
