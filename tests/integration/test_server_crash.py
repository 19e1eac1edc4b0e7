"""kill -9 the server (a subprocess) mid-request, restart it on the same root: every
object is absent, or its old or new version, whole; nothing half-written is visible
and no temp or staging file is left behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from serveprocess import ServeProcess

from s3_asyncio_client.protocol.signing import UNSIGNED_PAYLOAD, Credentials, sign_headers

MiB = 1024 * 1024
KEYS = Credentials("crash-access", "crash-secret")
START_DEADLINE = 30.0


class ServerProcess(ServeProcess):
    """``python -m s3_asyncio_client.server`` on ``root``; stopped by PID only."""

    def __init__(self, root: Path, log: Path) -> None:
        super().__init__(
            ["--root", str(root), "--port", "0", "--access-key", KEYS.access_key,
             "--secret-key", KEYS.secret_key],
            log,
        )  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def servers(root: Path, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()


def start(root: Path, servers: list[ServerProcess], tmp_path: Path) -> ServerProcess:
    log = tmp_path / f"server-{len(servers)}.log"
    server = ServerProcess(root, log)
    servers.append(server)
    return server


def boto(server: ServerProcess) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=KEYS.access_key,
        aws_secret_access_key=KEYS.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def open_request(
    server: ServerProcess, method: str, path: str, length: int, payload_hash: str
) -> socket.socket:
    """Send a signed request's head; the caller sends (part of) the body."""
    host = server.endpoint_url.removeprefix("http://")
    headers = [("host", host), ("content-length", str(length))]
    signed = sign_headers(
        method, f"http://{host}{path}", headers, KEYS, region="us-east-1",
        timestamp=datetime.now(UTC), payload_hash=payload_hash,
    )  # fmt: skip
    lines = [f"{method} {path} HTTP/1.1"] + [f"{n}: {v}" for n, v in headers]
    lines += [f"{n}: {v}" for n, v in signed.headers.items()]
    hostname, port = host.rsplit(":", 1)
    sock = socket.create_connection((hostname, int(port)), timeout=30)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def leftovers(root: Path, client: Any, bucket: str) -> tuple[list[str], int, int]:
    """(temp files, blob files, blobs the listings account for)."""
    temps = [p.name for p in (root / "tmp").iterdir()]
    blobs = sum(1 for p in (root / "blobs").rglob("*") if p.is_file())
    objects = 0  # a multipart object is one blob per part
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        objects += client.head_object(Bucket=bucket, Key=item["Key"]).get("PartsCount", 1)
    parts = 0
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        listed = client.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        parts += len(listed.get("Parts", []))
    return temps, blobs, objects + parts


def wait_for_temp_bytes(root: Path, at_least: int) -> None:
    """Until the server has written ``at_least`` bytes of a body to tmp/ (mid-body)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in (root / "tmp").iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size >= at_least:
                    return
        time.sleep(0.002)
    raise AssertionError("the server never started writing the body")


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-key", "overwrite"])
def test_kill_during_large_put(
    root: Path, servers: list[ServerProcess], tmp_path: Path, overwrite: bool
) -> None:
    server = start(root, servers, tmp_path)
    client = boto(server)
    client.create_bucket(Bucket="crash")
    old = os.urandom(MiB + 7)
    if overwrite:
        client.put_object(Bucket="crash", Key="big", Body=old)
    client.close()
    total = 200 * MiB
    sock = open_request(server, "PUT", "/crash/big", total, UNSIGNED_PAYLOAD)
    chunk = os.urandom(MiB)
    try:
        for _ in range(40):  # 40 of the promised 200 MiB: the server is mid-body
            sock.sendall(chunk)
        wait_for_temp_bytes(root, 8 * MiB)
        server.kill()
    finally:
        sock.close()
    server = start(root, servers, tmp_path)
    client = boto(server)
    try:
        if overwrite:
            assert client.get_object(Bucket="crash", Key="big")["Body"].read() == old
        else:
            with pytest.raises(ClientError) as caught:
                client.head_object(Bucket="crash", Key="big")
            assert caught.value.response["Error"]["Code"] == "404"
        temps, blobs, accounted = leftovers(root, client, "crash")
        assert temps == []
        assert blobs == accounted == (1 if overwrite else 0)
    finally:
        client.close()


def test_kill_during_complete_multipart_upload(
    root: Path, servers: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(root, servers, tmp_path)
    client = boto(server)
    client.create_bucket(Bucket="crash")
    old = os.urandom(MiB)
    client.put_object(Bucket="crash", Key="mp", Body=old)
    upload_id = client.create_multipart_upload(Bucket="crash", Key="mp")["UploadId"]
    part = os.urandom(MiB // 2)
    parts = []
    for number in range(1, 201):  # 100 MiB in 200 parts: assembling takes a moment
        body = number.to_bytes(4, "big") + part[4:]
        etag = client.upload_part(
            Bucket="crash", Key="mp", UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        parts.append((number, etag, body))
    client.close()
    new_sha = hashlib.sha256(b"".join(body for _, _, body in parts)).hexdigest()
    document = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e, _ in parts
    ) + "</CompleteMultipartUpload>"  # fmt: skip
    payload = document.encode()
    outcomes = []
    # Kill after growing delays until one complete got through before its kill.
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5):
        sock = open_request(
            server, "POST", f"/crash/mp?uploadId={upload_id}", len(payload),
            hashlib.sha256(payload).hexdigest(),
        )  # fmt: skip
        sock.sendall(payload)
        time.sleep(delay)
        server.kill()
        sock.close()
        server = start(root, servers, tmp_path)
        client = boto(server)
        try:
            stored = client.get_object(Bucket="crash", Key="mp")["Body"].read()
            uploads = client.list_multipart_uploads(Bucket="crash").get("Uploads", [])
            if stored == old:
                outcomes.append("old")
                assert [u["UploadId"] for u in uploads] == [upload_id]  # parts still staged
            else:
                outcomes.append("new")
                assert hashlib.sha256(stored).hexdigest() == new_sha
                assert uploads == []
            temps, blobs, accounted = leftovers(root, client, "crash")
            assert temps == []
            assert blobs == accounted
        finally:
            client.close()
        if outcomes[-1] == "new":
            break
    if outcomes[-1] == "old":  # never completed before a kill: the staged parts still work
        client = boto(server)
        try:
            client.complete_multipart_upload(
                Bucket="crash", Key="mp", UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in parts]},
            )  # fmt: skip
            stored = client.get_object(Bucket="crash", Key="mp")["Body"].read()
            assert hashlib.sha256(stored).hexdigest() == new_sha
        finally:
            client.close()
    print("outcomes by kill delay:", outcomes)
    assert set(outcomes) <= {"old", "new"}


def test_serve_prints_its_keys_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "s3_asyncio_client.server", "--root", str(tmp_path / "r"),
             "--port", "0"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_DEADLINE
        while "secret key:" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        lines = dict(line.split(": ", 1) for line in log.read_text().splitlines() if ": " in line)
        url = log.read_text().split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        client = boto3.client(
            "s3", endpoint_url=url, aws_access_key_id=lines["access key"],
            aws_secret_access_key=lines["secret key"], region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )  # fmt: skip
        try:
            assert client.list_buckets()["Buckets"] == []
        finally:
            client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
