"""The errors the server answers with: an S3 code, its HTTP status, and a message.

Handlers raise ``S3Fault``; the app renders it as S3's error document
(``<Error><Code/><Message/><Resource/><RequestId/></Error>``, no namespace), with any
extra fields S3 adds for that code (``ServerTime`` for skew, ``StringToSign`` for a
bad signature, ...). HEAD replies carry the status only.
"""

from __future__ import annotations

__all__ = ["STATUS", "S3Fault"]

# Each code S3 documents, with the status S3 sends it with.
STATUS: dict[str, int] = {
    "AccessDenied": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IncompleteBody": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidLocationConstraint": 400,
    "InvalidPart": 400,
    "InvalidPartNumber": 416,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidRequest": 400,
    "InvalidToken": 400,
    "InvalidURI": 400,
    "KeyTooLongError": 400,
    "MalformedXML": 400,
    "MaxMessageLengthExceeded": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "MissingSecurityHeader": 400,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NotImplemented": 501,
    "NotModified": 304,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "XAmzContentSHA256Mismatch": 400,
}


class S3Fault(Exception):
    """An S3 error reply. ``extra`` adds elements to the error document;
    ``headers`` adds reply headers (``Content-Range`` on 416, for instance)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = STATUS[code]
        self.extra = extra or {}
        self.headers = headers or {}
