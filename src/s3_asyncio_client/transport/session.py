"""HTTP for the protocol layer: one aiohttp session, signing, retries, clock skew.

The transport package is the only one that imports aiohttp; its exceptions are
translated in ``errors``, once, into the S3Error tree (``raise ... from exc``).

Rules of the retry loop:
1. Every attempt is signed afresh, just before it is sent: a request that waited in
   a backoff is not rejected as stale.
2. A transient error (see ``errors.is_retryable``) is retried up to
   ``RetryConfig.max_attempts`` in all, with full-jitter backoff, while the client's
   retry budget lasts. Bodies are bytes-like, or file regions read afresh by each
   attempt, so every attempt resends the whole body.
3. RequestTimeTooSkewed sets the clock offset from the server's Date header and
   retries once at no cost to the budget.
4. Each attempt first takes one of ``max_connections`` slots, first come, first
   served (``slots``), and holds it until its reply is released: a streamed reply
   until the caller leaves ``open()``. The wait for a slot counts toward no timeout;
   the backoff between attempts holds no slot.
5. Bodies read into memory are limited (``replies``): XML and error replies, not the
   object a caller asked for.
6. A 307/308 is followed only if ``redirect_policy`` says so (AIStore's gateway sends
   object requests to a storage node): at most ``MAX_REDIRECTS`` hops per attempt,
   to http(s), never https to http; signed afresh, the whole body sent again.
7. After ``os.fork()`` the child's first request gets a fresh session and slots: the
   parent's connections (and the slots its requests held) are not the child's. The
   parent's session is left unclosed: closing it would shut sockets (and TLS
   sessions) that the parent still uses.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import aiohttp
from yarl import URL

from ..config import PayloadSigning, RetryConfig, Timeouts
from ..exceptions import S3ConnectionError, S3Error, S3InvalidRequestError, S3TimeoutError
from ..protocol.addressing import Endpoint
from ..protocol.checksums import sha256_hex
from ..protocol.http import HttpRequest, HttpResponse, in_memory
from ..protocol.signing import UNSIGNED_PAYLOAD, Credentials, sign_request
from .bodies import RegionPayload, SentCounter, payload_for, stall_of
from .errors import error_from_response, is_retryable, is_throttle, map_exception
from .file_region import BufferPool
from .redirects import RedirectPolicy, redirected
from .replies import ERROR_REPLY_LIMIT, XML_REPLY_LIMIT, read_body
from .slots import FairSlots, RetryBudget
from .streaming import StreamingResponse

__all__ = ["Transport"]

T = TypeVar("T")
_SKEW = "RequestTimeTooSkewed"
_Opened = tuple[aiohttp.ClientResponse, HttpResponse | None]  # None: streaming, a success


# Sessions of a parent process, kept referenced in a forked child (rule 7).
_ABANDONED: list[aiohttp.ClientSession] = []


class Transport:
    """Sends HttpRequests to one endpoint, signed and retried."""

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        credentials: Credentials | None,
        region: str,
        retry: RetryConfig,
        timeouts: Timeouts,
        max_connections: int = 16,
        payload_signing: PayloadSigning = "auto",
        clock: Callable[[], float] = time.time,
        redirect_policy: RedirectPolicy | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._redirect_policy = redirect_policy
        self._clock = clock
        self.region = region
        self.retry = retry
        self._credentials = credentials
        self._timeouts = timeouts
        self._max_connections = max_connections
        self._slots = FairSlots(max_connections)
        self._pid = os.getpid()
        self._budget = RetryBudget(retry.budget)
        self._clock_offset = 0.0
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        # Chunk buffers of file-region bodies, reused from request to request.
        self.buffers = BufferPool()
        self._sign_payload = payload_signing == "signed" or (
            payload_signing == "auto" and not (endpoint.secure or endpoint.is_loopback)
        )

    def __repr__(self) -> str:
        return f"Transport(endpoint={self.endpoint.url!r}, credentials={self._credentials!r})"

    @property
    def credentials(self) -> Credentials | None:
        return self._credentials

    @property
    def signs_payload(self) -> bool:
        """True when bodies are SHA-256 signed; else ``UNSIGNED-PAYLOAD`` plus a checksum."""
        return self._sign_payload

    def now(self) -> datetime:
        """The time as the server sees it (local clock plus the measured skew)."""
        return datetime.fromtimestamp(self._clock() + self._clock_offset, UTC)

    def _own_slots(self) -> FairSlots:
        """This process's slots; a fresh start in a forked child (rule 7)."""
        if self._pid != os.getpid():
            if self._session is not None:
                _ABANDONED.append(self._session)
            self._session, self._pid = None, os.getpid()
            self._slots = FairSlots(self._max_connections)
        return self._slots

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:  # a pool opened now would never be closed
            raise S3InvalidRequestError("this S3Client is closed; make a new one to go on")
        self._own_slots()
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=self._max_connections
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # S3 uses no cookies
                auto_decompress=False,
                skip_auto_headers=("Content-Type", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self._timeouts.connect, sock_read=self._timeouts.read
                ),
            )
            # aiohttp silently resends idempotent requests once when a pooled
            # connection breaks; the retry loop here must be the only one, or
            # "3 attempts" quietly becomes 6.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def close(self) -> None:
        self._closed = True
        self._own_slots()  # in a forked child: leave the parent's session alone
        if self._session is not None:
            await self._session.close()
            self._session = None
            # Closed sockets finish closing on the loop's next turn; without it a loop
            # that ends right after (asyncio.run) leaves them half-closed.
            await asyncio.sleep(0)

    def sign(self, request: HttpRequest) -> HttpRequest:
        """``request`` signed for now, or unchanged for anonymous access."""
        if self._credentials is None:
            return request
        payload = request.headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD
        if self._sign_payload and payload == UNSIGNED_PAYLOAD:
            if not in_memory(request.body):
                raise S3InvalidRequestError("a streamed body needs its SHA-256 computed first")
            payload = sha256_hex(request.body)
        return sign_request(
            request,
            self._credentials,
            region=self.region,
            timestamp=self.now(),
            payload_hash=payload,
        )

    def _start(
        self, request: HttpRequest, payload: aiohttp.payload.Payload | None = None
    ) -> Awaitable[aiohttp.ClientResponse]:
        signed = self.sign(request)
        return self._get_session().request(
            signed.method,
            URL(signed.url, encoded=True),
            headers=signed.headers,
            data=payload,
            allow_redirects=False,
        )

    async def _attempt(
        self,
        request: HttpRequest,
        on_sent: SentCounter | None,
        reply_limit: int | None,
        bucket: str | None,
        key: str | None,
    ) -> HttpResponse:
        hops = 0
        while True:
            response = await self._exchange(request, on_sent, reply_limit, bucket, key)
            moved = redirected(request, response, hops, self._redirect_policy)
            if moved is None:
                return response
            if on_sent is not None:
                on_sent.roll_back()  # the body goes again, to the new URL
            request, hops = moved, hops + 1

    async def _exchange(
        self,
        request: HttpRequest,
        on_sent: SentCounter | None,
        reply_limit: int | None,
        bucket: str | None,
        key: str | None,
    ) -> HttpResponse:
        payload = payload_for(request.body, self.buffers, on_sent, self._timeouts.read)
        slots = self._own_slots()
        await slots.acquire()
        try:
            async with await self._start(request, payload) as reply:
                limit = reply_limit if reply.status < 300 else ERROR_REPLY_LIMIT
                data = await read_body(reply, request, limit, bucket=bucket, key=key)
                headers = {name.lower(): value for name, value in reply.headers.items()}
        except S3Error:
            raise
        except Exception as exc:
            if isinstance(payload, RegionPayload) and payload.failure is not None:
                raise payload.failure from None
            mapped = map_exception(stall_of(payload) or exc, self._timeouts)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            slots.release()
        if isinstance(payload, RegionPayload) and reply.status < 300:
            payload.release()
        return HttpResponse(reply.status, headers, data)

    def _fix_clock(self, response: HttpResponse) -> bool:
        server_date = response.headers.get("date")
        if not server_date:
            return False
        try:
            server_time = parsedate_to_datetime(server_date).timestamp()
        except (TypeError, ValueError):
            return False
        self._clock_offset = server_time - self._clock()
        return True

    async def _with_retries(
        self,
        attempt: Callable[[], Awaitable[tuple[T, HttpResponse | None]]],
        request: HttpRequest,
        bucket: str | None,
        key: str | None,
        on_sent: SentCounter | None = None,
    ) -> T:
        attempts, skew_fixed = 0, False
        while True:
            attempts += 1
            error: S3Error | None
            try:
                result, response = await attempt()
            except (S3ConnectionError, S3TimeoutError) as exc:
                error, response = exc, None
                error.bucket, error.key = bucket, key
            except BaseException:
                if on_sent is not None:
                    on_sent.roll_back()
                raise
            else:
                if response is None:
                    self._budget.refund(1 if attempts == 1 else 5)
                    return result
                error = error_from_response(
                    response, error_in_body=request.error_in_body, bucket=bucket, key=key
                )
                if error is None:
                    self._budget.refund(1 if attempts == 1 else 5)
                    return result
            if on_sent is not None:
                on_sent.roll_back()
            if error.error_code == _SKEW and not skew_fixed and response is not None:
                skew_fixed = self._fix_clock(response)
                if skew_fixed:
                    attempts -= 1
                    continue
            cost = 10 if isinstance(error, S3ConnectionError | S3TimeoutError) else 5
            if (
                attempts >= self.retry.max_attempts
                or not is_retryable(error)
                or not self._budget.spend(cost)
            ):
                raise error
            base = self.retry.throttle_delay if is_throttle(error) else self.retry.base_delay
            await asyncio.sleep(
                random.random() * min(base * 2 ** (attempts - 1), self.retry.max_delay)
            )

    async def send(
        self,
        request: HttpRequest,
        *,
        bucket: str | None = None,
        key: str | None = None,
        on_sent: Callable[[int], None] | None = None,
        reply_limit: int | None = XML_REPLY_LIMIT,
    ) -> HttpResponse:
        """Send ``request`` (retrying transient failures); the reply, or its S3Error.

        ``on_sent(n)`` is called as body bytes go out, and with a negative count
        when an attempt fails and its bytes will be sent again. A successful reply
        longer than ``reply_limit`` bytes (None: no limit, for an object's body) is
        S3ReplyTooLargeError.
        """
        counter = SentCounter(on_sent) if on_sent is not None else None

        async def attempt() -> tuple[HttpResponse, HttpResponse | None]:
            response = await self._attempt(request, counter, reply_limit, bucket, key)
            return response, response

        return await self._with_retries(attempt, request, bucket, key, counter)

    @asynccontextmanager
    async def open(
        self,
        request: HttpRequest,
        *,
        bucket: str | None = None,
        key: str | None = None,
        chunk_size: int = 256 * 1024,
    ) -> AsyncIterator[StreamingResponse]:
        """Send ``request`` and yield the reply with its body unread (downloads).

        Opening is retried; reading is not (the caller knows how to resume). The
        reply holds its connection slot until the caller leaves the context.
        """

        async def attempt() -> _Opened:
            target, hops = request, 0
            while True:
                reply, response = await opening(target)
                moved = redirected(target, response, hops, self._redirect_policy)
                if moved is None:
                    return reply, response
                target, hops = moved, hops + 1

        async def opening(target: HttpRequest) -> _Opened:
            slots = self._own_slots()
            await slots.acquire()
            streaming = False
            try:
                payload = payload_for(target.body, self.buffers, None, self._timeouts.read)
                reply = await self._start(target, payload)
                if reply.status < 300:
                    streaming = True  # the slot goes with the reply, released below
                    return reply, None
                async with reply:
                    body = await read_body(reply, target, ERROR_REPLY_LIMIT, bucket=bucket, key=key)
                    headers = {n.lower(): v for n, v in reply.headers.items()}
            except S3Error:
                raise
            except Exception as exc:
                mapped = map_exception(stall_of(payload) or exc, self._timeouts)
                if mapped is None:
                    raise
                raise mapped from exc
            finally:
                if not streaming:
                    slots.release()
            return reply, HttpResponse(reply.status, headers, body)

        reply = await self._with_retries(attempt, request, bucket, key)
        try:
            yield StreamingResponse(reply, chunk_size, self._timeouts, bucket=bucket, key=key)
        finally:
            # A connection with unread body bytes cannot be reused: close it. Either
            # way aiohttp has it back before the slot is released.
            try:
                if reply.content.at_eof():
                    reply.release()
                else:
                    reply.close()
            finally:
                self._slots.release()
