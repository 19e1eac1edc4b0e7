"""A fault-injecting HTTP reverse proxy for S3 tests, on a real loopback socket.

The client under test talks to the proxy; the proxy forwards to a real S3 server and,
when a rule says so, misbehaves the way networks and S3 do: resets, 500/503 replies,
stalls, truncated bodies, replies lost after the server acted, 200-with-<Error>.

It forwards method, raw path+query and Host exactly as received (SigV4 signs them, and
keys may hold %2B, //, .., unicode), streams both bodies, and counts request body bytes
it forwarded, so a test can prove that a resumed upload sent less.

It runs its own event loop in a background thread, so sync (boto3) and async tests
alike can use it:

    with FaultProxy(info.endpoint_url, rules=[FaultRule("reset", times=1)]) as proxy:
        client = make_client(endpoint_url=proxy.url)
        ...
        assert proxy.stats.faults["reset"] == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp import web
from yarl import URL

__all__ = ["Action", "FaultProxy", "FaultRule", "ProxyStats", "Reply", "matching"]

Action = Literal[
    "reset",
    "status500",
    "status503slowdown",
    "stall",
    "stall_body",
    "truncate",
    "drop_reply",
    "error_in_200",
    "corrupt",
    "corrupt_reply",
    "rewrite",
    "redirect",
]
Predicate = Callable[[str, str], bool]  # (method, raw path + "?" + raw query) -> bool

CHUNK = 64 * 1024
MAX_STALL = 60.0
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)

# Hop-by-hop headers are about one connection, not the message. "Expect" is answered by
# the proxy itself (aiohttp sends the 100 Continue); SigV4 never signs it.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
# Stop aiohttp's client from adding headers the real client did not send.
NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>{code}</Code><Message>{message}</Message>"
    "<Resource>{resource}</Resource><RequestId>faultproxy</RequestId></Error>"
)
INTERNAL_ERROR = ("InternalError", "We encountered an internal error. Please try again.")
SLOW_DOWN = ("SlowDown", "Please reduce your request rate.")


@dataclass
class Reply:
    """The upstream's whole reply, for a "rewrite" rule to change and hand back.

    ``headers`` keep their order and case (Content-Length among them: drop it and the
    reply goes out with none, the connection closing after it); ``body`` may be bytes
    or, for replies too big to hold, an iterable of pieces.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterable[bytes]
    method: str = "GET"
    path_qs: str = "/"

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_header(self, name: str, value: str | None) -> None:
        """Replace (or with None remove) every header called ``name``."""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))


@dataclass(frozen=True)
class FaultRule:
    """Inject ``action`` into requests that ``match`` (all requests if None).

    It fires on the first ``times`` matching requests (forever if None), each with
    ``probability``; the first rule that fires wins. ``stall_seconds`` is how long a
    "stall" waits before forwarding (reading none of the request body meanwhile), or a
    "stall_body" in the middle of the reply body (capped at 60 s); ``truncate_bytes``
    is how much of the body a "truncate" sends, or a "stall_body" sends before it
    pauses (default: half; an empty body is sent whole);
    ``rewrite`` is what a "rewrite" does to the whole upstream reply (a server that
    lies: a missing length, a changed ETag, a repeated continuation token). A
    "redirect" answers 307 TemporaryRedirect itself, to ``location(path_qs)`` (default:
    the same path and query on the upstream), with ``headers`` added (a gateway that
    sends clients to the node holding the data).
    """

    action: Action
    match: Predicate | None = None
    times: int | None = None
    probability: float = 1.0
    stall_seconds: float = 5.0
    truncate_bytes: int | None = None
    rewrite: Callable[[Reply], Reply] | None = None
    location: Callable[[str], str] | None = None
    headers: tuple[tuple[str, str], ...] = ()


def matching(
    method: str | None = None, *, query_has: str | None = None, path_contains: str | None = None
) -> Predicate:
    """A predicate: HTTP ``method``, a query parameter name present, a path substring.

    E.g. UploadPart: ``matching("PUT", query_has="partNumber")``; CompleteMultipartUpload:
    ``matching("POST", query_has="uploadId")``.
    """

    def predicate(req_method: str, path_qs: str) -> bool:
        path, _, query = path_qs.partition("?")
        if method is not None and req_method.upper() != method.upper():
            return False
        if path_contains is not None and path_contains not in path:
            return False
        if query_has is not None:
            names = {part.partition("=")[0] for part in query.split("&") if part}
            if query_has not in names:
                return False
        return True

    return predicate


@dataclass
class ProxyStats:
    """Counters; ``FaultProxy.stats`` hands out a snapshot copy."""

    requests: int = 0  # all that arrived
    forwarded: int = 0  # the upstream answered them (counted when its headers arrive)
    handled: int = 0  # done with: answered, refused, or given up when the client went away
    request_bytes_forwarded: int = 0  # request body bytes streamed to the upstream
    response_bytes: int = 0  # response body bytes sent to the client
    faults: Counter[str] = field(default_factory=Counter)
    fault_log: list[tuple[str, str, str]] = field(default_factory=list)  # action, method, path


