"""s3_asyncio_client: an asyncio S3 client for large, parallel, resumable, verified transfers.

The names below load on first use (PEP 562): ``import s3_asyncio_client`` costs
almost nothing, and a program, the command line or the embedded server pays only for
the parts it touches (the async client, the sync facade, the HTTP stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import (
    S3AccessDeniedError,
    S3ClientError,
    S3ConditionalConflictError,
    S3ConflictError,
    S3ConnectionError,
    S3Error,
    S3IntegrityError,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3LengthError,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3NotFoundError,
    S3ObjectChangedError,
    S3PaginationError,
    S3PreconditionFailedError,
    S3ReplyTooLargeError,
    S3ServerError,
    S3SlowDownError,
    S3TimeoutError,
)
from .protocol.lazy import lazy_attributes as _lazy_attributes

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from .client import GetObjectResult, MultipartUpload, S3Client, TransferResult, UploadResult
    from .config import ConnectionConfig, ConnectionOptions, RetryConfig, Timeouts, TransferConfig
    from .sync import (
        Bucket,
        Client,
        CompleteResponse,
        Object,
        ObjectEntry,
        ObjectProps,
        ObjectReader,
        ObjectStream,
        ObjectWriter,
        PartWriter,
        SyncMultipartUpload,
    )

# Lazy name -> the subpackage that defines it (relative to this package).
_LAZY = {
    **dict.fromkeys(
        ["GetObjectResult", "MultipartUpload", "S3Client", "TransferResult", "UploadResult"],
        ".client",
    ),
    **dict.fromkeys(
        ["ConnectionConfig", "ConnectionOptions", "RetryConfig", "Timeouts", "TransferConfig"],
        ".config",
    ),
    **dict.fromkeys(
        [
            "Bucket",
            "Client",
            "CompleteResponse",
            "Object",
            "ObjectEntry",
            "ObjectProps",
            "ObjectReader",
            "ObjectStream",
            "ObjectWriter",
            "PartWriter",
            "SyncMultipartUpload",
        ],
        ".sync",
    ),
}


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


del TYPE_CHECKING  # a typing helper, not part of the API


__all__ = [
    "Bucket",
    "Client",
    "CompleteResponse",
    "ConnectionConfig",
    "ConnectionOptions",
    "GetObjectResult",
    "MultipartUpload",
    "Object",
    "ObjectEntry",
    "ObjectProps",
    "ObjectReader",
    "ObjectStream",
    "ObjectWriter",
    "PartWriter",
    "RetryConfig",
    "S3AccessDeniedError",
    "S3Client",
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
    "SyncMultipartUpload",
    "Timeouts",
    "TransferConfig",
    "TransferResult",
    "UploadResult",
]
