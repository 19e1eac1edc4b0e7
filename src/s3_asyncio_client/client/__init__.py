"""The asyncio client: ``S3Client`` (every operation), ``MultipartUpload`` (one
multipart upload) and the paginators behind the listings (``listing``)."""

from .multipart import MultipartUpload, UploadResult
from .s3client import Checksum, GetObjectResult, S3Client

__all__ = ["Checksum", "GetObjectResult", "MultipartUpload", "S3Client", "UploadResult"]
