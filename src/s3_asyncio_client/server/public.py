"""What a request with no credentials may do on a server that has keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .call import Call
from .errors import S3Fault

__all__ = ["anonymous_allowed", "anonymous_denied"]


def anonymous_denied() -> S3Fault:
    return S3Fault("AccessDenied", "Anonymous access is not allowed on this server.")


def anonymous_allowed(call: Call, handler: Callable[[Call], Awaitable[web.StreamResponse]]) -> bool:
    """Whether an anonymous ``call`` may run ``handler``: nothing is public yet."""
    return False
