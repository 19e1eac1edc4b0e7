"""Error replies -> exceptions, the retry table, and the exceptions' own contract."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from s3_asyncio_client.credentials import resolve_settings
from s3_asyncio_client.exceptions import (
    S3AccessDeniedError,
    S3ClientError,
    S3ConflictError,
    S3ConnectionError,
    S3Error,
    S3IntegrityError,
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
from s3_asyncio_client.protocol.http import HttpResponse
from s3_asyncio_client.protocol.signing import Credentials
from s3_asyncio_client.transport.errors import (
    error_from_response,
    is_retryable,
    is_throttle,
    response_error,
)

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FQoGZXIvYXdzEBYaDSECRETSESSIONTOKEN"


def _error_body(code: str, message: str = "msg", request_id: str | None = "BODYREQID") -> bytes:
    rid = f"<RequestId>{request_id}</RequestId>" if request_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>/bucket/key</Resource>{rid}<HostId>host-id</HostId></Error>"
    ).encode()


def _reply(status: int, body: bytes = b"", request_id: str = "HDRREQID") -> HttpResponse:
    return HttpResponse(status, {"x-amz-request-id": request_id}, body)


# --- the 404 family ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("NoSuchBucket", S3NoSuchBucketError),
        ("NoSuchKey", S3NoSuchKeyError),
        ("NoSuchUpload", S3NoSuchUploadError),
    ],
)
def test_not_found_codes_map_to_distinct_classes(code: str, cls: type[S3Error]) -> None:
    reply = _reply(
        404, _error_body(code, "The resource you requested does not exist", "4442587FB7D0A2F9")
    )
    error = error_from_response(reply, bucket="mybucket", key="photos/a b.jpg")
    assert type(error) is cls
    assert isinstance(error, S3NotFoundError)
    assert isinstance(error, LookupError)
    assert (
        error.message,
        error.status_code,
        error.error_code,
        error.request_id,
        error.bucket,
        error.key,
    ) == (
        "The resource you requested does not exist",
        404,
        code,
        "4442587FB7D0A2F9",
        "mybucket",
        "photos/a b.jpg",
    )
    assert str(error) == (
        f"{code} 404: The resource you requested does not exist "
        "(bucket='mybucket', key='photos/a b.jpg', request_id=4442587FB7D0A2F9)"
    )
    assert not is_retryable(error)


def test_head_404_with_empty_body() -> None:
    error = error_from_response(_reply(404), bucket="b", key="k")
    assert type(error) is S3NotFoundError
    assert (error.message, error.error_code, error.status_code, error.request_id) == (
        "HTTP 404",
        "NotFound",
        404,
        "HDRREQID",
    )
    assert (error.bucket, error.key) == ("b", "k")


def test_request_id_falls_back_to_the_header() -> None:
    error = response_error(_reply(404, _error_body("NoSuchKey", request_id=None)))
    assert error.request_id == "HDRREQID"
    assert response_error(HttpResponse(404)).request_id is None


# --- the status / code table -----------------------------------------------------------------

TABLE = [
    # status, code (None = empty body), class, error_code seen, retryable, throttle
    (400, "InvalidArgument", S3InvalidRequestError, "InvalidArgument", False, False),
    (400, "MalformedXML", S3InvalidRequestError, "MalformedXML", False, False),
    (400, "InvalidPart", S3InvalidPartError, "InvalidPart", False, False),
    (400, "InvalidPartOrder", S3InvalidPartError, "InvalidPartOrder", False, False),
    (400, "EntityTooSmall", S3InvalidPartError, "EntityTooSmall", False, False),
    (400, "RequestTimeout", S3InvalidRequestError, "RequestTimeout", True, False),
    (400, None, S3InvalidRequestError, "BadRequest", False, False),
    (403, "AccessDenied", S3AccessDeniedError, "AccessDenied", False, False),
    (403, "SignatureDoesNotMatch", S3AccessDeniedError, "SignatureDoesNotMatch", False, False),
    (403, "InvalidAccessKeyId", S3AccessDeniedError, "InvalidAccessKeyId", False, False),
    (403, "RequestTimeTooSkewed", S3AccessDeniedError, "RequestTimeTooSkewed", False, False),
    (400, "ExpiredToken", S3AccessDeniedError, "ExpiredToken", False, False),
    (403, "AllAccessDisabled", S3AccessDeniedError, "AllAccessDisabled", False, False),
    (403, None, S3AccessDeniedError, "Forbidden", False, False),
    (404, None, S3NotFoundError, "NotFound", False, False),
    (405, "MethodNotAllowed", S3ClientError, "MethodNotAllowed", False, False),
    (409, "BucketNotEmpty", S3ConflictError, "BucketNotEmpty", False, False),
    (409, "BucketAlreadyExists", S3ConflictError, "BucketAlreadyExists", False, False),
    (409, "BucketAlreadyOwnedByYou", S3ConflictError, "BucketAlreadyOwnedByYou", False, False),
    (409, "OperationAborted", S3ConflictError, "OperationAborted", False, False),
    (304, None, S3PreconditionFailedError, "NotModified", False, False),
    (412, "PreconditionFailed", S3PreconditionFailedError, "PreconditionFailed", False, False),
    (412, None, S3PreconditionFailedError, "PreconditionFailed", False, False),
    (416, "InvalidRange", S3InvalidRequestError, "InvalidRange", False, False),
    (416, None, S3InvalidRequestError, "InvalidRange", False, False),
    (429, None, S3SlowDownError, None, True, True),
    (500, "InternalError", S3ServerError, "InternalError", True, False),
    (500, None, S3ServerError, None, True, False),
    (501, "NotImplemented", S3ServerError, "NotImplemented", False, False),
    (502, None, S3ServerError, None, True, False),
    (503, "SlowDown", S3SlowDownError, "SlowDown", True, True),
    (503, "ServiceUnavailable", S3ServerError, "ServiceUnavailable", True, False),
    (504, None, S3ServerError, None, True, False),
]


@pytest.mark.parametrize(
    ("status", "code", "cls", "error_code", "retryable", "throttle"),
    TABLE,
    ids=[f"{row[0]}-{row[1]}" for row in TABLE],
)
def test_status_and_code_table(
    status: int,
    code: str | None,
    cls: type[S3Error],
    error_code: str | None,
    retryable: bool,
    throttle: bool,
) -> None:
    body = _error_body(code) if code else b""
    error = error_from_response(_reply(status, body))
    assert type(error) is cls
    assert error.status_code == status
    assert error.error_code == error_code
    assert error.message == ("msg" if code else f"HTTP {status}")
    assert is_retryable(error) is retryable
    assert is_throttle(error) is throttle


@pytest.mark.parametrize("status", [400, 403, 404, 409, 412, 416])
def test_no_retry_on_client_errors(status: int) -> None:
    for code in ("SomeCode", None):
        error = response_error(_reply(status, _error_body(code) if code else b""))
        assert not is_retryable(error), (status, code)
        assert isinstance(error, S3ClientError)


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException", "RequestLimitExceeded"])
def test_throttle_codes_are_throttles_whatever_the_status(code: str) -> None:
    error = response_error(_reply(400, _error_body(code)))
    assert is_throttle(error)
    assert is_retryable(error)


def test_success_is_not_an_error() -> None:
    assert error_from_response(_reply(200, b"<CopyObjectResult/>")) is None
    assert error_from_response(_reply(204)) is None
    assert error_from_response(_reply(206, b"bytes")) is None


# --- 200 with <Error> ------------------------------------------------------------------------

ERROR_200 = _error_body("InternalError", "We encountered an internal error.")


@pytest.mark.parametrize("padding", [b"", b"\n \n\r\n   "])
def test_200_with_error_body_is_a_retryable_server_error_when_asked(padding: bytes) -> None:
    body = padding + ERROR_200[ERROR_200.index(b"<Error>") :] if padding else ERROR_200
    error = error_from_response(_reply(200, body), error_in_body=True, bucket="b", key="k")
    assert type(error) is S3ServerError
    assert (error.status_code, error.error_code, error.message, error.request_id) == (
        200,
        "InternalError",
        "We encountered an internal error.",
        "BODYREQID",
    )
    assert (error.bucket, error.key) == ("b", "k")
    assert is_retryable(error)


def test_200_with_error_body_is_success_unless_asked() -> None:
    assert error_from_response(_reply(200, ERROR_200)) is None
    assert error_from_response(_reply(200, ERROR_200), error_in_body=False) is None


def test_200_with_a_client_error_code_in_the_body_is_still_a_server_error() -> None:
    body = _error_body("NoSuchUpload", "The upload does not exist")
    error = error_from_response(_reply(200, body), error_in_body=True)
    assert type(error) is S3ServerError
    assert error.error_code == "NoSuchUpload"
    assert is_retryable(error)


def test_200_with_slowdown_in_the_body_stays_a_throttle() -> None:
    error = error_from_response(_reply(200, _error_body("SlowDown")), error_in_body=True)
    assert type(error) is S3SlowDownError
    assert is_throttle(error)


def test_200_success_document_with_error_in_body_flag_is_success() -> None:
    body = b'<CompleteMultipartUploadResult><ETag>"e-2"</ETag></CompleteMultipartUploadResult>'
    assert error_from_response(_reply(200, body), error_in_body=True) is None


def test_200_with_namespaced_error_body_is_detected() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>InternalError</Code>'
        b"<Message>We encountered an internal error.</Message></Error>"
    )
    error = error_from_response(_reply(200, body), error_in_body=True)
    assert isinstance(error, S3ServerError)


def test_200_with_error_after_long_keepalive_is_detected() -> None:
    body = b" " * 5000 + _error_body("InternalError")
    assert isinstance(error_from_response(_reply(200, body), error_in_body=True), S3ServerError)


def test_200_with_error_after_keepalive_keeps_code_and_message() -> None:
    body = b"\n\r\n  " + _error_body("InternalError", "We encountered an internal error.")
    error = error_from_response(_reply(200, body), error_in_body=True)
    assert error is not None
    assert (error.error_code, error.message) == (
        "InternalError",
        "We encountered an internal error.",
    )


# --- malformed bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (500, b"<Error><Code>Internal", S3ServerError, None),
        (503, b"<html><body>503 Service Unavailable</body></html>", S3ServerError, None),
        (404, b"<html><body>Not Found</body></html>", S3NotFoundError, "NotFound"),
        (403, b"<Error><Code>AccessDenied</Code>", S3AccessDeniedError, "Forbidden"),
        (400, b"not xml at all", S3InvalidRequestError, "BadRequest"),
        (400, b"<Other><Code>NoSuchKey</Code></Other>", S3InvalidRequestError, "BadRequest"),
    ],
)
def test_malformed_or_foreign_bodies_fall_back_to_the_status(
    status: int, body: bytes, cls: type[S3Error], code: str | None
) -> None:
    error = response_error(_reply(status, body))
    assert type(error) is cls
    assert (error.error_code, error.message, error.request_id) == (
        code,
        f"HTTP {status}",
        "HDRREQID",
    )


def test_doctype_in_an_error_body_is_not_parsed() -> None:
    body = b'<!DOCTYPE e [<!ENTITY x "NoSuchKey">]><Error><Code>&x;</Code></Error>'
    error = response_error(_reply(404, body))
    assert type(error) is S3NotFoundError
    assert error.error_code == "NotFound"


# --- transport-level errors ---------------------------------------------------------------


def test_connection_and_timeout_errors_are_retryable() -> None:
    assert is_retryable(S3ConnectionError("connection reset by peer"))
    assert is_retryable(S3TimeoutError("read timed out"))
    assert not is_throttle(S3TimeoutError("read timed out"))
    assert not is_retryable(S3IntegrityError("crc32c mismatch"))
    assert not is_retryable(S3InvalidRequestError("bad argument"))
    assert not is_retryable(S3ServerError("malformed XML reply"))


def test_builtin_bases() -> None:
    assert issubclass(S3InvalidRequestError, ValueError)
    assert issubclass(S3AccessDeniedError, PermissionError)
    assert issubclass(S3NotFoundError, LookupError)
    assert issubclass(S3ConnectionError, ConnectionError)
    assert issubclass(S3TimeoutError, TimeoutError)
    assert issubclass(S3SlowDownError, S3ServerError)
    assert issubclass(S3InvalidPartError, S3InvalidRequestError)


# --- pickling and secrets ---------------------------------------------------------------------

ALL_CLASSES = [
    S3Error,
    S3ClientError,
    S3InvalidRequestError,
    S3InvalidPartError,
    S3AccessDeniedError,
    S3NotFoundError,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3ConflictError,
    S3PreconditionFailedError,
    S3ServerError,
    S3SlowDownError,
    S3ConnectionError,
    S3TimeoutError,
    S3IntegrityError,
]


def _fields(error: S3Error) -> tuple[object, ...]:
    return (
        type(error),
        error.message,
        error.status_code,
        error.error_code,
        error.request_id,
        error.bucket,
        error.key,
        error.args,
        str(error),
        repr(error),
    )


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_exceptions_pickle_with_every_field(cls: type[S3Error]) -> None:
    error = cls(
        "something failed",
        status_code=418,
        error_code="Teapot",
        request_id="REQ123",
        bucket="my-bucket",
        key="dir/ключ",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert _fields(copy) == _fields(error)
    assert _fields(copy)[1:7] == (
        "something failed",
        418,
        "Teapot",
        "REQ123",
        "my-bucket",
        "dir/ключ",
    )


def test_exception_without_fields_pickles() -> None:
    error = S3IntegrityError("size mismatch")
    copy = pickle.loads(pickle.dumps(error))
    assert _fields(copy) == _fields(error)
    assert str(copy) == "size mismatch"
    assert repr(copy) == "S3IntegrityError('size mismatch')"


def test_parsed_error_pickles() -> None:
    error = error_from_response(_reply(404, _error_body("NoSuchKey")), bucket="b", key="k")
    assert error is not None
    assert _fields(pickle.loads(pickle.dumps(error))) == _fields(error)


def _assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args), pickle.dumps(error).decode("latin-1")):
        assert SECRET_KEY not in text
        assert SESSION_TOKEN not in text


def test_signature_mismatch_reply_does_not_leak_into_the_exception() -> None:
    signature = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    body = (
        "<Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method.</Message>"
        f"<AWSAccessKeyId>{ACCESS_KEY}</AWSAccessKeyId>"
        "<StringToSign>AWS4-HMAC-SHA256\n20130524T000000Z\n...</StringToSign>"
        f"<SignatureProvided>{signature}</SignatureProvided>"
        "<CanonicalRequest>GET\n/\n\nhost:s3.amazonaws.com\n</CanonicalRequest>"
        "<RequestId>R1</RequestId></Error>"
    ).encode()
    error = response_error(_reply(403, body), bucket="b", key="k")
    assert type(error) is S3AccessDeniedError
    _assert_no_secret(error)
    assert signature not in str(error)
    assert signature not in repr(error)


def test_credential_errors_do_not_repeat_the_secret(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path)}
    with pytest.raises(S3InvalidRequestError) as caught:
        resolve_settings(secret_key=SECRET_KEY, session_token=SESSION_TOKEN, environ=environ)
    assert "secret_key" in str(caught.value)
    _assert_no_secret(caught.value)


def test_credentials_repr_hides_secret_and_token() -> None:
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
    for text in (repr(credentials), str(credentials), f"{credentials}"):
        assert ACCESS_KEY in text
        assert SECRET_KEY not in text
        assert SESSION_TOKEN not in text
    error = S3AccessDeniedError(f"refused for {credentials!r}", status_code=403)
    _assert_no_secret(error)
