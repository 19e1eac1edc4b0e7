"""S3Client: the asyncio API over buckets, objects and multipart uploads."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import IO, Any, Unpack

from ..config import (
    Checksum,
    ChecksumType,
    ConnectionConfig,
    ConnectionOptions,
    TransferConfig,
    choose_checksum,
)
from ..credentials import resolve_settings
from ..engine import copy, download, fanout, integrity, upload
from ..engine.ports import Data, UploadResult, check_data
from ..engine.upload import Progress, Source, TransferResult
from ..exceptions import S3ConflictError, S3NoSuchBucketError, S3NoSuchKeyError, S3NotFoundError
from ..protocol import requests as build
from ..protocol import responses as parse
from ..protocol.addressing import Endpoint
from ..protocol.checksums import default_algorithm
from ..protocol.http import Body, HttpRequest, HttpResponse
from ..protocol.lengths import parse_body_span
from ..protocol.limits import MIN_PART_SIZE, check_int
from ..protocol.preconditions import WriteConditions, write_conditions
from ..protocol.responses import (
    BucketInfo,
    CopyResult,
    DeleteObjectsResult,
    ListObjectsPage,
    ObjectInfo,
    ObjectSummary,
    PutResult,
    UploadInfo,
)
from ..transport import StreamingResponse, Transport
from ..transport.errors import protocol_edge, protocol_errors
from ..transport.file_region import BufferPool
from . import deleting, listing
from .capabilities import EndpointCapabilities
from .conditions import send_write
from .multipart import MultipartUpload, create_upload
from .presigned import Presigning

__all__ = ["Checksum", "GetObjectResult", "S3Client"]


class GetObjectResult(ObjectInfo):
    body: bytes


@protocol_edge  # the protocol layer's errors become S3Errors here
class S3Client(Presigning):
    """An asyncio S3 client. Use it as ``async with S3Client(...) as client:``.

    Connection settings: a ``ConnectionConfig`` as ``connection``, or its fields as
    keyword arguments (``endpoint_url=``, ``access_key=``, ``region=``, ...), which
    override it (the result is ``client.connection``); left out, they come from the
    environment and ``~/.aws`` (see ``s3_asyncio_client.credentials``).
    ``min_part_size`` is checked before a multipart upload is completed; set it to 0
    for servers that accept small parts. ``clock`` is the local time source; the
    skew a server reports (RequestTimeTooSkewed) is added.
    """

    def __init__(
        self,
        *,
        connection: ConnectionConfig | None = None,
        min_part_size: int = MIN_PART_SIZE,
        clock: Callable[[], float] = time.time,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        self.connection = config = (connection or ConnectionConfig()).with_options(**options)
        settings = resolve_settings(
            access_key=config.access_key,
            secret_key=config.secret_key,
            session_token=config.session_token,
            region=config.region,
            endpoint_url=config.endpoint_url,
            profile=config.profile,
        )
        check_int(min_part_size, "min_part_size", 0)
        self.endpoint = Endpoint(settings.endpoint_url, config.addressing)
        self.region = settings.region
        self.checksum = choose_checksum(default_algorithm(), config.checksum)
        self.checksum_type = config.checksum_type
        self.transport = Transport(
            endpoint=self.endpoint,
            credentials=settings.credentials,
            region=settings.region,
            retry=config.retry,
            timeouts=config.timeouts,
            max_connections=config.max_connections,
            payload_signing=config.payload_signing,
            clock=clock,
            redirect_policy=lambda headers: self.capabilities.follows_redirect(headers),
        )
        self.capabilities = EndpointCapabilities(
            min_part_size, self.transport.signs_payload, config.flavor, self.endpoint.url
        )

    def __repr__(self) -> str:
        credentials = self.transport.credentials
        who = credentials.access_key if credentials else "anonymous"
        return (
            f"S3Client(endpoint_url={self.endpoint.url!r}, region={self.region!r}, "
            f"access_key={who!r})"
        )

    async def __aenter__(self) -> S3Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.transport.close()

    @property
    def buffers(self) -> BufferPool:
        """The reusable buffers that parts of files are read through."""
        return self.transport.buffers

    async def _send(
        self,
        request: HttpRequest,
        bucket: str | None = None,
        key: str | None = None,
        *,
        on_sent: Callable[[int], None] | None = None,
    ) -> HttpResponse:
        return await self.transport.send(request, bucket=bucket, key=key, on_sent=on_sent)

    async def _call(
        self, builder: Callable[..., HttpRequest], bucket: str, *key: str, **options: Any
    ) -> HttpResponse:
        """Build (``builder(endpoint, bucket[, key], **options)``) and send one request."""
        request = builder(self.endpoint, bucket, *key, **options)
        return await self._send(request, bucket, key[0] if key else None)

    # Buckets

    async def list_buckets(self) -> list[BucketInfo]:
        return parse.parse_list_buckets(await self._send(build.build_list_buckets(self.endpoint)))

    async def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> None:
        """Create ``bucket`` in the client's region; with ``exist_ok``, an existing
        bucket that we can reach is fine."""
        try:
            await self._call(build.build_create_bucket, bucket, region=self.region)
        except S3ConflictError:
            if not exist_ok:
                raise
            await self.head_bucket(bucket)

    async def delete_bucket(self, bucket: str) -> None:
        await self._call(build.build_delete_bucket, bucket)

    async def head_bucket(self, bucket: str) -> dict[str, str]:
        """The bucket's region (when the server says); S3NoSuchBucketError if missing."""
        try:
            response = await self._call(build.build_head_bucket, bucket)
        except S3NotFoundError as exc:
            raise S3NoSuchBucketError(
                "the bucket does not exist",
                status_code=404,
                error_code="NoSuchBucket",
                request_id=exc.request_id,
                bucket=bucket,
            ) from exc
        region = response.headers.get("x-amz-bucket-region")
        return {"region": region} if region else {}

    # Objects

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        on_sent: Callable[[int], None] | None = None,
        checksum: Checksum = "auto",
        **conditions: Unpack[WriteConditions],
    ) -> PutResult:
        """Store ``data`` (up to 5 GiB) at ``key`` in one request; ``{"etag": ...}``. The
        server verifies its ``checksum`` (default: the client's); the reply is checked.
        ``if_none_match="*"``/``if_match=etag``: see protocol/preconditions.py."""
        headers = write_conditions(**conditions)
        check_data(data)
        algorithm = choose_checksum(self.checksum, checksum)
        request = build.build_put_object(
            self.endpoint,
            bucket,
            key,
            data,
            content_type=content_type,
            metadata=metadata,
            checksum=algorithm,
            content_md5=self.capabilities.checksums_ignored,
            digest_headers=await integrity.digest_headers(self, data, algorithm),
        )
        response = await send_write(
            self, request, bucket, key, headers, size=len(data), on_sent=on_sent
        )
        await integrity.verify_stored(self, request, response, key=key)
        return parse.parse_put_object(response)

    async def get_object(
        self, bucket: str, key: str, *, byte_range: tuple[int, int | None] | None = None
    ) -> GetObjectResult:
        """The whole object (or ``byte_range``, inclusive) in memory, with its info."""
        request = build.build_get_object(self.endpoint, bucket, key, byte_range=byte_range)
        # The body is the object the caller asked for: no limit on its size.
        response = await self.transport.send(request, bucket=bucket, key=key, reply_limit=None)
        info = parse.parse_get_object(response, byte_range, bucket=bucket, key=key)
        return {**info, "body": response.body}

    @asynccontextmanager
    async def open_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int | None] | None = None,
        if_match: str | None = None,
    ) -> AsyncIterator[StreamingResponse]:
        """Stream an object: ``async with client.open_object(b, k) as s: async for chunk in s``."""
        with protocol_errors():  # run on entry, past protocol_edge
            request = build.build_get_object(
                self.endpoint, bucket, key, byte_range=byte_range, if_match=if_match
            )
        async with self.transport.open(request, bucket=bucket, key=key) as stream:
            with protocol_errors():
                parse_body_span(stream.status, stream.headers, byte_range, bucket=bucket, key=key)
            yield stream

    async def head_object(
        self, bucket: str, key: str, *, part_number: int | None = None, checksum_mode: bool = False
    ) -> ObjectInfo:
        """Size, ETag, content type and metadata; S3NoSuchKeyError if missing.

        ``part_number``: of that part of a multipart object (its size in
        ``content_length``); ``checksum_mode``: with the checksums S3 keeps (on
        KMS-encrypted objects this needs kms:Decrypt).
        """
        try:
            response = await self._call(
                build.build_head_object,
                bucket,
                key,
                part_number=part_number,
                checksum_mode=checksum_mode,
            )
        except S3NotFoundError as exc:
            raise S3NoSuchKeyError(
                "the key does not exist",
                status_code=404,
                error_code="NoSuchKey",
                request_id=exc.request_id,
                bucket=bucket,
                key=key,
            ) from exc
        return parse.parse_head_object(
            response, part=part_number is not None, bucket=bucket, key=key
        )

    async def delete_object(self, bucket: str, key: str) -> None:
        """Delete ``key``; deleting a missing key succeeds, as on S3."""
        await self._call(build.build_delete_object, bucket, key)

    async def delete_objects(self, bucket: str, keys: deleting.Keys) -> DeleteObjectsResult:
        """Delete many keys, 1,000 per request; per-key failures are in ``errors``."""
        return await deleting.delete_objects(self, bucket, keys)

    def delete_keys(
        self, bucket: str, keys: deleting.Keys, *, concurrency: int = deleting.CONCURRENCY
    ) -> AsyncIterator[deleting.DeleteBatch]:
        """Delete any number of keys (an iterable, async too) in parallel batches with
        bounded memory: one ``DeleteBatch`` per request (see client/deleting.py)."""
        return deleting.delete_keys(self, bucket, keys, concurrency=concurrency)

    async def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> CopyResult:
        """Server-side copy (up to 5 GiB); new metadata replaces the source's; the
        destination's conditions as ``put_object``."""
        headers = write_conditions(**conditions)
        request = build.build_copy_object(
            self.endpoint,
            source_bucket,
            source_key,
            bucket,
            key,
            content_type=content_type,
            metadata=metadata,
        )
        return parse.parse_copy_object(await send_write(self, request, bucket, key, headers))

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> ListObjectsPage:
        """One page of ListObjectsV2."""
        response = await self._call(
            build.build_list_objects_v2,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            continuation_token=continuation_token,
            start_after=start_after,
        )
        return parse.parse_list_objects_v2(response)

    def iter_objects(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[ObjectSummary]:
        """Every object under ``prefix``, following continuation tokens."""
        return listing.iter_objects(
            self, bucket, prefix=prefix, start_after=start_after, page_size=page_size
        )

    def iter_object_pages(
        self, bucket: str, *, prefix: str | None = None, delimiter: str | None = None
    ) -> AsyncIterator[ListObjectsPage]:
        """Every page of ListObjectsV2 under ``prefix``: its objects and, with a
        ``delimiter``, its common prefixes; continuation tokens are followed."""
        return listing.iter_object_pages(self, bucket, prefix=prefix, delimiter=delimiter)

    # Multipart

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        checksum: Checksum = "auto",
        checksum_type: ChecksumType | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> MultipartUpload:
        """Start a multipart upload. Complete or abort it: parts of an upload left
        open are stored, and billed, until it is aborted. ``checksum`` and
        ``checksum_type`` default to the client's (``ConnectionConfig``); conditions
        are checked now (one HEAD) and sent with Complete."""
        headers = write_conditions(**conditions)
        return await create_upload(
            self, bucket, key, content_type, metadata, checksum, checksum_type, headers
        )

    def attach_multipart_upload(
        self, bucket: str, key: str, upload_id: str, *, checksum: Checksum = "auto"
    ) -> MultipartUpload:
        """A handle on the multipart upload ``upload_id`` in progress; sends nothing."""
        return MultipartUpload(self, bucket, key, upload_id, checksum=checksum)

    def iter_multipart_uploads(
        self, bucket: str, *, prefix: str | None = None
    ) -> AsyncIterator[UploadInfo]:
        """Every multipart upload in progress under ``prefix``."""
        return listing.iter_multipart_uploads(self, bucket, prefix=prefix)

    async def upload_file(
        self,
        bucket: str,
        key: str,
        source: Source,
        *,
        config: TransferConfig | None = None,
        progress: Progress | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        checksum: Checksum = "auto",
        checksum_type: ChecksumType | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> TransferResult:
        """Upload a file path, a binary file object or an async iterable of bytes;
        ``if_none_match``/``if_match`` as ``put_object`` (multipart: on Complete).

        Streams in bounded memory, parts in parallel, each verified by ``checksum``
        (of ``checksum_type``, as ``create_multipart_upload``); a file path interrupted
        (error, Ctrl-C, kill) resumes when called again. See ``TransferConfig`` for the
        memory it takes. ``progress(done, total)`` is called as bytes go out; ``done``
        may go down when a failed part is retried."""
        write_conditions(**conditions)  # refused before a byte is read
        return await upload.upload_file(
            self,
            bucket,
            key,
            source,
            config=config or TransferConfig(),
            progress=progress,
            content_type=content_type,
            metadata=metadata,
            checksum=checksum,
            checksum_type=checksum_type,
            conditions=conditions,
        )

    async def download_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        config: TransferConfig | None = None,
        progress: Progress | None = None,
    ) -> TransferResult:
        """Download to ``path``: parallel ranged GETs into a partial file beside it, renamed
        once complete and verified against the stored checksum (else S3IntegrityError);
        interrupted, the same call resumes (``skipped_bytes``; see ``TransferConfig``).
        A binary file object (stdout, a pipe) is written in order, no partial file,
        verified once written. On glibc this tunes malloc once (``engine.allocator``)."""
        return await download.download_file(
            self, bucket, key, path, config=config or TransferConfig(), progress=progress
        )

    async def copy_file(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        config: TransferConfig | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> TransferResult:
        """Server-side copy of any size: CopyObject up to 5 GiB, else parallel UploadPartCopy
        (through the client on AIStore, which has none); metadata and content type kept;
        the destination's conditions as ``put_object``."""
        config = config or TransferConfig()
        return await copy.copy_file(
            self, source_bucket, source_key, bucket, key, config=config, conditions=conditions
        )

    async def abort_stale_uploads(
        self, bucket: str, *, older_than: timedelta, prefix: str | None = None
    ) -> list[UploadInfo]:
        """Abort multipart uploads started more than ``older_than`` ago; returns them."""
        cutoff = self.transport.now() - older_than
        return await listing.abort_stale_uploads(self, bucket, cutoff=cutoff, prefix=prefix)

    async def upload_file_multipart(
        self,
        bucket: str,
        key: str,
        data: Body,
        *,
        part_size: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        max_concurrency: int = 8,
    ) -> UploadResult:
        """Upload in-memory ``data`` as a multipart upload, parts in parallel.

        Parts are memoryview slices of ``data`` (no copies). ``part_size`` defaults
        to 8 MiB and is raised when 10,000 parts would not hold ``data``. On failure
        the upload is aborted, so no parts are left behind.
        """
        return await fanout.upload_bytes(
            self,
            bucket,
            key,
            data,
            part_size=part_size,
            content_type=content_type,
            metadata=metadata,
            max_concurrency=max_concurrency,
        )
