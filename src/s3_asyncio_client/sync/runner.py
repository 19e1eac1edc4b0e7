"""The async side of one sync ``Client``: its portal and this process's ``S3Client``.

Every object of the sync facade reaches the async API through its client's
``Runner`` (kept as ``_runner``): ``call`` for one operation, ``iterate`` for a
listing, ``open`` for a streamed reply. The runner is the only user of the portal
and the only holder of the async client, which a forked child makes afresh.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Concatenate, ParamSpec, TypeVar

from ..client import S3Client
from .portal import Portal

__all__ = ["Runner"]

T = TypeVar("T")
P = ParamSpec("P")
# Async clients of a parent process, kept in a forked child so that no destructor
# touches connections the parent still uses.
_ABANDONED: list[S3Client] = []


class Runner:
    """Runs async client operations for synchronous callers, on one portal.

    ``make()`` builds the async client: once now (bad settings fail here, not at
    the first call) and once more in each forked child that uses the runner.
    """

    def __init__(self, make: Callable[[], S3Client], label: str) -> None:
        self._make = make
        self._s3 = make()
        self._pid = os.getpid()
        self.endpoint_url = self._s3.endpoint.url
        self.portal = Portal(f"{label}({self.endpoint_url!r})", cleanup=self._close_client)

    @property
    def closed(self) -> bool:
        return self.portal.closed

    def close(self) -> None:
        """Cancel what runs, close the async client, stop the loop thread."""
        self.portal.close()

    def _client(self) -> S3Client:
        """This process's async client; on the loop thread only."""
        if self._pid != os.getpid():
            _ABANDONED.append(self._s3)
            self._s3, self._pid = self._make(), os.getpid()
        return self._s3

    async def _close_client(self) -> None:
        if self._pid == os.getpid():
            await self._s3.close()

    def call(
        self,
        operation: Callable[Concatenate[S3Client, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``await operation(client, *args, **kwargs)`` on the loop, ``client`` being
        this process's async client (``S3Client.head_object``, or a coroutine
        function taking the client first); blocks until it returns."""

        def start() -> Awaitable[T]:  # called on the loop (portal rule 2): no extra frame
            return operation(self._client(), *args, **kwargs)

        return self.portal.call(start)

    def iterate(self, listing: Callable[[S3Client], AsyncIterable[T]]) -> Iterator[T]:
        """The items of ``listing(client)``, fetched as the caller iterates."""
        return self.portal.iterate(lambda: listing(self._client()))

    def open(
        self, opener: Callable[[S3Client], AbstractAsyncContextManager[T]]
    ) -> AbstractContextManager[T]:
        """A ``with`` around ``async with opener(client)``, entered and exited on the loop."""
        return self.portal.wrap_async_context_manager(lambda: opener(self._client()))
