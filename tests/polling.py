"""Waiting for a condition within a bound: a test never sleeps a fixed time for one
(too short on a busy machine, too long everywhere else)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable

BOUND = 60.0  # seconds: a condition that takes longer than this is a failure


def wait_until(check: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """Return once ``check()`` is true; fail naming ``what`` after ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while not check():
        assert time.monotonic() < deadline, f"not within {bound} s: {what}"
        time.sleep(0.02)


async def until(check: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """``wait_until`` for a coroutine: the event loop runs while it waits."""
    deadline = time.monotonic() + bound
    while not check():
        assert time.monotonic() < deadline, f"not within {bound} s: {what}"
        await asyncio.sleep(0.01)


def wait_for_child(pid: int, bound: float = BOUND) -> int:
    """The exit code of forked child ``pid``; killed and a failure after ``bound`` s."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"child {pid} did not finish in {bound} s")
