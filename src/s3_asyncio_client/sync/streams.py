"""Object data for the sync facade (``fluent``): readers, writers, multipart uploads.

Like ``fluent``, this holds no protocol logic: every operation is one call of the
client's runner to the public async API (``S3Client``, ``MultipartUpload``).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from ..client import (
    Body,
    MultipartUpload,
    PartInfo,
    PutResult,
    S3Client,
    StreamingResponse,
    TransferResult,
    WriteConditions,
    check_part_number,
)
from ..exceptions import S3InvalidRequestError
from .readahead import READAHEAD, Readahead
from .runner import Runner

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from .fluent import Object

__all__ = [
    "CompleteResponse",
    "ObjectReader",
    "ObjectStream",
    "ObjectWriter",
    "PartWriter",
    "SyncMultipartUpload",
]


@dataclass(frozen=True, slots=True)
class CompleteResponse:
    """A completed multipart upload. ``status_code`` is 200, S3's reply to a
    completion that succeeded; a refused completion raises instead."""

    status_code: int
    etag: str
    bucket: str
    key: str
    parts_count: int
    size: int


class ObjectReader:
    """Reads an object (or a byte range): ``read_all()``, iteration, ``raw()``."""

    def __init__(
        self, obj: Object, byte_range: tuple[int, int | None] | None, chunk_size: int = 256 * 1024
    ) -> None:
        self.object = obj
        self.byte_range = byte_range
        self.chunk_size = chunk_size

    def read_all(self) -> bytes:
        """The whole object (or range) in memory."""
        obj = self.object
        result = obj._runner.call(
            S3Client.get_object, obj.bucket_name, obj.name, byte_range=self.byte_range
        )
        return result["body"]

    def raw(self) -> ObjectStream:
        """An open, file-like stream of the body; close it (or use ``with``)."""
        obj, runner = self.object, self.object._runner
        context = runner.open(
            lambda s3: s3.open_object(obj.bucket_name, obj.name, byte_range=self.byte_range)
        )
        return ObjectStream(runner, context)

    def __iter__(self) -> Iterator[bytes]:
        """The body in chunks of up to ``chunk_size`` bytes, streamed (read ahead on
        the loop, at most ``max(chunk_size, READAHEAD)`` bytes held)."""
        with self.raw() as stream:
            budget = max(self.chunk_size, READAHEAD)
            yield from Readahead(stream._runner, stream._stream, budget).chunks(self.chunk_size)


class ObjectStream(io.RawIOBase):
    """A file-like object over a streamed reply body (``read``, ``readinto``)."""

    def __init__(self, runner: Runner, context: AbstractContextManager[StreamingResponse]) -> None:
        super().__init__()
        self._runner = runner
        self._pid = os.getpid()
        self._context: AbstractContextManager[StreamingResponse] | None = None
        self._stream = context.__enter__()
        self._context = context
        self.status = self._stream.status
        self.headers = self._stream.headers

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed ObjectStream")
        if os.getpid() != self._pid:
            raise RuntimeError("a stream opened before os.fork() cannot be read after it")
        return self._runner.call(_read, self._stream, -1 if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        context, self._context = self._context, None
        try:
            if context is not None:
                context.__exit__(None, None, None)
        finally:
            super().close()


async def _read(_: S3Client, stream: StreamingResponse, size: int) -> bytes:
    """Up to ``size`` bytes of an open reply (-1: the rest); ``Runner.call`` passes
    the client first, which a read of an open reply does not need."""
    return await stream.read(size)


class ObjectWriter:
    """Writes an object whole: from bytes, or from a file through the transfer engine."""

    def __init__(self, obj: Object) -> None:
        self.object = obj

    def put_content(
        self,
        data: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> PutResult:
        """Store ``data`` in one request (up to 5 GiB); ``{"etag": ...}``; only if the
        key does not exist (``if_none_match="*"``) or has ETag ``if_match``."""
        obj = self.object
        return obj._runner.call(
            S3Client.put_object,
            obj.bucket_name,
            obj.name,
            data,
            content_type=content_type,
            metadata=metadata,
            **conditions,
        )

    def put_file(
        self, path: str | os.PathLike[str], **conditions: Unpack[WriteConditions]
    ) -> TransferResult:
        """Upload a file with ``S3Client.upload_file``: large files go multipart, in
        parallel, checksummed, resumable (see the client's ``transfer_config``); the
        conditions as ``put_content`` (multipart: checked on completion)."""
        obj = self.object
        config = obj.client.transfer_config
        return obj._runner.call(
            S3Client.upload_file, obj.bucket_name, obj.name, path, config=config, **conditions
        )


class SyncMultipartUpload:
    """A multipart upload: ``create()``, ``add_part(n).put_content(data)`` from any
    threads, then ``complete()`` (or ``abort()``).

    ``parts`` lists part numbers in the order they were added, each recorded once
    the server has stored it (so parts sent from several threads at once appear in
    the order they finished); sending a number again keeps its place. ``complete()``
    assembles the parts by part number, with the ETags the server returned. An
    upload neither completed nor aborted keeps its parts stored, and billed, on the
    server.
    """

    def __init__(self, obj: Object) -> None:
        self.object = obj
        self._upload: MultipartUpload | None = None
        self._order: list[int] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SyncMultipartUpload({self.object!r}, upload_id={self.upload_id!r})"

    @property
    def upload_id(self) -> str | None:
        """The server's id for the upload; None before ``create()``."""
        return self._upload.upload_id if self._upload is not None else None

    @property
    def parts(self) -> list[int]:
        """Part numbers stored so far, in the order they were added (see above)."""
        with self._lock:
            return list(self._order)

    def create(
        self, *, content_type: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> SyncMultipartUpload:
        """Start the upload on the server; returns this handle."""
        obj = self.object
        with self._lock:
            if self._upload is not None:
                raise S3InvalidRequestError(
                    f"the upload was already created (upload id {self._upload.upload_id!r})",
                    bucket=obj.bucket_name,
                    key=obj.name,
                )
            self._upload = obj._runner.call(
                S3Client.create_multipart_upload,
                obj.bucket_name,
                obj.name,
                content_type=content_type,
                metadata=metadata,
            )
        return self

    def _started(self, action: str) -> None:
        if self._upload is None:
            raise S3InvalidRequestError(
                f"{action} before create(): start the upload with multipart_upload().create()",
                bucket=self.object.bucket_name,
                key=self.object.name,
            )

    def _handle(self, s3: S3Client) -> MultipartUpload:
        """The async upload, bound to ``s3``, this process's client (loop thread only)."""
        upload = self._upload
        assert upload is not None
        if upload.client is not s3:  # forked: re-attach with the child's client
            fresh = MultipartUpload(
                s3, upload.bucket, upload.key, upload.upload_id, checksum=upload.checksum
            )
            fresh.parts = upload.parts
            self._upload = upload = fresh
        return upload

    def add_part(self, part_number: int) -> PartWriter:
        """A writer for part ``part_number`` (1..10,000)."""
        self._started(f"add_part({part_number!r})")
        return PartWriter(self, check_part_number(part_number))

    def _put_part(self, part_number: int, data: Body) -> PartInfo:
        async def send(s3: S3Client) -> PartInfo:
            return await self._handle(s3).upload_part(part_number, data)

        part = self.object._runner.call(send)
        with self._lock:
            if part_number not in self._order:
                self._order.append(part_number)
        return part

    def complete(self, **conditions: Unpack[WriteConditions]) -> CompleteResponse:
        """Assemble the stored parts, in part-number order, into the object; only if
        the key does not exist (``if_none_match="*"``) or has ETag ``if_match``."""
        self._started("complete()")

        async def complete(s3: S3Client) -> CompleteResponse:
            result = await self._handle(s3).complete(**conditions)
            return CompleteResponse(
                status_code=200,
                etag=result["etag"],
                bucket=self.object.bucket_name,
                key=self.object.name,
                parts_count=result["parts_count"],
                size=result["size"],
            )

        return self.object._runner.call(complete)

    def abort(self) -> None:
        """Abort the upload; the server deletes its parts."""
        self._started("abort()")

        async def abort(s3: S3Client) -> None:
            await self._handle(s3).abort()

        self.object._runner.call(abort)


class PartWriter:
    """Uploads one part of a multipart upload (again: the new data replaces it)."""

    def __init__(self, upload: SyncMultipartUpload, part_number: int) -> None:
        self.upload = upload
        self.part_number = part_number

    def __repr__(self) -> str:
        return f"PartWriter(part_number={self.part_number})"

    def put_content(self, data: Body) -> PartInfo:
        """Upload ``data`` as the part; ``{"part_number", "etag", "size"}``."""
        return self.upload._put_part(self.part_number, data)

    def put_file(self, path: str | os.PathLike[str]) -> PartInfo:
        """Upload the whole file at ``path`` as the part (read into memory first)."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise S3InvalidRequestError(f"cannot read {str(path)!r}: {exc.strerror}") from None
        return self.put_content(data)
