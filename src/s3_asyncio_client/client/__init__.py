"""The asyncio client: ``S3Client`` (every operation), ``MultipartUpload`` (one
multipart upload) and the paginators behind the listings (``listing``).

This package's ``__all__`` is the public async API the sync facade and the CLI are
built on: the client, the types its operations take and return, and the checks it
makes on names (each raises S3InvalidRequestError naming the value), for callers
that want them before the first request, and the comparison of a file or an object
with an object's stored checksum, without downloading it (``compare_file``,
``compare_objects``).
"""

from ..engine.compare import Comparison, compare_file, compare_objects
from ..engine.upload import TransferResult
from ..protocol.http import Body
from ..protocol.preconditions import WriteConditions
from ..protocol.responses import ListObjectsPage, ObjectInfo, ObjectSummary, PartInfo, PutResult
from ..transport import StreamingResponse
from .capabilities import EndpointCapabilities
from .checks import check_bucket, check_conditions, check_key, check_part_number
from .multipart import MultipartUpload, UploadResult
from .presigned import PresignedPart, PresignedRequest, PresignedUpload
from .s3client import Checksum, GetObjectResult, S3Client

__all__ = [
    "Body",
    "Checksum",
    "Comparison",
    "EndpointCapabilities",
    "GetObjectResult",
    "ListObjectsPage",
    "MultipartUpload",
    "ObjectInfo",
    "ObjectSummary",
    "PartInfo",
    "PresignedPart",
    "PresignedRequest",
    "PresignedUpload",
    "PutResult",
    "S3Client",
    "StreamingResponse",
    "TransferResult",
    "UploadResult",
    "WriteConditions",
    "check_bucket",
    "check_conditions",
    "check_key",
    "check_part_number",
    "compare_file",
    "compare_objects",
]
