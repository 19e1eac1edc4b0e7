"""One blocking call from a thread to an event loop, handed over and back.

The caller blocks on a plain lock, the cheapest thing to block on (a
concurrent.futures.Future costs a Condition, and ``run_coroutine_threadsafe`` two
futures chained by callbacks); the loop releases it once the task has an outcome.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["Handoff"]

T = TypeVar("T")

# How often a waiting caller looks for a signal. CPython checks for signals only
# when a blocking wait is interrupted, so a Ctrl-C that lands just before the wait
# blocks would otherwise go unseen until the call ends (perhaps never).
SIGNAL_CHECK = 0.25


class Handoff(Generic[T]):
    """One call: the caller waits with ``wait()``; ``begin`` (on the loop)
    starts the task, whose outcome lands in ``result`` or ``error``; ``cancel`` (on
    the loop) stops it when the caller gave up."""

    __slots__ = ("done", "error", "result", "task")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[T] | None = None

    def begin(
        self,
        loop: asyncio.AbstractEventLoop,
        fn: Callable[..., Awaitable[T]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """On the loop: make the coroutine there (rule 2) and run it as a task."""
        try:  # made directly, not by a wrapper coroutine: one frame less per call
            awaitable = fn(*args, **kwargs)
        except BaseException as error:  # the caller gets it, as from a task
            self.error = error
            self.done.release()
            if not isinstance(error, Exception):
                raise  # KeyboardInterrupt, SystemExit: the loop's too, as a task's would
            return
        if not isinstance(awaitable, Coroutine):  # a task needs a coroutine
            awaitable = _await(awaitable)
        self.task = loop.create_task(awaitable)
        self.task.add_done_callback(self._finish)

    def wait(self) -> None:
        """Block until the outcome is in; a signal (Ctrl-C) raises here promptly."""
        while not self.done.acquire(timeout=SIGNAL_CHECK):
            pass

    def _finish(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():  # a sync caller sees the Exception, not asyncio's BaseException
            self.error = concurrent.futures.CancelledError()
        elif (error := task.exception()) is not None:
            self.error = error
        else:
            self.result = task.result()
        self.done.release()

    def cancel(self) -> None:
        """On the loop (after ``begin``: callbacks run in order): the caller gave up."""
        if self.task is not None:
            self.task.cancel()


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
