"""Reading a streamed reply ahead of a synchronous caller (``ObjectReader`` iteration).

Rules:
1. A task on the portal's loop reads the reply's pieces (as they arrived, never
   copied) into a queue; the caller's thread takes them from it. A piece costs at
   most one thread wake-up, where a read through the portal is a round trip (a task
   on the loop, two thread wake-ups) per chunk.
2. At most ``budget`` bytes wait in the queue, plus the piece that crossed it (and
   the connection's own read buffer before them): the task pauses there and goes on
   once half of them are taken.
3. The reply's error reaches the caller as raised; a portal closed meanwhile is a
   RuntimeError. Leaving the iteration early (break, an error, Ctrl-C) cancels the
   task before the reply is closed; after ``os.fork()`` the child cannot go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import S3Client, StreamingResponse
    from .runner import Runner

__all__ = ["READAHEAD", "Readahead"]

READAHEAD = 4 * 1024 * 1024  # bytes an iterated reader holds ahead of its caller at most


class Readahead:
    """The pieces of an open reply, read ahead by a task on the loop while the
    caller's thread takes them from a queue: a thread wake-up per piece at most,
    where a read through the portal is a round trip per chunk. The task pauses while
    ``budget`` bytes wait, and goes on once half of them are taken."""

    def __init__(self, runner: Runner, reply: StreamingResponse, budget: int) -> None:
        self._runner, self._reply, self._budget = runner, reply, budget
        self._pieces: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: the end
        self._lock = threading.Lock()  # guards the two below
        self._held = 0
        self._paused = False
        self._room = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _start(self, _: S3Client) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._pump())
        self._task.add_done_callback(self._finished)

    async def _stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pump(self) -> None:
        while piece := await self._reply.read_chunk():
            with self._lock:
                self._held += len(piece)
                pause = self._paused = self._held >= self._budget
                if pause:
                    self._room.clear()
            self._pieces.put(piece)
            if pause:
                await self._room.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        """The task ended (even cancelled before it began): the caller must know."""
        if task.cancelled():
            self._error = asyncio.CancelledError()
        else:
            self._error = task.exception()  # retrieved here: raised in the caller's thread
        self._pieces.put(None)

    def _next(self) -> bytes | None:
        """The next piece, waiting for it; None at the end."""
        piece = self._pieces.get()
        if piece is None:
            self._pieces.put(None)  # the end stays the end
            if isinstance(self._error, asyncio.CancelledError):
                raise RuntimeError("the client was closed while the body was read")
            if self._error is not None:
                raise self._error
            return None
        with self._lock:
            self._held -= len(piece)
            resume = self._paused and self._held <= self._budget // 2
            if resume:
                self._paused = False
        if resume and self._loop is not None:
            self._loop.call_soon_threadsafe(self._room.set)
        return piece

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body in chunks of up to ``size`` bytes (pieces as they arrived)."""
        pid = os.getpid()
        self._runner.call(self._start)
        try:
            while True:
                if os.getpid() != pid:
                    raise RuntimeError("a stream opened before os.fork() cannot be read after it")
                piece = self._next()
                if piece is None:
                    return
                if len(piece) <= size:
                    yield piece
                    continue
                view = memoryview(piece)
                for start in range(0, len(piece), size):
                    yield bytes(view[start : start + size])
        finally:
            if os.getpid() == pid:
                self._runner.portal.run_soon(self._stop)
