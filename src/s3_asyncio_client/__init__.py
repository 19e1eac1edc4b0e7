"""s3_asyncio_client: an asyncio S3 client for large, parallel, resumable, verified transfers."""

from .client import GetObjectResult, S3Client
from .config import RetryConfig, Timeouts, TransferConfig
from .exceptions import (
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
from .multipart import MultipartUpload, UploadResult
from .sync import Bucket, Client, Object, ObjectEntry, ObjectProps
from .sync_io import (
    CompleteResponse,
    ObjectReader,
    ObjectStream,
    ObjectWriter,
    PartWriter,
    SyncMultipartUpload,
)
from .transfer import TransferResult

__all__ = [
    "Bucket",
    "Client",
    "CompleteResponse",
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
    "S3ConflictError",
    "S3ConnectionError",
    "S3Error",
    "S3IntegrityError",
    "S3InvalidPartError",
    "S3InvalidRequestError",
    "S3NoSuchBucketError",
    "S3NoSuchKeyError",
    "S3NoSuchUploadError",
    "S3NotFoundError",
    "S3PreconditionFailedError",
    "S3ServerError",
    "S3SlowDownError",
    "S3TimeoutError",
    "SyncMultipartUpload",
    "Timeouts",
    "TransferConfig",
    "TransferResult",
    "UploadResult",
]
