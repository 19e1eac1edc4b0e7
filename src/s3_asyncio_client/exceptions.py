"""Every error this library raises, split by where the fault lies.

    S3Error                              anything that went wrong talking to S3
    ├── S3ClientError                    the request was wrong (4xx, or refused locally)
    │   ├── S3InvalidRequestError        bad argument or 400 (also a ValueError)
    │   │   └── S3InvalidPartError       InvalidPart, InvalidPartOrder, EntityTooSmall
    │   ├── S3AccessDeniedError          403: AccessDenied, SignatureDoesNotMatch, ...
    │   ├── S3NotFoundError              404 (also a LookupError)
    │   │   ├── S3NoSuchBucketError
    │   │   ├── S3NoSuchKeyError
    │   │   └── S3NoSuchUploadError
    │   ├── S3ConflictError              409: BucketNotEmpty, BucketAlreadyExists, ...
    │   │   └── S3ConditionalConflictError   409 ConditionalRequestConflict
    │   └── S3PreconditionFailedError    412 / 304 on a conditional request
    ├── S3ServerError                    5xx, or a 200 reply whose body is <Error>
    │   ├── S3SlowDownError              503 SlowDown: throttled
    │   ├── S3PaginationError            a listing's next-page token repeated, or missing
    │   └── S3ReplyTooLargeError         a reply body over what the client reads into memory
    ├── S3ConnectionError                connection refused/reset (also a ConnectionError)
    ├── S3TimeoutError                   connect or read timed out (also a TimeoutError)
    └── S3IntegrityError                 data arrived or was stored wrong (checksum, size)
        ├── S3LengthError                a length missing, malformed or untrue
        └── S3ObjectChangedError         a reply from another version of the object

Errors carry fields, not just text: ``status_code``, ``error_code``, ``request_id``,
``bucket`` and ``key``. They pickle, and never contain a secret key or a signature.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "S3AccessDeniedError",
    "S3ClientError",
    "S3ConditionalConflictError",
    "S3ConflictError",
    "S3ConnectionError",
    "S3Error",
    "S3IntegrityError",
    "S3InvalidPartError",
    "S3InvalidRequestError",
    "S3LengthError",
    "S3NoSuchBucketError",
    "S3NoSuchKeyError",
    "S3NoSuchUploadError",
    "S3NotFoundError",
    "S3ObjectChangedError",
    "S3PaginationError",
    "S3PreconditionFailedError",
    "S3ReplyTooLargeError",
    "S3ServerError",
    "S3SlowDownError",
    "S3TimeoutError",
]


class S3Error(Exception):
    """Base of every error raised by s3_asyncio_client."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.request_id = request_id
        self.bucket = bucket
        self.key = key

    def _fields(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "error_code": self.error_code,
            "request_id": self.request_id,
            "bucket": self.bucket,
            "key": self.key,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._fields()))

    def __str__(self) -> str:
        head = self.message
        if self.error_code or self.status_code is not None:
            code = " ".join(
                str(part) for part in (self.error_code, self.status_code) if part is not None
            )
            head = f"{code}: {head}"
        where = [
            f"{name}={value!r}"
            for name, value in (("bucket", self.bucket), ("key", self.key))
            if value is not None
        ]
        if self.request_id:
            where.append(f"request_id={self.request_id}")
        return f"{head} ({', '.join(where)})" if where else head

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


def _rebuild(cls: type[S3Error], message: str, fields: dict[str, Any]) -> S3Error:
    return cls(message, **fields)


class S3ClientError(S3Error):
    """The request was wrong: a 4xx reply, or refused before anything was sent."""


class S3InvalidRequestError(S3ClientError, ValueError):
    """A bad argument (refused locally) or a 400 reply."""


class S3InvalidPartError(S3InvalidRequestError):
    """The parts of a multipart upload cannot be completed as given."""


class S3AccessDeniedError(S3ClientError, PermissionError):
    """403: missing rights, a wrong secret key, an expired presigned URL."""


class S3NotFoundError(S3ClientError, LookupError):
    """404: the bucket, key or upload does not exist."""


class S3NoSuchBucketError(S3NotFoundError):
    """The bucket does not exist."""


class S3NoSuchKeyError(S3NotFoundError):
    """The key does not exist in the bucket."""


class S3NoSuchUploadError(S3NotFoundError):
    """The multipart upload does not exist: aborted, completed or never created."""


class S3ConflictError(S3ClientError):
    """409: the bucket is not empty, already exists, or a concurrent write won."""


class S3ConditionalConflictError(S3ConflictError):
    """409 ConditionalRequestConflict: a conditional write (If-None-Match, If-Match)
    met a concurrent write of the same key. A PUT or copy is sent again (as S3
    advises) before this is raised; a multipart upload must be started over."""


class S3PreconditionFailedError(S3ClientError):
    """A conditional request (If-Match, If-None-Match, ...) did not hold: on a write,
    the key exists (If-None-Match: *) or has another ETag (If-Match)."""


class S3ServerError(S3Error):
    """The server failed: a 5xx reply, or a 200 reply whose body is an <Error>."""


class S3SlowDownError(S3ServerError):
    """The server asks us to slow down (503 SlowDown, 429)."""


class S3PaginationError(S3ServerError):
    """A listing cannot go on: the server sent a next-page token or marker it had sent
    before (following it would list the same pages forever), or said the listing is
    truncated and sent none. ``token`` is the repeated one (None if missing)."""

    def __init__(self, message: str, *, token: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.token = token

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "token": self.token}


class S3ReplyTooLargeError(S3ServerError):
    """A reply body (XML or an error) longer than the client reads into memory:
    ``limit`` bytes for that kind of reply, to ``operation`` (e.g. ListObjectsV2).
    A misbehaving server or proxy; not retried."""

    def __init__(
        self, message: str, *, limit: int | None = None, operation: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message, **fields)
        self.limit = limit
        self.operation = operation

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "limit": self.limit, "operation": self.operation}


class S3ConnectionError(S3Error, ConnectionError):
    """The connection could not be made, or broke mid-request."""


class S3TimeoutError(S3Error, TimeoutError):
    """Connecting or reading took longer than the configured timeout."""


class S3IntegrityError(S3Error):
    """Data did not match its checksum, ETag or expected size."""


class _ReplyValueError(S3IntegrityError):
    """An integrity error about one value the server sent, kept in ``value``."""

    def __init__(self, message: str, *, value: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.value = value

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "value": self.value}


class S3LengthError(_ReplyValueError):
    """A reply's length (Content-Length, Content-Range, a listed Size) is missing,
    malformed, or disagrees with the bytes, the range asked for or the object's size;
    ``value`` is what the server sent (None where it sent nothing)."""


class S3ObjectChangedError(_ReplyValueError):
    """A reply came from another version of the object than the one pinned (a server
    that ignored If-Match); ``value`` is the ETag it carried."""
