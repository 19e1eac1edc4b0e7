"""Connection limits: a cap on open connections, and deadlines for connections that
do not move, so sockets that never finish a request cannot use up the descriptors.

Rules:

1. At most ``max_connections`` connections are open. A connection over the cap takes
   the place of the one that has waited longest for a request head (an idle keep-alive
   connection, or one whose head is still arriving); when every connection is busy
   with a request, the new one is closed at once. Sockets that send nothing (no
   credentials needed) can therefore never lock users out.
2. A new connection must deliver a complete request head within ``header_timeout``
   seconds; after a reply, the next head must arrive within ``idle_timeout``.
3. While a request body is arriving, ``read_timeout`` seconds without a new byte
   close the connection: the handler sees the body cut short and stores nothing.
4. The default cap comes from the descriptor limit (RLIMIT_NOFILE): two descriptors
   per connection (its socket and a blob file) and a reserve for the index, the
   listener and the rest of the process. A larger cap is refused at start.
5. One sweep a second (more often for shorter timeouts) applies rules 2 and 3: no
   timer per connection and no work per byte received.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

__all__ = ["ConnectionLimits", "Gate", "descriptor_budget"]

RESERVED_DESCRIPTORS = 64
CEILING = 1024  # with no descriptor limit: memory (a 256 KiB read buffer each) still binds
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def descriptor_budget() -> int:
    """The most connections this process's descriptor limit leaves room for (rule 4)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return CEILING
    return max(1, (soft - RESERVED_DESCRIPTORS) // 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionLimits:
    """How many connections the server keeps open, and how long one may sit still.

    ``max_connections`` (None: ``min(1024, (RLIMIT_NOFILE - 64) // 2)``, 480 under the
    usual limit of 1,024 descriptors); ``header_timeout`` (30 s) for a new connection
    to send a complete request head; ``idle_timeout`` (60 s) for a keep-alive
    connection to start its next request; ``read_timeout`` (60 s) between two reads of
    a request body. Each connection may buffer up to 256 KiB of request body.
    """

    max_connections: int | None = None
    header_timeout: float = 30.0
    idle_timeout: float = 60.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {self.max_connections}")
        for name in ("header_timeout", "idle_timeout", "read_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")

    def cap(self) -> int:
        """The cap to apply now; ValueError if the descriptor limit cannot carry it."""
        budget = descriptor_budget()
        if self.max_connections is None:
            return min(CEILING, budget)
        if self.max_connections > budget:
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            raise ValueError(
                f"max_connections={self.max_connections} needs more descriptors than the "
                f"limit of {soft} (RLIMIT_NOFILE) allows: at most {budget}; raise the limit "
                "(ulimit -n) or lower max_connections"
            )
        return self.max_connections


class _Link:
    """What the gate knows of one connection."""

    __slots__ = ("busy", "request", "seen", "served", "since")

    def __init__(self, now: float) -> None:
        self.since = now  # connected, last reply, or last body byte while busy
        self.busy = False
        self.served = 0
        self.request: web.BaseRequest | None = None
        self.seen = 0  # body bytes received when ``since`` was last moved


class Gate(web.Server):
    """aiohttp's low-level server, with the cap and the deadlines of the rules above."""

    def __init__(self, handler: Handler, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(self._handle, **kwargs)
        self._inner = handler
        self._limits = limits
        self._cap = limits.cap()
        self._links: dict[RequestHandler, _Link] = {}

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        now = asyncio.get_running_loop().time()
        if len(self._links) >= self._cap:
            idle = [(link.since, conn) for conn, link in self._links.items() if not link.busy]
            if not idle:
                handler.force_close()  # never registered: aiohttp forgets it on close
                return
            _, victim = min(idle, key=lambda item: item[0])
            del self._links[victim]
            victim.force_close()
        self._links[handler] = _Link(now)
        super().connection_made(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self._links.pop(handler, None)
        super().connection_lost(handler, exc)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        link = self._links.get(request.protocol)
        if link is None:  # evicted or cut while its head was being parsed
            return await self._inner(request)
        link.busy, link.request = True, request
        link.since, link.seen = asyncio.get_running_loop().time(), request.content.total_bytes
        try:
            return await self._inner(request)
        finally:
            # A small reply is written right after this returns, with no wait: the
            # connection is idle from here on (a GET streams inside the handler).
            link.busy, link.request = False, None
            link.served += 1
            link.since = asyncio.get_running_loop().time()

    def _sweep(self, now: float) -> None:
        limits = self._limits
        expired = []
        for conn, link in self._links.items():
            if link.busy:
                body = link.request.content if link.request is not None else None
                if body is None or body.is_eof():
                    continue
                if body.total_bytes != link.seen:
                    link.since, link.seen = now, body.total_bytes
                elif now - link.since > limits.read_timeout:
                    expired.append(conn)
            else:
                wait = limits.idle_timeout if link.served else limits.header_timeout
                if now - link.since > wait:
                    expired.append(conn)
        for conn in expired:
            del self._links[conn]
            conn.force_close()

    async def watch(self) -> None:
        """Apply the deadlines until cancelled (rule 5)."""
        limits = self._limits
        shortest = min(limits.header_timeout, limits.idle_timeout, limits.read_timeout)
        period = max(0.01, min(1.0, shortest / 4))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            self._sweep(loop.time())
