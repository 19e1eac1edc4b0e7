"""What the transfer engine needs of an S3 client: the few operations it calls.

The engine (upload, download, copy, resume, integrity) takes any object with these
operations, as s3transfer takes a client: ``S3Client`` is one, the in-memory store
of the engine's tests another. The engine never reaches past them into a transport.

Rules:
1. ``ObjectStore``: the object operations, the multipart uploads it starts (or
   re-attaches to, by upload id), the client's default checksum, its endpoint (which
   names a resume journal) and the buffers parts of files are read through.
2. ``UploadHandle``: one multipart upload; ``is_open`` until completed or aborted.
3. ``Capabilities``: what is known of the endpoint (checksums honoured, part limits,
   UploadPartCopy). The client owns it; the engine only reads it, and reports what it
   finds (a server that ignores checksums) through ``note_checksums_ignored``.
4. Bodies are bytes-like, or ``FileRegion``s of files read on demand through a
   ``BufferPool``: ``transport.file_region`` is the one transport module the engine
   uses (for reading files), never the session that sends requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, Unpack

from ..config import Checksum, ChecksumType
from ..exceptions import S3InvalidRequestError
from ..protocol.addressing import Endpoint
from ..protocol.checksums import ChecksumAlgorithm
from ..protocol.http import Body
from ..protocol.preconditions import WriteConditions
from ..protocol.responses import CompleteResult, CopyResult, ObjectInfo, PartInfo, PutResult
from ..transport.file_region import BufferPool, FileRegion

__all__ = [
    "Capabilities",
    "Data",
    "ObjectStore",
    "ReplyStream",
    "UploadHandle",
    "UploadResult",
    "check_data",
]

Data = Body | FileRegion  # what an upload (a PUT, a part) sends


class UploadResult(CompleteResult):
    """A completed multipart upload: the server's reply, and its parts' count and size."""

    parts_count: int
    size: int


def check_data(data: object, what: str = "data", *, regions: bool = True) -> None:
    """Refuse ``data`` unless it is bytes, bytearray or memoryview (or, with
    ``regions``, a file region): S3InvalidRequestError naming its type."""
    kinds = (
        (bytes, bytearray, memoryview, FileRegion) if regions else (bytes, bytearray, memoryview)
    )
    if not isinstance(data, kinds):
        raise S3InvalidRequestError(
            f"{what} must be bytes, bytearray or memoryview, got {type(data).__name__}"
        )


class Capabilities(Protocol):
    """What is known of the endpoint (rule 3)."""

    @property
    def checksums_ignored(self) -> bool:
        """The server was seen to ignore ``x-amz-checksum-*``: send Content-MD5 too."""
        ...

    @property
    def signs_payload(self) -> bool:
        """Bodies are SHA-256 signed (their hash is needed before they are sent)."""
        ...

    def note_checksums_ignored(self) -> None:
        """A reply did not echo the checksum sent with it."""
        ...

    @property
    def max_parts(self) -> int:
        """The most parts one multipart upload may have (10,000 on S3)."""
        ...

    @property
    def min_part_size(self) -> int:
        """The smallest part (but the last) the server accepts (5 MiB on S3)."""
        ...

    @property
    def copies_parts(self) -> bool:
        """The server has UploadPartCopy."""
        ...


class ReplyStream(Protocol):
    """An open GET reply whose body is read piece by piece."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Names in lower case."""
        ...

    async def read_chunk(self) -> bytes:
        """The next piece of the body as it arrived; b"" at the end."""
        ...


class UploadHandle(Protocol):
    """One multipart upload (rule 2)."""

    # The write conditions (if-none-match, if-match headers) sent with Complete.
    conditions: dict[str, str]

    @property
    def upload_id(self) -> str: ...

    @property
    def checksum(self) -> ChecksumAlgorithm | None:
        """The algorithm the upload was created with, sent with every part."""
        ...

    @property
    def is_open(self) -> bool:
        """Neither completed nor aborted yet."""
        ...

    @property
    def parts(self) -> list[PartInfo]:
        """The parts stored so far, by part number; set to restore a checkpoint."""
        ...

    @parts.setter
    def parts(self, parts: Iterable[Mapping[str, Any]]) -> None: ...

    async def upload_part(
        self,
        part_number: int,
        data: Data,
        *,
        checksum_value: str | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> PartInfo: ...

    async def upload_part_copy(
        self,
        part_number: int,
        source_bucket: str,
        source_key: str,
        *,
        byte_range: tuple[int, int] | None = None,
    ) -> PartInfo: ...

    async def list_parts(self) -> list[PartInfo]: ...

    async def complete(self) -> UploadResult: ...

    async def abort(self) -> None: ...


class ObjectStore(Protocol):
    """The S3 operations the engine calls (rule 1)."""

    @property
    def endpoint(self) -> Endpoint: ...

    @property
    def checksum(self) -> ChecksumAlgorithm | None:
        """The algorithm new uploads are created with."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def buffers(self) -> BufferPool:
        """The reusable buffers that parts of files are read through."""
        ...

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
    ) -> PutResult: ...

    async def head_object(
        self, bucket: str, key: str, *, part_number: int | None = None, checksum_mode: bool = False
    ) -> ObjectInfo: ...

    def open_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int | None] | None = None,
        if_match: str | None = None,
    ) -> AbstractAsyncContextManager[ReplyStream]: ...

    async def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        **conditions: Unpack[WriteConditions],
    ) -> CopyResult: ...

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
    ) -> UploadHandle: ...

    def attach_multipart_upload(
        self, bucket: str, key: str, upload_id: str, *, checksum: ChecksumAlgorithm | None
    ) -> UploadHandle:
        """A handle on the upload ``upload_id`` in progress; sends nothing."""
        ...
