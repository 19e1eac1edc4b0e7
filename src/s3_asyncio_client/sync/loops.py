"""The event loop of the loops this package runs itself (the sync facade's thread,
the CLI): uvloop's when it is installed (the ``fast`` extra), unless the application
chose an event loop policy of its own. Async callers bring their own loop."""

from __future__ import annotations

import asyncio
import importlib
import sys

__all__ = ["new_event_loop"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop: uvloop's if installed and no custom policy is set, else asyncio's.

    uvloop costs less per request (measured: 2,000 small PUTs took 21 % less CPU).
    """
    if sys.version_info < (3, 14) and (
        type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy
    ):  # policies are deprecated from 3.14 on: only older code can have chosen one
        return asyncio.new_event_loop()  # the application's choice wins
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
