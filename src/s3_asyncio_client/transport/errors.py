"""The one place where aiohttp's and the OS's exceptions become S3Errors."""

from __future__ import annotations

import asyncio

import aiohttp

from ..exceptions import S3ConnectionError, S3Error, S3TimeoutError

__all__ = ["map_exception"]


def map_exception(exc: BaseException) -> S3Error | None:
    """The S3Error for an aiohttp/OS failure, or None if it is not one of ours."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        error: S3Error = S3TimeoutError(f"timed out: {str(exc) or type(exc).__name__}")
    elif isinstance(exc, aiohttp.ClientPayloadError):
        error = S3ConnectionError(f"reply body cut short: {exc}")
    elif isinstance(exc, aiohttp.ClientError | ConnectionError | OSError):
        error = S3ConnectionError(f"connection failed: {str(exc) or type(exc).__name__}")
    else:
        return None
    error.__cause__ = exc
    return error