@dataclass
class _ActiveRule:
    rule: FaultRule
    fired: int = 0


class FaultProxy:
    """Context manager: a proxy to ``upstream_url`` on 127.0.0.1, in its own thread."""

    def __init__(
        self,
        upstream_url: str,
        rules: Iterable[FaultRule] = (),
        *,
        seed: int | None = 0,
        shutdown_timeout: float = 3.0,
    ) -> None:
        self.upstream = upstream_url.rstrip("/")
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules = [_ActiveRule(r) for r in rules]
        self._stats = ProxyStats()
        self._shutdown_timeout = shutdown_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    # -- public API, callable from any thread -------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self) -> ProxyStats:
        with self._lock:
            s = self._stats
            return replace(s, faults=Counter(s.faults), fault_log=list(s.fault_log))

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        """Replace the rules (their fire counts start again from zero)."""
        new = [_ActiveRule(r) for r in rules]
        with self._lock:
            self._rules = new

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = ProxyStats()

    def __enter__(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("fault proxy did not start within 30 s")
        if self._error is not None:
            self._thread.join(timeout=10)
            self._thread = None
            raise RuntimeError("fault proxy failed to start") from self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=self._shutdown_timeout + 30)
        if thread.is_alive():
            raise RuntimeError("fault proxy thread did not stop")
        self._thread = None
        if self._error is not None:
            raise RuntimeError("fault proxy failed while running") from self._error

    # -- the event loop thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by __enter__ or close()
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0)
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=UPSTREAM_TIMEOUT,
            auto_decompress=False,  # bytes pass through untouched
            skip_auto_headers=NO_AUTO_HEADERS,
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=self._shutdown_timeout,
            max_line_size=32768,
            max_field_size=32768,
        )
        self._session = session
        try:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.port = runner.addresses[0][1]
            self._ready.set()
            await self._stop.wait()
        finally:
            # A connection accepted just before the stop gets its handler only a few
            # loop turns later; cleanup() yields once, then forgets connections it
            # has not seen, whose sockets then leak. Let them all arrive first.
            for _ in range(5):
                await asyncio.sleep(0)
            await runner.cleanup()
            await session.close()
            # Transports closed just now (a stalled handler cancelled, an upstream
            # connection) finish closing on later turns; a loop that ends first leaves
            # them to the garbage collector, which warns in whichever test runs next.
            await asyncio.sleep(0.05)

    def _choose(self, method: str, path_qs: str) -> FaultRule | None:
        with self._lock:
            self._stats.requests += 1
            for active in self._rules:
                rule = active.rule
                if rule.times is not None and active.fired >= rule.times:
                    continue
                if rule.match is not None and not rule.match(method, path_qs):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                active.fired += 1
                self._stats.faults[rule.action] += 1
                self._stats.fault_log.append((rule.action, method, path_qs))
                return rule
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._respond(request)
        finally:
            with self._lock:
                self._stats.handled += 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        path_qs = request.raw_path
        rule = self._choose(request.method, path_qs)
        action = rule.action if rule is not None else None
        if rule is not None and action == "reset":
            return _abort(request)
        if rule is not None and action in ("status500", "status503slowdown", "error_in_200"):
            await _drain(request)
            code, message = SLOW_DOWN if action == "status503slowdown" else INTERNAL_ERROR
            status = {"status500": 500, "status503slowdown": 503}.get(action, 200)
            return _error_response(status, code, message, path_qs.partition("?")[0])
        if rule is not None and action == "redirect":
            await _drain(request)
            where = rule.location(path_qs) if rule.location else self.upstream + path_qs
            body = ERROR_XML.format(code="TemporaryRedirect", message="Redirect", resource="")
            headers = {"Location": where, "Content-Type": "application/xml", **dict(rule.headers)}
            return web.Response(status=307, body=body.encode(), headers=headers)
        if rule is not None and action == "stall":
            await asyncio.sleep(min(max(rule.stall_seconds, 0.0), MAX_STALL))
            if request.transport is None or request.transport.is_closing():
                return web.Response()  # the client gave up; the server never hears of it
        return await self._forward(request, rule)

    async def _forward(self, request: web.Request, rule: FaultRule | None) -> web.StreamResponse:
        drop = HOP_BY_HOP | _connection_tokens(request)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in drop]
        corrupt = rule is not None and rule.action == "corrupt"
        body = self._count_body(request, corrupt) if request.body_exists else None
        target = URL(self.upstream + request.raw_path, encoded=True)
        assert self._session is not None
        try:
            async with self._session.request(
                request.method, target, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                with self._lock:
                    self._stats.forwarded += 1
                if rule is not None and rule.action == "drop_reply":
                    await upstream.read()  # the server has acted; its reply is lost
                    return _abort(request)
                if rule is not None and rule.action == "rewrite":
                    return await self._rewritten(request, upstream, rule)
                return await self._relay(request, upstream, rule)
        except (aiohttp.ClientError, TimeoutError) as exc:
            if request.transport is None or request.transport.is_closing():
                return web.Response()  # client went away mid-request
            return _error_response(502, "BadGateway", f"faultproxy: {exc!r}", "")

    async def _count_body(self, request: web.Request, corrupt: bool) -> AsyncIterator[bytes]:
        """The request body, counted; with ``corrupt``, one bit of its first byte is
        flipped on the way (damage in transit that only a checksum can see)."""
        async for chunk in request.content.iter_chunked(CHUNK):
            with self._lock:
                self._stats.request_bytes_forwarded += len(chunk)
            if corrupt and chunk:
                chunk, corrupt = bytes([chunk[0] ^ 0x01]) + chunk[1:], False
            yield chunk

    async def _rewritten(
        self, request: web.Request, upstream: aiohttp.ClientResponse, rule: FaultRule
    ) -> web.StreamResponse:
        """The upstream reply as ``rule.rewrite`` makes it, headers sent as given."""
        assert rule.rewrite is not None
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        original = Reply(upstream.status, headers, await upstream.read(), request.method)
        original.path_qs = request.raw_path
        reply = rule.rewrite(original)
        pieces = [reply.body] if isinstance(reply.body, bytes) else reply.body
        response = web.StreamResponse(status=reply.status)
        for key, value in reply.headers:
            response.headers.add(key, value)
        if reply.header("content-length") is None:
            response.force_close()  # a GET goes out chunked, a HEAD with no length
        sent = 0
        try:
            await response.prepare(request)
            for piece in pieces:
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up reading, as a client should past its limit
        with self._lock:
            self._stats.response_bytes += sent
        return response

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse, rule: FaultRule | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for key, value in upstream.headers.items():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                response.headers.add(key, value)
        length = upstream.content_length
        if length is not None:
            response.content_length = length
        limit: int | None = None
        if rule is not None and rule.action == "truncate":
            limit = rule.truncate_bytes if rule.truncate_bytes is not None else (length or 0) // 2
            if length is not None and limit >= length:
                # Nothing to cut (e.g. an empty body): send it whole, but say the
                # connection closes, else the client would reuse a socket we close.
                limit = None
                response.force_close()
        sent = 0
        flip = rule is not None and rule.action == "corrupt_reply"
        pause_at: int | None = None  # a "stall_body": the body pauses after this many bytes
        if rule is not None and rule.action == "stall_body":
            pause_at = (
                rule.truncate_bytes if rule.truncate_bytes is not None else (length or 0) // 2
            )
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                if flip and chunk:  # one bit of the body's first byte, nothing else
                    chunk, flip = bytes([chunk[0] ^ 0x01]) + chunk[1:], False
                if pause_at is not None and rule is not None and sent + len(chunk) >= pause_at:
                    head, chunk = chunk[: pause_at - sent], chunk[pause_at - sent :]
                    await response.write(head)
                    sent, pause_at = sent + len(head), None
                    await asyncio.sleep(min(max(rule.stall_seconds, 0.0), MAX_STALL))
                if limit is not None:
                    chunk = chunk[: max(limit - sent, 0)]
                if chunk:
                    await response.write(chunk)
                    sent += len(chunk)
                if limit is not None and sent >= limit:
                    break
            if limit is not None and request.transport is not None:
                request.transport.close()  # FIN after the partial body: a short read
        except ConnectionError:
            pass  # the client left; aiohttp notices when it finishes the response
        except (aiohttp.ClientError, TimeoutError):
            _abort(request)  # upstream broke mid-body: the headers are out, so cut it off
        with self._lock:
            self._stats.response_bytes += sent
        return response


def _connection_tokens(request: web.Request) -> set[str]:
    """Headers named in Connection: are hop-by-hop too (RFC 9110 7.6.1)."""
    return {t.strip().lower() for t in request.headers.get("Connection", "").split(",")}


async def _drain(request: web.Request) -> None:
    """Read and discard the request body, so the client sees our reply, not a broken pipe."""
    if request.body_exists:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            async for _ in request.content.iter_chunked(CHUNK):
                pass


def _abort(request: web.Request) -> web.StreamResponse:
    """Reset the client connection (RST, no reply). aiohttp drops the returned response."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response()


def _error_response(status: int, code: str, message: str, resource: str) -> web.Response:
    body = ERROR_XML.format(code=code, message=message, resource=resource)
    return web.Response(status=status, body=body.encode(), content_type="application/xml")
