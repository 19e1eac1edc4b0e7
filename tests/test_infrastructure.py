"""The test servers and the fault proxy do what the other tests rely on them to do."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import servers
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from faultproxy import FaultProxy, FaultRule, matching
from polling import wait_until
from servers import DOC_ACCESS_KEY, DOC_SECRET_KEY, ServerInfo, boto3_client

MIB = 1024 * 1024
AWKWARD_KEYS = ["plain.bin", "with space/and+plus", "ünïcode/€✓.txt", "pct%2Bliteral", "a=b&c"]


def error_code(exc: ClientError) -> str:
    code: str = exc.response["Error"]["Code"]
    return code


def object_exists(client: Any, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


@pytest.fixture
def direct(s3_server: ServerInfo) -> Iterator[Any]:
    client = boto3_client(s3_server)
    yield client
    client.close()


# -- the servers ------------------------------------------------------------------------


def test_roundtrip_with_awkward_keys(s3_server: ServerInfo, direct: Any, bucket_name: str) -> None:
    direct.create_bucket(Bucket=bucket_name)
    bodies = {key: os.urandom(1000 + i) for i, key in enumerate(AWKWARD_KEYS)}
    for key, body in bodies.items():
        direct.put_object(Bucket=bucket_name, Key=key, Body=body)
    for key, body in bodies.items():
        assert direct.get_object(Bucket=bucket_name, Key=key)["Body"].read() == body
    listed = [o["Key"] for o in direct.list_objects_v2(Bucket=bucket_name)["Contents"]]
    assert sorted(listed) == sorted(bodies)
    for key in bodies:
        direct.delete_object(Bucket=bucket_name, Key=key)
    assert direct.list_objects_v2(Bucket=bucket_name)["KeyCount"] == 0
    direct.delete_bucket(Bucket=bucket_name)


def test_min_part_size_is_what_server_info_says(
    s3_server: ServerInfo, direct: Any, bucket_name: str
) -> None:
    direct.create_bucket(Bucket=bucket_name)
    minimum = s3_server.min_part_size
    # With no minimum (the embedded server), a one-byte part must be accepted.
    cases = ((minimum - 1, False), (minimum, True)) if minimum else ((1, True),)
    for size, should_work in cases:
        key = f"mpu-{size}"
        upload_id = direct.create_multipart_upload(Bucket=bucket_name, Key=key)["UploadId"]
        parts = []
        for number, body in ((1, b"a" * size), (2, b"tail")):
            etag = direct.upload_part(
                Bucket=bucket_name, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        complete = {"Bucket": bucket_name, "Key": key, "UploadId": upload_id}
        if should_work:
            direct.complete_multipart_upload(**complete, MultipartUpload={"Parts": parts})
            assert direct.head_object(Bucket=bucket_name, Key=key)["ContentLength"] == size + 4
        else:
            with pytest.raises(ClientError) as info:
                direct.complete_multipart_upload(**complete, MultipartUpload={"Parts": parts})
            assert error_code(info.value) == "EntityTooSmall"
            direct.abort_multipart_upload(**complete)


def test_seaweedfs_checks_signatures(seaweedfs: ServerInfo) -> None:
    wrong = boto3_client(seaweedfs, secret_key="not-the-secret")
    docs = boto3_client(seaweedfs, access_key=DOC_ACCESS_KEY, secret_key=DOC_SECRET_KEY)
    try:
        with pytest.raises(ClientError) as info:
            wrong.list_buckets()
        assert error_code(info.value) == "SignatureDoesNotMatch"
        docs.list_buckets()  # the documentation's example pair is an identity too
    finally:
        wrong.close()
        docs.close()


def test_moto_does_not_check_signatures(moto: ServerInfo) -> None:
    """If this starts failing, moto began verifying SigV4: update ServerInfo."""
    client = boto3_client(moto, secret_key="not-the-secret")
    try:
        client.list_buckets()
    finally:
        client.close()
    assert not moto.checks_signatures


def test_start_failure_reports_the_log_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake-server"
    fake.write_text("#!/bin/sh\necho 'boom: cannot bind' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(servers, "_find_binary", lambda name: str(fake))
    with pytest.raises(RuntimeError, match=r"(?s)exited with 3.*boom: cannot bind"):
        servers.start_moto(tmp_path / "moto")


# -- the fault proxy against a header-echoing upstream -----------------------------------


class _Echo(BaseHTTPRequestHandler):
    """Replies with what arrived: raw request target, headers in order, body digest."""

    protocol_version = "HTTP/1.1"

    def _reply(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = json.dumps(
            {
                "method": self.command,
                "target": self.requestline.split(" ")[1],  # self.path folds a leading //
                "headers": list(self.headers.items()),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Echo", "yes")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = _reply

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    url: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> Reply:
    """Send exactly this request line and these headers (http.client adds nothing)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return Reply(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def test_proxy_forwards_target_host_headers_and_body_exactly(echo_url: str) -> None:
    target = "/bkt/a%2Bb//c/../%C3%BC%20x?partNumber=1&uploadId=a%2Fb%3D&x-id=PutObject"
    body = os.urandom(3 * MIB + 17)
    sent = [
        ("Host", "127.0.0.1:9"),  # what the client signed; it is not the upstream's
        ("X-Amz-Date", "20250101T000000Z"),
        ("X-Amz-Meta-Note", "kept as is"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=x/y, SignedHeaders=host, Signature=z"),
        ("Content-Length", str(len(body))),
    ]
    with FaultProxy(echo_url) as proxy:
        reply = raw_request(proxy.url, "PUT", target, [*sent, ("Connection", "keep-alive")], body)
        stats = proxy.stats
    assert reply.status == 200
    assert reply.headers["X-Echo"] == "yes"
    seen = json.loads(reply.body)
    assert seen["method"] == "PUT"
    assert seen["target"] == target
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    # Same headers, same order; nothing added (no Accept-Encoding, User-Agent, ...).
    forwarded = [(k, v) for k, v in seen["headers"] if k.lower() != "connection"]
    assert forwarded == sent
    assert stats.requests == stats.forwarded == 1
    assert stats.request_bytes_forwarded == len(body)


def test_rule_times_match_and_set_rules(echo_url: str) -> None:
    only_puts = FaultRule("status500", match=matching("PUT", query_has="partNumber"), times=2)
    with FaultProxy(echo_url, rules=[only_puts]) as proxy:
        host = [("Host", "h")]
        put = [*host, ("Content-Length", "1")]
        statuses = [
            raw_request(proxy.url, "PUT", "/b/k?partNumber=1", put, b"x").status,
            raw_request(proxy.url, "GET", "/b/k?partNumber=1", host).status,
            raw_request(proxy.url, "PUT", "/b/k", put, b"x").status,
            raw_request(proxy.url, "PUT", "/b/k?partNumber=2&uploadId=u", put, b"x").status,
            raw_request(proxy.url, "PUT", "/b/k?partNumber=3", put, b"x").status,
        ]
        assert statuses == [500, 200, 200, 500, 200]
        proxy.set_rules([FaultRule("status503slowdown", times=1), FaultRule("error_in_200")])
        reply = raw_request(proxy.url, "GET", "/b/k", host)
        assert reply.status == 503
        assert b"<Code>SlowDown</Code>" in reply.body
        reply = raw_request(proxy.url, "POST", "/b/k?uploadId=u", put, b"x")
        assert reply.status == 200
        assert reply.body.startswith(b"<?xml")
        assert b"<Error><Code>InternalError</Code>" in reply.body
        assert proxy.stats.faults == {"status500": 2, "status503slowdown": 1, "error_in_200": 1}
        assert proxy.stats.forwarded == 3


def test_seed_makes_random_faults_reproducible(echo_url: str) -> None:
    def pattern(seed: int) -> list[int]:
        rule = FaultRule("status500", probability=0.5)
        with FaultProxy(echo_url, rules=[rule], seed=seed) as proxy:
            return [
                raw_request(proxy.url, "GET", "/b/k", [("Host", "h")]).status for _ in range(24)
            ]

    first = pattern(7)
    assert first == pattern(7)
    assert {200, 500} <= set(first)
    assert first != pattern(8)


async def test_async_client_sees_truncation(echo_url: str) -> None:
    rule = FaultRule("truncate", truncate_bytes=10, times=1)
    with FaultProxy(echo_url, rules=[rule]) as proxy:
        async with aiohttp.ClientSession() as session:
            async with session.get(proxy.url + "/first") as resp:  # truncated to 10 bytes
                with pytest.raises(aiohttp.ClientPayloadError):
                    await resp.read()
            async with session.get(proxy.url + "/again") as resp:
                assert json.loads(await resp.read())["target"] == "/again"
        assert proxy.stats.faults["truncate"] == 1


def test_close_does_not_wait_for_a_stall(echo_url: str) -> None:
    proxy = FaultProxy(echo_url, rules=[FaultRule("stall", stall_seconds=60)], shutdown_timeout=1)
    with proxy:
        with pytest.raises(TimeoutError):
            raw_request_with_timeout(proxy.url, 0.3)
        assert proxy.stats.faults["stall"] == 1
        started = time.monotonic()
    assert time.monotonic() - started < 10  # the handler still sleeping was cancelled


def raw_request_with_timeout(url: str, timeout: float) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/stalled")
        conn.getresponse().read()
    finally:
        conn.close()


# -- the fault proxy in front of SeaweedFS, seen by boto3 --------------------------------


@dataclass
class Proxied:
    proxy: FaultProxy
    client: Any  # boto3 through the proxy, no retries
    direct: Any  # boto3 straight to the server
    bucket: str


@pytest.fixture
def proxied(seaweedfs: ServerInfo, bucket_name: str) -> Iterator[Proxied]:
    direct = boto3_client(seaweedfs)
    direct.create_bucket(Bucket=bucket_name)
    with FaultProxy(seaweedfs.endpoint_url) as proxy:
        client = boto3_client(seaweedfs, endpoint_url=proxy.url)
        try:
            yield Proxied(proxy, client, direct, bucket_name)
        finally:
            client.close()
            direct.close()


def test_proxy_roundtrip_16mib_and_awkward_keys(proxied: Proxied) -> None:
    """SeaweedFS checks SigV4 over the Host header and the raw path: both pass intact."""
    c, b = proxied.client, proxied.bucket
    big = os.urandom(16 * MIB)
    c.put_object(Bucket=b, Key="big", Body=big)
    assert c.head_object(Bucket=b, Key="big")["ContentLength"] == len(big)
    assert c.get_object(Bucket=b, Key="big")["Body"].read() == big
    for key in AWKWARD_KEYS:
        c.put_object(Bucket=b, Key=key, Body=key.encode())
        assert c.get_object(Bucket=b, Key=key)["Body"].read() == key.encode()
    resp = c.delete_object(Bucket=b, Key="big")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    stats = proxied.proxy.stats
    assert stats.request_bytes_forwarded == len(big) + sum(len(k.encode()) for k in AWKWARD_KEYS)
    assert stats.faults == {}
    assert stats.requests == stats.forwarded


def test_reset_never_reaches_the_server(proxied: Proxied) -> None:
    proxied.proxy.set_rules([FaultRule("reset", times=1)])
    with pytest.raises(ConnectionClosedError):
        proxied.client.put_object(Bucket=proxied.bucket, Key="k", Body=b"x" * 1000)
    assert not object_exists(proxied.direct, proxied.bucket, "k")
    stats = proxied.proxy.stats
    assert (stats.faults["reset"], stats.forwarded, stats.request_bytes_forwarded) == (1, 0, 0)
    proxied.client.put_object(Bucket=proxied.bucket, Key="k", Body=b"x")  # only once


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [("status500", 500, "InternalError"), ("status503slowdown", 503, "SlowDown")],
)
def test_error_replies_without_forwarding(
    proxied: Proxied, action: Any, status: int, code: str
) -> None:
    proxied.proxy.set_rules([FaultRule(action)])
    with pytest.raises(ClientError) as info:
        proxied.client.put_object(Bucket=proxied.bucket, Key="k", Body=b"x" * 1000)
    assert error_code(info.value) == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert not object_exists(proxied.direct, proxied.bucket, "k")


def test_stall_causes_read_timeout_and_is_not_forwarded(
    seaweedfs: ServerInfo, proxied: Proxied
) -> None:
    proxied.proxy.set_rules([FaultRule("stall", stall_seconds=1.0, times=1)])
    impatient = boto3_client(seaweedfs, endpoint_url=proxied.proxy.url, read_timeout=0.3)
    try:
        with pytest.raises(ReadTimeoutError):
            impatient.put_object(Bucket=proxied.bucket, Key="k", Body=b"x")
    finally:
        impatient.close()
    # Once the stall is over, the client having gone, nothing is forwarded.
    wait_until(lambda: proxied.proxy.stats.handled == 1, "the stalled request handled")
    assert proxied.proxy.stats.forwarded == 0
    assert not object_exists(proxied.direct, proxied.bucket, "k")


def test_truncate_gives_a_short_read(proxied: Proxied) -> None:
    body = os.urandom(MIB)
    proxied.direct.put_object(Bucket=proxied.bucket, Key="k", Body=body)
    proxied.proxy.set_rules([FaultRule("truncate", match=matching("GET"))])
    resp = proxied.client.get_object(Bucket=proxied.bucket, Key="k")
    assert resp["ContentLength"] == len(body)  # the headers promised it all
    with pytest.raises((ResponseStreamingError, IncompleteReadError)):
        resp["Body"].read()
    resp["Body"].close()
    assert proxied.proxy.stats.response_bytes == len(body) // 2


def test_corrupt_reply_flips_one_bit_of_the_body(proxied: Proxied) -> None:
    body = os.urandom(MIB)
    proxied.direct.put_object(Bucket=proxied.bucket, Key="k", Body=body)
    proxied.proxy.set_rules([FaultRule("corrupt_reply", match=matching("GET"), times=1)])
    # A ranged GET: boto3 has no checksum to check it against, so it shows the bytes.
    whole = f"bytes=0-{len(body) - 1}"
    got = proxied.client.get_object(Bucket=proxied.bucket, Key="k", Range=whole)["Body"].read()
    assert len(got) == len(body)
    assert got[0] == body[0] ^ 0x01
    assert got[1:] == body[1:]
    assert proxied.client.get_object(Bucket=proxied.bucket, Key="k")["Body"].read() == body


def test_drop_reply_after_the_server_acted(proxied: Proxied) -> None:
    body = os.urandom(100_000)
    proxied.proxy.set_rules([FaultRule("drop_reply", match=matching("PUT"))])
    with pytest.raises(ConnectionClosedError):
        proxied.client.put_object(Bucket=proxied.bucket, Key="k", Body=body)
    got = proxied.direct.get_object(Bucket=proxied.bucket, Key="k")["Body"].read()
    assert got == body
    assert proxied.proxy.stats.request_bytes_forwarded == len(body)


def test_error_in_200_on_complete_multipart(proxied: Proxied) -> None:
    direct, b = proxied.direct, proxied.bucket
    upload_id = proxied.client.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    etag = direct.upload_part(Bucket=b, Key="k", UploadId=upload_id, PartNumber=1, Body=b"p")[
        "ETag"
    ]
    complete: dict[str, Any] = {
        "Bucket": b,
        "Key": "k",
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": etag}]},
    }
    on_complete = matching("POST", query_has="uploadId")
    proxied.proxy.set_rules([FaultRule("error_in_200", match=on_complete)])
    with pytest.raises(ClientError) as info:  # botocore reports the 200 as a 500
        proxied.client.complete_multipart_upload(**complete)
    assert error_code(info.value) == "InternalError"
    assert not object_exists(direct, b, "k")  # not forwarded: the upload is still open
    direct.complete_multipart_upload(**complete)
    assert direct.get_object(Bucket=b, Key="k")["Body"].read() == b"p"
