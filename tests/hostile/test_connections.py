"""Connections that never finish a request: idle sockets beyond the cap, half request
heads, idle keep-alives and stalled bodies. The server closes each in the end, users
are still served, and a cut body stores nothing. Bounded in sockets and time; no
timing is asserted beyond "closed within a generous bound"."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from polling import wait_until
from rawhttp import request

from s3_asyncio_client.server import ConnectionLimits, LocalS3Server

CAP = 20
BOUND = 30.0  # seconds: "eventually", generously
LONG = 600.0  # a timeout that never fires during a test
KiB = 1024


@contextlib.contextmanager
def running(tmp_path: Path, limits: ConnectionLimits) -> Iterator[LocalS3Server]:
    """An anonymous server (auth plays no part here) with a bucket ``bkt``."""
    with LocalS3Server(tmp_path / "root", auth=False, durable=False, limits=limits) as server:
        assert request(server.endpoint_url, "PUT", "/bkt").status == 200
        yield server


def connect(server: LocalS3Server, data: bytes = b"") -> socket.socket:
    address = urlsplit(server.endpoint_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=BOUND)
    if data:
        sock.sendall(data)
    return sock


def is_closed(sock: socket.socket) -> bool:
    """True once the server closed the connection; what it sent before is discarded."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)
    return True


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (AssertionError past BOUND)."""
    sock.settimeout(BOUND)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {BOUND} s; received {received!r}") from None
    except ConnectionResetError:
        pass
    return received


def head(method: str, path: str, length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def files(root: Path, folder: str) -> list[Path]:
    return [p for p in (root / folder).rglob("*") if p.is_file()]


def test_idle_sockets_beyond_the_cap_do_not_lock_users_out(tmp_path: Path) -> None:
    limits = ConnectionLimits(
        max_connections=CAP, header_timeout=LONG, idle_timeout=LONG, read_timeout=LONG
    )
    with running(tmp_path, limits) as server, contextlib.ExitStack() as stack:
        idle = [stack.enter_context(connect(server)) for _ in range(CAP + 50)]
        reply = request(server.endpoint_url, "PUT", "/bkt/served", body=b"still served")
        assert reply.status == 200, reply.body
        got = request(server.endpoint_url, "GET", "/bkt/served")
        assert (got.status, got.body) == (200, b"still served")
        # The 50 over the cap and the one the client's connection replaced: the oldest.
        wait_until(lambda: sum(map(is_closed, idle)) >= 51, "51 idle sockets closed", BOUND)
        assert [is_closed(sock) for sock in idle] == [True] * 51 + [False] * (CAP - 1)


def test_busy_connections_stay_and_newcomers_are_closed(tmp_path: Path) -> None:
    """At the cap with every connection mid-request, nothing is evicted: a new
    connection is closed at once, and the requests in flight complete."""
    size, sent = 64 * KiB, 1 * KiB
    limits = ConnectionLimits(max_connections=4, header_timeout=LONG, read_timeout=LONG)
    with running(tmp_path, limits) as server, contextlib.ExitStack() as stack:
        busy = [
            stack.enter_context(connect(server, head("PUT", f"/bkt/k{i}", size) + b"x" * sent))
            for i in range(4)
        ]
        wait_until(lambda: len(files(server.root, "tmp")) == 4, "4 bodies arriving", BOUND)
        newcomer = stack.enter_context(connect(server))
        assert read_until_closed(newcomer) == b""
        for sock in busy:
            sock.sendall(b"x" * (size - sent))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        for i in range(4):
            got = request(server.endpoint_url, "GET", f"/bkt/k{i}")
            assert (got.status, got.body) == (200, b"x" * size)


@pytest.mark.parametrize(
    "sent",
    [b"", b"PUT /bkt/half HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"],
    ids=["nothing", "half-a-head"],
)
def test_connection_without_a_complete_head_is_closed(tmp_path: Path, sent: bytes) -> None:
    limits = ConnectionLimits(header_timeout=1.0, idle_timeout=LONG, read_timeout=LONG)
    with running(tmp_path, limits) as server, connect(server, sent) as sock:
        assert read_until_closed(sock) == b""
        assert request(server.endpoint_url, "GET", "/bkt/half").code == "NoSuchKey"


def test_idle_keep_alive_connection_is_closed(tmp_path: Path) -> None:
    limits = ConnectionLimits(header_timeout=LONG, idle_timeout=1.0, read_timeout=LONG)
    with running(tmp_path, limits) as server, connect(server, head("GET", "/bkt/none")) as sock:
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n")
        assert b"<Code>NoSuchKey</Code>" in answer


def test_stalled_body_is_cut_and_nothing_is_stored(tmp_path: Path) -> None:
    limits = ConnectionLimits(header_timeout=LONG, idle_timeout=LONG, read_timeout=1.0)
    with running(tmp_path, limits) as server:
        with connect(server, head("PUT", "/bkt/stalled", 1024 * KiB) + b"s" * 64 * KiB) as sock:
            assert read_until_closed(sock) == b""
        got = request(server.endpoint_url, "GET", "/bkt/stalled")
        assert (got.status, got.code) == (404, "NoSuchKey")
        wait_until(lambda: files(server.root, "tmp") == [], "the temp file removed", BOUND)
        assert files(server.root, "blobs") == []


def test_slow_but_moving_body_is_not_cut(tmp_path: Path) -> None:
    limits = ConnectionLimits(header_timeout=LONG, idle_timeout=LONG, read_timeout=1.0)
    with running(tmp_path, limits) as server:
        with connect(server, head("PUT", "/bkt/slow", 8 * KiB)) as sock:
            for _ in range(8):  # 2.4 s in all, never 1 s without a byte
                time.sleep(0.3)
                sock.sendall(b"w" * KiB)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        got = request(server.endpoint_url, "GET", "/bkt/slow")
        assert (got.status, got.body) == (200, b"w" * 8 * KiB)
