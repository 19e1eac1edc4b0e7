"""The portal on its own: one loop thread, called from many threads, closed cleanly,
refusing calls from its own thread, starting afresh in a forked child."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
from polling import wait_for_child

from s3_asyncio_client.sync.portal import Portal

DEADLINE = 30.0


@pytest.fixture
def portal() -> Iterator[Portal]:
    before = set(threading.enumerate())
    p = Portal("test portal")
    try:
        yield p
    finally:
        p.close()
        leaked = [t for t in threading.enumerate() if t not in before]
        assert leaked == [], leaked


async def ident() -> int:
    return threading.get_ident()


def portal_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("s3aio-portal")]


def test_starts_lazily_and_runs_on_one_named_thread(portal: Portal) -> None:
    assert not portal.running
    assert portal_threads() == []
    first, second = portal.call(ident), portal.call(ident)
    assert first == second != threading.get_ident()
    assert portal.running
    (name,) = portal_threads()
    assert name.startswith("s3aio-portal-")


def test_returns_results_and_raises_the_same_exception(portal: Portal) -> None:
    async def add(a: int, *, b: int) -> int:
        return a + b

    class Boom(Exception):
        pass

    error = Boom("boom")

    async def fail() -> None:
        raise error

    assert portal.call(add, 2, b=3) == 5
    with pytest.raises(Boom) as caught:
        portal.call(fail)
    assert caught.value is error


def test_callables_returning_awaitables_run_on_the_loop(portal: Portal) -> None:
    """Any callable returning an awaitable is called on the loop thread; what it
    raises there reaches the caller, and the portal stays usable."""
    called_on: list[int] = []

    def start() -> asyncio.Future[int]:
        called_on.append(threading.get_ident())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_result(7)
        return future

    def refuse() -> asyncio.Future[int]:
        raise LookupError("refused")

    assert portal.call(start) == 7
    assert called_on == [portal.call(ident)]
    with pytest.raises(LookupError, match="refused"):
        portal.call(refuse)
    assert portal.call(start) == 7


def test_call_from_the_loop_thread_raises(portal: Portal) -> None:
    async def reenter() -> int:
        return portal.call(ident)

    with pytest.raises(RuntimeError, match="own event loop thread"):
        portal.call(reenter)
    assert portal.call(ident)  # still usable


def test_many_threads_share_the_one_loop(portal: Portal) -> None:
    seen: set[int] = set()
    results: dict[int, int] = {}
    barrier = threading.Barrier(32)

    async def work(n: int) -> int:
        seen.add(threading.get_ident())
        await asyncio.sleep(0.01)
        return n * n

    def worker(n: int) -> None:
        barrier.wait(timeout=DEADLINE)
        results[n] = portal.call(work, n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not any(t.is_alive() for t in threads)
    assert results == {n: n * n for n in range(32)}
    assert len(seen) == 1


def test_blocking_work_runs_in_the_portals_own_executor(portal: Portal) -> None:
    async def offload() -> str:
        return await asyncio.to_thread(lambda: threading.current_thread().name)

    name = portal.call(offload)
    assert name.startswith("s3aio-portal-")
    assert "-io_" in name


def test_close_is_idempotent_and_later_calls_raise() -> None:
    before = set(threading.enumerate())
    portal = Portal("closing portal")
    portal.call(ident)
    portal.close()
    portal.close()
    assert portal.closed
    assert not portal.running
    assert [t for t in threading.enumerate() if t not in before] == []
    with pytest.raises(RuntimeError, match="closing portal is closed"):
        portal.call(ident)


def test_concurrent_closes_all_wait_for_the_end() -> None:
    cleaned: list[int] = []

    async def cleanup() -> None:
        await asyncio.sleep(0.2)  # a slow goodbye: the second closer must wait for it
        cleaned.append(1)

    portal = Portal("closed twice at once", cleanup=cleanup)
    portal.call(ident)
    barrier = threading.Barrier(2)
    seen_running: list[bool] = []

    def closer() -> None:
        barrier.wait(DEADLINE)
        portal.close()
        seen_running.append(bool(portal_threads()))

    threads = [threading.Thread(target=closer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert seen_running == [False, False]
    assert cleaned == [1]


def test_close_of_an_unused_portal_starts_nothing() -> None:
    portal = Portal("unused")
    portal.close()
    assert portal_threads() == []
    with pytest.raises(RuntimeError, match="unused is closed"):
        portal.call(ident)


def test_close_cancels_a_running_call_and_runs_cleanup() -> None:
    started = threading.Event()
    outcome: list[BaseException] = []
    cleaned: list[bool] = []

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    async def cleanup() -> None:
        cleaned.append(True)

    portal = Portal("busy", cleanup=cleanup)

    def caller() -> None:
        try:
            portal.call(forever)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(DEADLINE)
    portal.close()
    thread.join(DEADLINE)
    assert not thread.is_alive()
    assert cleaned == [True]
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "closed while the call was running" in str(outcome[0])


def test_interrupted_call_cancels_its_work(portal: Portal) -> None:
    """Ctrl-C while a call waits: KeyboardInterrupt in the caller, and the coroutine
    on the loop is cancelled, not left running."""
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt() -> None:
        assert started.wait(DEADLINE)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    timer = threading.Thread(target=interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        portal.call(forever)
    timer.join(DEADLINE)
    assert cancelled.wait(DEADLINE)
    assert portal.call(ident) != threading.get_ident()  # still usable afterwards


def test_close_from_the_loop_thread_stops_without_waiting_for_itself() -> None:
    portal = Portal("self-closing")
    portal.call(ident)
    (thread,) = [t for t in threading.enumerate() if t.name.startswith("s3aio-portal")]

    async def close_inside() -> None:
        portal.close()
        await asyncio.sleep(3600)  # the shutdown cancels this very task

    with pytest.raises(RuntimeError, match="closed while the call was running"):
        portal.call(close_inside)
    thread.join(DEADLINE)
    assert not thread.is_alive()
    assert portal.closed


class Recorder:
    """An async context manager that records what happens to it, and in which task."""

    def __init__(self, suppress: bool = False, fail_enter: bool = False) -> None:
        self.events: list[object] = []
        self.suppress = suppress
        self.fail_enter = fail_enter
        self.tasks: set[asyncio.Task[object] | None] = set()

    async def __aenter__(self) -> str:
        self.tasks.add(asyncio.current_task())
        if self.fail_enter:
            raise KeyError("enter failed")
        self.events.append("enter")
        return "value"

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> bool:
        self.tasks.add(asyncio.current_task())
        self.events.append(("exit", exc_type))
        return self.suppress


def test_async_context_manager_enters_and_exits_in_one_task(portal: Portal) -> None:
    recorder = Recorder()
    with portal.wrap_async_context_manager(lambda: recorder) as value:
        assert value == "value"
        assert recorder.events == ["enter"]
    assert recorder.events == ["enter", ("exit", None)]
    assert len(recorder.tasks) == 1


def test_async_context_manager_sees_the_body_exception(portal: Portal) -> None:
    recorder = Recorder()
    with pytest.raises(ZeroDivisionError), portal.wrap_async_context_manager(lambda: recorder):
        _ = 1 / 0
    assert recorder.events == ["enter", ("exit", ZeroDivisionError)]

    failing = Recorder()
    with pytest.raises(RuntimeError, match="from the body"):  # noqa: SIM117
        with portal.wrap_async_context_manager(lambda: failing):
            raise RuntimeError("from the body")
    assert failing.events == ["enter", ("exit", RuntimeError)]

    suppressing = Recorder(suppress=True)
    with portal.wrap_async_context_manager(lambda: suppressing):
        raise ValueError("swallowed by __aexit__")
    assert suppressing.events == ["enter", ("exit", ValueError)]


def test_async_context_manager_enter_failure_propagates(portal: Portal) -> None:
    recorder = Recorder(fail_enter=True)
    with pytest.raises(KeyError, match="enter failed"):  # noqa: SIM117
        with portal.wrap_async_context_manager(lambda: recorder):
            raise AssertionError("the body must not run")
    assert recorder.events == []


def test_close_exits_an_open_async_context_manager() -> None:
    portal = Portal("closing with a context open")
    recorder = Recorder()
    context = portal.wrap_async_context_manager(lambda: recorder)
    context.__enter__()
    portal.close()
    assert recorder.events == ["enter", ("exit", asyncio.CancelledError)]
    assert context.__exit__(None, None, None) is None  # quietly: already exited


def test_iterate_yields_items_and_closes_the_generator_early(portal: Portal) -> None:
    finished: list[str] = []

    async def numbers(count: int) -> AsyncIterator[int]:
        try:
            for n in range(count):
                await asyncio.sleep(0)
                yield n
        finally:
            finished.append("closed")

    assert list(portal.iterate(lambda: numbers(5))) == [0, 1, 2, 3, 4]
    assert finished == ["closed"]
    for n in portal.iterate(lambda: numbers(100)):
        if n == 2:
            break
    assert finished == ["closed", "closed"]


def test_iterate_raises_what_the_iterator_raises(portal: Portal) -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise LookupError("page 2 failed")

    items = portal.iterate(broken)
    assert next(items) == 1
    with pytest.raises(LookupError, match="page 2 failed"):
        next(items)


async def loop_id() -> int:
    return id(asyncio.get_running_loop())


def test_forked_child_gets_a_fresh_loop(portal: Portal) -> None:
    parent_loop = portal.call(loop_id)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report through the pipe and the exit code, then _exit
        code = 1
        try:
            os.close(read_end)
            signal.alarm(int(DEADLINE))
            # The parent's loop object is still in memory here (kept on purpose), so
            # a new loop cannot have the same id.
            fresh = portal.call(loop_id) != parent_loop
            result = portal.call(asyncio.sleep, 0, "ok")
            portal.close()
            os.write(write_end, f"{fresh} {result} {portal_threads()}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert wait_for_child(pid, DEADLINE) == 0
        assert pipe.read() == b"True ok []"
    assert portal.call(loop_id) == parent_loop  # the parent's loop is untouched


def test_the_portal_runs_uvloop_when_installed_unless_a_policy_is_set(portal: Portal) -> None:
    import uvloop  # in the test extra

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    assert portal.call(loop_type) is uvloop.Loop
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(_CustomPolicy())
    try:
        other = Portal("policy")
        try:
            assert other.call(loop_type) is not uvloop.Loop
        finally:
            other.close()
    finally:
        asyncio.set_event_loop_policy(previous)


class _CustomPolicy(asyncio.DefaultEventLoopPolicy):
    """An application's own policy: the portal must honour it."""
