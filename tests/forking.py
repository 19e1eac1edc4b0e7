"""Running a function in a child made by ``fork()`` (multiprocessing's "fork" start
method, as pools and forking test runners do), with a bound: the child's result
comes back, its exception as its traceback's text, a hang as AssertionError."""

from __future__ import annotations

import multiprocessing
import traceback
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["in_forked_child"]

BOUND = 60.0  # seconds: a child that has not answered by then hangs


def in_forked_child(fn: Callable[..., Any], *args: Any, bound: float = BOUND) -> Any:
    """``fn(*args)`` run in a child forked now; what it returned (pickled back).
    AssertionError if it raised (with the child's traceback), exited without an
    answer, or gave none within ``bound`` seconds (it is killed then)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_run, args=(send, fn, args), daemon=True)
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads: that is the case.
        warnings.simplefilter("ignore", DeprecationWarning)
        child.start()
    send.close()
    try:
        if not receive.poll(bound):
            raise AssertionError(f"the forked child gave no answer within {bound} s: it hangs")
        ok, value = receive.recv()
    except EOFError:
        raise AssertionError("the forked child died without an answer") from None
    finally:
        receive.close()
        child.join(bound)
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode == 0, f"the forked child exited with {child.exitcode}"
    if not ok:
        raise AssertionError(f"the forked child failed:\n{value}")
    return value


def _run(send: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except BaseException:
        outcome = (False, traceback.format_exc())
    send.send(outcome)
    send.close()
