"""The errors the server answers with: an S3 code, its HTTP status, and a message.

Handlers raise ``S3Fault``; the app renders it as S3's error document
(``<Error><Code/><Message/><Resource/><RequestId/></Error>``, no namespace), with any
extra fields S3 adds for that code (``ServerTime`` for skew, ``StringToSign`` for a
bad signature, ...). HEAD replies carry the status only.

A request the protocol layer refuses (its neutral ``ProtocolError``) is answered once,
here (``protocol_fault``): with the S3 code the error names, in S3's wording for it.

An error document must parse with any XML 1.0 parser (clients read the code from it),
so an extra field XML cannot carry (a key holding U+0001, say) is left out: the
``Resource``, the raw request path, still names the key exactly.
"""

from __future__ import annotations

from ..protocol.documents import representable
from ..protocol.errors import ProtocolError

__all__ = ["STATUS", "S3Fault", "protocol_fault", "signature_mismatch", "storage_full"]

# Each code S3 documents, with the status S3 sends it with.
STATUS: dict[str, int] = {
    "AccessDenied": 403,
    "AccessForbidden": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BadRequest": 400,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IllegalLocationConstraintException": 400,
    "IncompleteBody": 400,
    "IncorrectNumberOfFilesInPostRequest": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidLocationConstraint": 400,
    "InvalidPart": 400,
    "InvalidPartNumber": 400,
    "InvalidPartOrder": 400,
    "InvalidPolicyDocument": 400,
    "InvalidRange": 416,
    "InvalidRequest": 400,
    "InvalidTag": 400,
    "InvalidToken": 400,
    "InvalidURI": 400,
    "KeyTooLongError": 400,
    "MalformedACLError": 400,
    "MalformedPOSTRequest": 400,
    "MalformedXML": 400,
    "MaxMessageLengthExceeded": 400,
    "MaxPostPreDataLengthExceededError": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "MissingRequestBodyError": 400,
    "MissingSecurityHeader": 400,
    "NoSuchBucket": 404,
    "NoSuchBucketPolicy": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchKey": 404,
    "NoSuchLifecycleConfiguration": 404,
    "NoSuchPublicAccessBlockConfiguration": 404,
    "NoSuchTagSet": 404,
    "NoSuchUpload": 404,
    "NoSuchWebsiteConfiguration": 404,
    "NotImplemented": 501,
    "NotModified": 304,
    "ObjectLockConfigurationNotFoundError": 404,
    "OwnershipControlsNotFoundError": 404,
    "PreconditionFailed": 412,
    "ReplicationConfigurationNotFoundError": 404,
    "RequestTimeTooSkewed": 403,
    "ServerSideEncryptionConfigurationNotFoundError": 404,
    "SignatureDoesNotMatch": 403,
    "UnexpectedContent": 400,
    "XAmzContentSHA256Mismatch": 400,
    # Not S3's (S3 never fills up) but MinIO's code for a full disk, which S3 tools
    # already meet. 507 rather than 500 or 503: the AWS SDKs and our client retry
    # those, and a full disk does not empty itself within a retry's backoff.
    "XMinioStorageFull": 507,
}


class S3Fault(Exception):
    """An S3 error reply. ``extra`` adds elements to the error document;
    ``headers`` adds reply headers (``Content-Range`` on 416, for instance);
    ``status`` is for the few codes S3 sends with more than one status."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status or STATUS[code]
        self.extra = {name: v for name, v in (extra or {}).items() if representable(v)}
        self.headers = headers or {}


def signature_mismatch(access_key: str, string_to_sign: str, provided: str, **more: str) -> S3Fault:
    """403 SignatureDoesNotMatch with what S3 shows to help debug it (never the secret)."""
    return S3Fault(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        extra={
            "AWSAccessKeyId": access_key,
            "StringToSign": string_to_sign,
            "SignatureProvided": provided,
            **more,
        },
    )


def storage_full() -> S3Fault:
    """The reply to a write the disk has no room for (ENOSPC, EDQUOT, SQLite's
    SQLITE_FULL); reads are still served, and writes work again once space is freed."""
    return S3Fault(
        "XMinioStorageFull",
        "The disk holding this server's data is full. Free some space, then retry.",
    )


# S3's own wording for the codes a protocol error may name; others keep its message.
_WORDING = {
    "MalformedXML": (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}


def protocol_fault(error: ProtocolError) -> S3Fault:
    """The reply to a request the protocol layer refused: the S3 code the error names
    (InvalidRequest when it names none)."""
    code = error.code if error.code in STATUS else "InvalidRequest"
    return S3Fault(code, _WORDING.get(code, error.message))
