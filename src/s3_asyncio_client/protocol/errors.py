"""S3 error replies -> the exception tree, and which errors are worth retrying.

Retry rules follow the AWS SDKs' standard mode: 500/502/503/504, throttling codes
(SlowDown, 429), RequestTimeout and the 200-with-<Error> reply are transient; every
other 4xx is not. Connection resets and timeouts are retried by the transport.
"""

from __future__ import annotations

from ..exceptions import (
    S3AccessDeniedError,
    S3ClientError,
    S3ConflictError,
    S3ConnectionError,
    S3Error,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3NotFoundError,
    S3PreconditionFailedError,
    S3ServerError,
    S3SlowDownError,
    S3TimeoutError,
)
from .documents import parse_xml
from .http import HttpResponse

__all__ = ["error_from_response", "is_retryable", "is_throttle", "response_error"]

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
        except S3ServerError:
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
    except S3ServerError:
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
