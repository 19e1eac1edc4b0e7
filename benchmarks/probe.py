"""What each client puts on the wire: a pass-through HTTP/1.1 proxy on 127.0.0.1 that
records every request's line and headers, and a summary of the payload and checksum
mode seen in them.

    with HeaderRecorder("127.0.0.1", 8333) as proxy:
        ...  # point a client at proxy.url
    print(upload_mode(proxy.requests))

The proxy forwards bytes unchanged (the Host header too, so SigV4 signatures still
match) and parses only the request side, to find where one request ends and the next
begins (Content-Length or chunked). Used once per client before the timed runs.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 256 * 1024
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names lowercased

    @property
    def has_body(self) -> bool:
        return (
            int(self.headers.get("content-length", "0") or 0) > 0
            or "chunked" in self.headers.get("transfer-encoding", "").lower()
        )


def parse_head(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return Request(method, target, headers)


class HeaderRecorder:
    """A recording pass-through proxy to ``host:port``, on its own thread and loop."""

    def __init__(self, upstream: str) -> None:
        url = urlsplit(upstream)
        self.upstream_host = url.hostname or "127.0.0.1"
        self.upstream_port = url.port or 80
        self.requests: list[Request] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self._connections: set[asyncio.Task[None]] = set()

    def __enter__(self) -> HeaderRecorder:
        self._thread.start()
        start = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.url = start.result(timeout=10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def take(self) -> list[Request]:
        """The requests recorded since the last call."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    async def _start(self) -> str:
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, limit=1024 * 1024
        )
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(client_reader, client_writer)
        finally:
            self._connections.discard(task)

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port, limit=1024 * 1024
            )
        except OSError:
            client_writer.close()
            return
        tasks = [
            asyncio.create_task(self._requests(client_reader, server_writer)),
            asyncio.create_task(self._relay(server_reader, client_writer)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:  # either side closing ends the connection (no HTTP client half-closes)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for writer in (client_writer, server_writer):
                writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()

    async def _copy(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int
    ) -> None:
        while count > 0:
            data = await reader.read(min(count, CHUNK))
            if not data:
                raise ConnectionError("client closed in the middle of a body")
            writer.write(data)
            count -= len(data)
            await writer.drain()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request = parse_head(head)
            with self._lock:
                self.requests.append(request)
            writer.write(head)
            await writer.drain()
            if "chunked" in request.headers.get("transfer-encoding", "").lower():
                while True:
                    line = await reader.readuntil(b"\r\n")
                    writer.write(line)
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                            writer.write(trailer)
                        writer.write(b"\r\n")
                        break
                    await self._copy(reader, writer, size + 2)
            else:
                await self._copy(reader, writer, int(request.headers.get("content-length") or 0))
            await writer.drain()


def payload_label(request: Request) -> str:
    value = request.headers.get("x-amz-content-sha256")
    if value is None:
        return "no x-amz-content-sha256"
    if SHA256_HEX.fullmatch(value):
        return "SHA-256 signed payload"
    if value == "UNSIGNED-PAYLOAD":
        return "UNSIGNED-PAYLOAD"
    return value  # STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD...


def checksum_label(request: Request) -> str:
    found = [
        name.removeprefix("x-amz-checksum-").upper()
        for name in request.headers
        if name.startswith("x-amz-checksum-")
        and name not in ("x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm")
    ]
    if trailer := request.headers.get("x-amz-trailer"):
        found.append(f"{trailer.removeprefix('x-amz-checksum-').upper()} trailer")
    if "content-md5" in request.headers:
        found.append("Content-MD5")
    return ", ".join(sorted(found)) or "no checksum"


def put_mode(requests: list[Request]) -> str:
    """Payload and checksum mode of the PUTs that carried data (PutObject, UploadPart)."""
    modes = sorted(
        {
            f"{payload_label(r)} + {checksum_label(r)}"
            for r in requests
            if r.method == "PUT" and r.has_body
        }
    )
    return " / ".join(modes) or "no PUT with a body seen"


def get_mode(requests: list[Request], key: str) -> str:
    """How ``key`` came back: how many GETs, ranged or not, checksum mode asked."""

    def on_key(request: Request) -> bool:
        return request.target.partition("?")[0].endswith("/" + key)

    gets = [r for r in requests if r.method == "GET" and on_key(r)]
    if not gets:
        return "no GET seen"
    ranged = sum("range" in r.headers for r in gets)
    numbered = sum("partnumber=" in r.target.lower() for r in gets)
    text = f"{len(gets)} GET" + ("s" if len(gets) > 1 else "")
    if ranged:
        text += f" ({ranged} ranged)"
    if numbered:
        text += f" ({numbered} by partNumber)"
    if any(r.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" for r in gets):
        text += ", checksum mode ENABLED"
    heads = sum(r.method == "HEAD" and on_key(r) for r in requests)
    if heads:
        text += f" + {heads} HEAD"
    return text
