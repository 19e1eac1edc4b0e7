"""Portal: one background event loop, callable from any thread.

Rules:
1. One loop per portal (uvloop's when installed: see ``loops``), run by one daemon
   thread ("s3aio-portal-N"), started lazily by the first call, under a lock.
   Blocking work the loop hands off (``asyncio.to_thread``, DNS) runs in the
   portal's own executor ("s3aio-portal-N-io"), so ``close()`` can join every
   thread it started.
2. ``call(fn, *args)`` runs ``await fn(*args)`` on the loop and blocks the calling
   thread until it is done. The coroutine is made on the loop, never in the caller,
   so a refused call leaves no never-awaited coroutine. Exceptions come back as
   raised (the same S3Error objects the async API raises). Calls from many threads
   run concurrently on the one loop.
3. A call from the loop thread itself would wait for itself forever: it raises
   RuntimeError instead (async code should await the async API directly).
4. Work reaches the loop one way only: a ``Handoff`` begun on the loop (``_begin``),
   for calls, context managers, iterators, cleanups and the shutdown alike.
   Submission happens under the lock that ``close()`` takes to mark the portal
   closed, so every call is either refused or queued before the shutdown, which
   cancels it; its caller then gets RuntimeError, never a hang.
5. ``close()`` is idempotent. It cancels what is still running, awaits the
   ``cleanup`` coroutine (a client closes its connections there), shuts down async
   generators and the executor, closes the loop and joins the thread. Calls after
   it raise RuntimeError: a closed portal stays closed. From the loop thread itself
   ``close()`` only starts the shutdown (it cannot join its own thread).
6. After ``os.fork()`` the child has no loop thread (only the forking thread is
   copied). The first use in the child notices the new pid (as fsspec does) and
   starts a fresh loop; the parent's loop object is kept, untouched and unclosed,
   because closing it could disturb what the parent shares with the child.
7. Async context managers and async iterators cross the portal whole:
   ``wrap_async_context_manager`` runs the ``async with`` in one task on the loop
   (enter and exit in the same task, as anyio's portal does), which two calls start
   and end; ``iterate`` steps an async iterator one call per item and closes it when
   the sync iterator is done.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import sys
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

from .handoff import Handoff
from .loops import new_event_loop

__all__ = ["Portal"]

T = TypeVar("T")
P = ParamSpec("P")

_numbers = itertools.count(1)
# Loops and other objects of a parent process, kept referenced in a forked child so
# that no destructor closes (or warns about) what belongs to the parent (rule 6).
_ABANDONED: list[object] = []
# Guards the pid check; a fresh lock in each child, since a thread of the parent
# may have held the old one at the moment of the fork.
_fork_lock = threading.Lock()


def _renew_fork_lock() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_fork_lock)


class _Exhausted(Exception):
    """An async iterator has no more items (StopAsyncIteration, carried across)."""


class Portal:
    """Runs coroutines on one background event loop for synchronous callers.
    ``cleanup()`` is awaited on the loop when the portal closes."""

    def __init__(
        self, name: str = "portal", *, cleanup: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        self.name = name
        self._cleanup = cleanup
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None  # the loop thread's, read on every call
        self._closed = False
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._loop else "idle"
        return f"Portal({self.name!r}, {state})"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def running(self) -> bool:
        """True while this process has a loop thread for the portal."""
        self._check_pid()
        return self._thread is not None and self._thread.is_alive()

    def in_loop_thread(self) -> bool:
        return self._thread_id == threading.get_ident()

    def _check_caller(self) -> None:
        """Rules 3 and 6: not from the loop thread; a fresh loop after a fork."""
        self._check_pid()
        if self.in_loop_thread():
            raise RuntimeError(
                f"{self.name} was called from its own event loop thread, where it would "
                "wait for itself forever; in async code, await the async API instead"
            )

    def _closed_error(self) -> RuntimeError:
        return RuntimeError(f"{self.name} is closed; create a new one")

    def _check_pid(self) -> None:
        if self._pid == os.getpid():
            return
        with _fork_lock:
            if self._pid != os.getpid():  # forked: the loop thread stayed in the parent
                if self._loop is not None:
                    _ABANDONED.append(self._loop)
                self._lock = threading.Lock()
                self._loop, self._thread, self._pid = None, None, os.getpid()
                self._thread_id = None

    def _start(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if needed); call with the lock held."""
        if self._closed:
            raise self._closed_error()
        if self._loop is None:
            number = next(_numbers)
            loop = new_event_loop()
            executor = concurrent.futures.ThreadPoolExecutor(
                thread_name_prefix=f"s3aio-portal-{number}-io"
            )
            loop.set_default_executor(executor)
            thread = threading.Thread(
                target=_serve, args=(loop, executor), name=f"s3aio-portal-{number}", daemon=True
            )
            thread.start()
            self._loop, self._thread, self._thread_id = loop, thread, thread.ident
        return self._loop

    def _begin(
        self,
        loop: asyncio.AbstractEventLoop,
        handoff: Handoff[T],
        fn: Callable[..., Awaitable[T]],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Rule 4: start ``fn(*args, **kwargs)`` on the loop, its outcome in ``handoff``.
        From the loop thread it starts at once and is kept referenced until done."""
        if self.in_loop_thread():
            handoff.begin(loop, fn, args, kwargs or {})
            task = handoff.task
            if task is not None:  # None: ``fn`` raised at once, its outcome is in
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        else:
            loop.call_soon_threadsafe(handoff.begin, loop, fn, args, kwargs or {})

    def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await fn(*args, **kwargs)`` on the loop; block until it returns."""
        self._check_caller()
        handoff: Handoff[T] = Handoff()
        with self._lock:  # rule 4
            loop = self._start()
            self._begin(loop, handoff, fn, args, kwargs)
        try:
            handoff.wait()
        except BaseException:  # interrupted (Ctrl-C): stop the work too
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(handoff.cancel)
            raise
        if handoff.error is None:
            return handoff.result  # type: ignore[return-value]
        if isinstance(handoff.error, concurrent.futures.CancelledError) and self._closed:
            raise RuntimeError(f"{self.name} was closed while the call was running") from None
        raise handoff.error

    def wrap_async_context_manager(
        self, factory: Callable[[], AbstractAsyncContextManager[T]]
    ) -> AbstractContextManager[T]:
        """A ``with`` for the async context manager ``factory()`` (made on the loop)."""
        return _BlockingContext(self, factory)

    def iterate(self, factory: Callable[[], AsyncIterable[T]]) -> Iterator[T]:
        """The items of the async iterable ``factory()`` (made on the loop)."""
        iterator: AsyncIterator[T] | None = None
        exhausted = False

        async def advance() -> T:
            nonlocal iterator, exhausted
            if iterator is None:
                iterator = aiter(factory())
            try:
                return await anext(iterator)
            except StopAsyncIteration:
                exhausted = True
                raise _Exhausted from None

        pid = os.getpid()
        try:
            while True:
                if os.getpid() != pid:
                    raise RuntimeError("an iterator started before os.fork() cannot go on after")
                try:
                    item = self.call(advance)
                except _Exhausted:
                    return
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None and not exhausted and os.getpid() == pid:
                self.run_soon(aclose)

    def run_soon(self, fn: Callable[[], Awaitable[object]]) -> None:
        """Best-effort cleanup from any thread (destructors, abandoned iterators): run
        ``fn`` and wait for it, or only start it from the loop thread; nothing once
        the portal is closed (its shutdown already cleaned up)."""
        self._check_pid()
        loop = self._loop
        if loop is None or self._closed or sys.is_finalizing():
            return  # at exit the loop thread may be frozen: never wait for it
        if self.in_loop_thread():
            self._begin(loop, Handoff(), fn)
            return
        try:
            self.call(fn)
        except RuntimeError:
            if not self._closed:
                raise

    def close(self) -> None:
        """Cancel what runs, await ``cleanup()``, stop the loop and join its thread.
        Every caller returns once the thread has ended (except on the loop thread)."""
        self._check_pid()
        shutdown: Handoff[None] = Handoff()
        with self._lock:
            first, self._closed = not self._closed, True
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return  # never started in this process: nothing to stop
            if first:
                self._begin(loop, shutdown, _shutdown, (loop, self._cleanup))
        if self.in_loop_thread():
            return  # the shutdown starts once the calling task yields
        thread.join()
        # The loop ran the shutdown's outcome callback before its thread ended.
        if first and shutdown.done.acquire(blocking=False) and shutdown.error is not None:
            raise shutdown.error  # the cleanup's own error


async def _shutdown(
    loop: asyncio.AbstractEventLoop, cleanup: Callable[[], Awaitable[object]] | None
) -> None:
    """Cancel every other task, await them, run ``cleanup``, stop the loop (rule 5)."""
    try:
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if cleanup is not None:
            await cleanup()
        await asyncio.sleep(0)  # let closed transports run their connection_lost
    finally:
        loop.stop()


def _serve(loop: asyncio.AbstractEventLoop, executor: concurrent.futures.Executor) -> None:
    """The loop thread: run until ``_shutdown`` stops the loop, then tidy up."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        executor.shutdown(wait=True)
        asyncio.set_event_loop(None)
        loop.close()


class _BlockingContext(AbstractContextManager[T], Generic[T]):
    """One ``async with`` hosted by a task on the portal's loop (rule 7): one call
    starts the host and waits until it has entered, another lets it exit."""

    def __init__(self, portal: Portal, factory: Callable[[], AbstractAsyncContextManager[T]]):
        self._portal = portal
        self._factory = factory
        self._exit_info: tuple[Any, Any, Any] = (None, None, None)
        self._entered = False
        self._leave: asyncio.Event | None = None
        self._host: asyncio.Task[bool | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _enter(self) -> T:
        """On the loop: start the host task; return once it has entered."""
        loop = asyncio.get_running_loop()
        entered: asyncio.Future[T] = loop.create_future()
        self._leave = asyncio.Event()
        self._host = host = loop.create_task(self._hosting(entered))
        try:
            return await entered
        except BaseException:  # the caller gave up (Ctrl-C), or the portal is closing
            host.cancel()
            raise

    async def _hosting(self, entered: asyncio.Future[T]) -> bool | None:
        manager = self._factory()
        try:
            value = await manager.__aenter__()
        except asyncio.CancelledError:
            entered.cancel()
            raise
        except BaseException as exc:
            if not entered.done():
                entered.set_exception(exc)  # the caller raises it: not this task
            return None
        if not entered.done():
            entered.set_result(value)
        assert self._leave is not None
        try:
            await self._leave.wait()
        except BaseException as exc:  # cancelled: the portal is closing
            if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
                raise
            return None
        return await manager.__aexit__(*self._exit_info)

    async def _exit(self) -> bool | None:
        """On the loop: let the host exit, and wait for it (cancelled with us)."""
        assert self._leave is not None
        assert self._host is not None
        self._leave.set()
        return await self._host

    def __enter__(self) -> T:
        if self._entered:
            raise RuntimeError("this context manager was already entered")
        self._entered = True
        value = self._portal.call(self._enter)
        self._loop = self._portal._loop
        return value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        self._portal._check_pid()
        host, leave, loop = self._host, self._leave, self._loop
        if host is None or leave is None or loop is None or host.done():
            return None  # never entered, or already ended (the portal closed)
        if loop is not self._portal._loop:
            return None  # entered in the parent of this forked process: not ours
        self._exit_info = (exc_type, exc, traceback)
        if sys.is_finalizing():
            return None  # at exit the loop thread may be frozen: never wait for it
        if self._portal.in_loop_thread():
            leave.set()  # cannot wait for ourselves: the host exits on its own
            return None
        try:
            return self._portal.call(self._exit)
        except BaseException as error:
            if error is exc:
                return False  # the body's own exception, re-raised by __aexit__
            if isinstance(error, RuntimeError) and self._portal.closed:
                return None  # closed meanwhile: the shutdown exited the manager
            raise
