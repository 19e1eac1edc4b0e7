"""The one place where the client's S3Errors are made from anything foreign.

1. aiohttp's and the OS's exceptions (``map_exception``): S3ConnectionError,
   S3TimeoutError. A timeout says which one ran out and what the server did: no
   connection (``Timeouts.connect``), or a stall (``Timeouts.read``: no byte of the
   reply came, or no byte of the request body went out: ``SendStalled``).
2. The protocol layer's neutral errors (``s3_error``), once, at the client's edge:
   LocalProtocolError -> S3InvalidRequestError, RemoteLengthError -> S3LengthError,
   RemoteProtocolError -> S3ServerError, message and fields kept. The edge is
   ``protocol_edge`` on S3Client and MultipartUpload (every public method), and
   ``maps_protocol_errors`` / ``protocol_errors()`` where other client-side code
   calls the protocol layer directly.
3. S3's error replies (``error_from_response``), and which of them are retried.
   Retry rules follow the AWS SDKs' standard mode: 500/502/503/504, throttling codes
   (SlowDown, 429), RequestTimeout and the 200-with-<Error> reply are transient;
   every other 4xx is not. Connection resets and timeouts are retried too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

import aiohttp

from ..config import Timeouts
from ..exceptions import (
    S3AccessDeniedError,
    S3ClientError,
    S3ConditionalConflictError,
    S3ConflictError,
    S3ConnectionError,
    S3Error,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3LengthError,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3NotFoundError,
    S3PreconditionFailedError,
    S3ServerError,
    S3SlowDownError,
    S3TimeoutError,
)
from ..protocol.documents import parse_xml
from ..protocol.errors import ProtocolError, RemoteLengthError, RemoteProtocolError
from ..protocol.http import HttpResponse

__all__ = [
    "SendStalled",
    "error_from_response",
    "is_retryable",
    "is_throttle",
    "map_exception",
    "maps_protocol_errors",
    "protocol_edge",
    "protocol_errors",
    "response_error",
    "s3_error",
]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


# aiohttp >= 3.10 tells a connect timeout from a read timeout by class; older ones
# raise ServerTimeoutError for both (then the message is the generic one).
_CONNECT_TIMEOUT: type[BaseException] | tuple[()] = getattr(aiohttp, "ConnectionTimeoutError", ())
_READ_TIMEOUT: type[BaseException] | tuple[()] = getattr(aiohttp, "SocketTimeoutError", ())


class SendStalled(TimeoutError):
    """No byte of a request body went out for the stall timeout: the server stopped
    reading it (raised by the body's writer; aiohttp times out reads only)."""


def _timeout_message(exc: BaseException, timeouts: Timeouts | None) -> str:
    if isinstance(exc, SendStalled):
        return str(exc)
    if isinstance(exc, _READ_TIMEOUT):
        within = f"for {timeouts.read:g} s" if timeouts else "within the stall timeout"
        return f"no byte of the reply came {within} (Timeouts.read): the server stalled"
    if isinstance(exc, _CONNECT_TIMEOUT):
        within = f"within {timeouts.connect:g} s" if timeouts else "in time"
        return f"no connection {within} (Timeouts.connect)"
    return f"timed out: {str(exc) or type(exc).__name__}"


def map_exception(exc: BaseException, timeouts: Timeouts | None = None) -> S3Error | None:
    """The S3Error for an aiohttp/OS/protocol failure, or None if it is not one of ours;
    ``timeouts``, the ones that applied, go into a timeout's message."""
    if isinstance(exc, ProtocolError):
        return s3_error(exc)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        error: S3Error = S3TimeoutError(_timeout_message(exc, timeouts))
    elif isinstance(exc, aiohttp.ClientPayloadError):
        error = S3ConnectionError(f"reply body cut short: {exc}")
    elif isinstance(exc, aiohttp.ClientError | ConnectionError | OSError):
        error = S3ConnectionError(f"connection failed: {str(exc) or type(exc).__name__}")
    else:
        return None
    error.__cause__ = exc
    return error


# The protocol layer's errors


def s3_error(exc: ProtocolError) -> S3Error:
    """The S3Error a protocol error stands for on the client side."""
    bucket, key = exc.bucket, exc.key
    if isinstance(exc, RemoteLengthError):
        value = exc.value if isinstance(exc.value, str) else None
        return S3LengthError(exc.message, value=value, bucket=bucket, key=key)
    if isinstance(exc, RemoteProtocolError):
        return S3ServerError(exc.message, bucket=bucket, key=key)
    return S3InvalidRequestError(exc.message, bucket=bucket, key=key)


@contextlib.contextmanager
def protocol_errors() -> Iterator[None]:
    """Raise a ProtocolError from the block as its S3Error (the protocol's frames kept
    in the traceback, the neutral error not chained: it says nothing more)."""
    try:
        yield
    except ProtocolError as exc:
        raise _translated(exc) from None


def _translated(exc: ProtocolError) -> S3Error:
    return s3_error(exc).with_traceback(exc.__traceback__)


def maps_protocol_errors(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` (plain, coroutine or async generator) with ``protocol_errors()``
    around its body."""
    if inspect.isasyncgenfunction(function):
        items = cast(Callable[P, AsyncGenerator[Any, None]], function)

        @functools.wraps(function)
        async def generator(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, None]:
            with protocol_errors():
                async with contextlib.aclosing(items(*args, **kwargs)) as inner:
                    async for item in inner:
                        yield item

        return cast(Callable[P, R], generator)
    if inspect.iscoroutinefunction(function):
        awaitable = cast(Callable[P, Awaitable[Any]], function)

        @functools.wraps(function)
        async def coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:  # protocol_errors() inlined: this runs once per request
                return await awaitable(*args, **kwargs)
            except ProtocolError as exc:
                raise _translated(exc) from None

        return cast(Callable[P, R], coroutine)

    @functools.wraps(function)
    def plain(*args: P.args, **kwargs: P.kwargs) -> R:
        with protocol_errors():
            return function(*args, **kwargs)

    return plain


def protocol_edge(cls: C) -> C:
    """``cls`` with ``maps_protocol_errors`` on ``__init__`` and every public method.

    A method that returns an async context manager or iterator maps only its call:
    the code run later, on entry or iteration, maps its own (``protocol_errors()``).
    """
    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, maps_protocol_errors(member))
    return cls


# S3's error replies

_BY_CODE: dict[str, type[S3Error]] = {
    "NoSuchBucket": S3NoSuchBucketError,
    "NoSuchKey": S3NoSuchKeyError,
    "NoSuchUpload": S3NoSuchUploadError,
    "InvalidPart": S3InvalidPartError,
    "InvalidPartOrder": S3InvalidPartError,
    "EntityTooSmall": S3InvalidPartError,
    "AccessDenied": S3AccessDeniedError,
    "SignatureDoesNotMatch": S3AccessDeniedError,
    "InvalidAccessKeyId": S3AccessDeniedError,
    "RequestTimeTooSkewed": S3AccessDeniedError,
    "ExpiredToken": S3AccessDeniedError,
    "BucketNotEmpty": S3ConflictError,
    "BucketAlreadyExists": S3ConflictError,
    "BucketAlreadyOwnedByYou": S3ConflictError,
    "SlowDown": S3SlowDownError,
    "PreconditionFailed": S3PreconditionFailedError,
    # Not transient here: only the caller knows whether the write can be sent again.
    "ConditionalRequestConflict": S3ConditionalConflictError,
}
_BY_STATUS: dict[int, type[S3Error]] = {
    304: S3PreconditionFailedError,
    400: S3InvalidRequestError,
    403: S3AccessDeniedError,
    404: S3NotFoundError,
    409: S3ConflictError,
    412: S3PreconditionFailedError,
    416: S3InvalidRequestError,
    429: S3SlowDownError,
}
_THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "BandwidthLimitExceeded",
    }
)
# BadDigest: the bytes were damaged on the way; the same bytes sent again will do.
_TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "BadDigest",
    }
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
# A HEAD reply has no body: name the error after the status, as the SDKs do.
_STATUS_CODES = {
    304: "NotModified",
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    412: "PreconditionFailed",
    416: "InvalidRange",
}


def response_error(
    response: HttpResponse, *, bucket: str | None = None, key: str | None = None
) -> S3Error:
    """The exception for an error reply (any status, body possibly empty)."""
    code, message = None, None
    request_id = response.headers.get("x-amz-request-id")
    if response.body.lstrip()[:1] == b"<":  # parse_xml skips the whitespace too
        try:
            document = parse_xml(response.body)
        except RemoteProtocolError:
            document = None
        if document is not None and document.tag == "Error":
            code = document.find_text("Code")
            message = document.find_text("Message")
            request_id = document.find_text("RequestId") or request_id
    status = response.status
    code = code or _STATUS_CODES.get(status)
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if cls is None:
        cls = S3ServerError if status >= 500 or status < 300 else S3ClientError
    return cls(
        message or f"HTTP {status}",
        status_code=status,
        error_code=code,
        request_id=request_id,
        bucket=bucket,
        key=key,
    )


def _is_error_document(body: bytes) -> bool:
    try:
        return parse_xml(body).tag == "Error"
    except RemoteProtocolError:
        return False


def error_from_response(
    response: HttpResponse,
    *,
    error_in_body: bool = False,
    bucket: str | None = None,
    key: str | None = None,
) -> S3Error | None:
    """The error a reply stands for, or ``None`` when it is a success.

    With ``error_in_body``, a 200 reply whose document is ``<Error>`` is an error.
    """
    if response.status >= 300:
        return response_error(response, bucket=bucket, key=key)
    if error_in_body and _is_error_document(response.body):
        error = response_error(response, bucket=bucket, key=key)
        if not isinstance(error, S3ServerError):
            error = S3ServerError(
                error.message,
                status_code=response.status,
                error_code=error.error_code,
                request_id=error.request_id,
                bucket=bucket,
                key=key,
            )
        return error
    return None


def is_throttle(error: S3Error) -> bool:
    return isinstance(error, S3SlowDownError) or error.error_code in _THROTTLE_CODES


def is_retryable(error: S3Error) -> bool:
    """True for errors the AWS SDKs retry in standard mode."""
    if isinstance(error, S3ConnectionError | S3TimeoutError):
        return True
    if is_throttle(error) or error.error_code in _TRANSIENT_CODES:
        return True
    if error.status_code in _TRANSIENT_STATUS:
        return True
    return isinstance(error, S3ServerError) and error.status_code == 200
