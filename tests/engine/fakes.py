"""An in-memory S3 for the engine's tests: it satisfies ``engine.ports``, so uploads,
resumes, downloads and copies run without a server, in milliseconds, the same way
every time.

Faults are set on the store:
- ``fail(operation, number, times)``: that request fails (500 InternalError) the next
  ``times`` times; ``operation`` is "upload_part", "list_parts", "head", "get", ...,
  ``number`` the part number (None: any request of that operation).
- ``gate``: awaited by every request before it is served, with the operation and
  part number: a point where a test can block a transfer, then cancel it.
- ``list_checksums``: ListParts reports each part's checksum (S3 does; some servers
  do not).
- ``part_heads``: HEAD with ``partNumber`` is answered (some servers refuse it).
- ``serve``: what a GET sends in place of the stored bytes (a server that lies);
  ``cut_once``: the next GETs end early after that many bytes (a connection lost).
- ``keep_bytes=False``: parts keep only their sizes, so a 10,000-part plan of a
  sparse file is neither read nor held.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from s3_asyncio_client.engine.ports import Data, ObjectStore, UploadHandle, UploadResult
from s3_asyncio_client.exceptions import (
    S3IntegrityError,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3PreconditionFailedError,
    S3ServerError,
)
from s3_asyncio_client.protocol.addressing import Endpoint
from s3_asyncio_client.protocol.checksums import (
    ChecksumAlgorithm,
    checksum_header,
    default_algorithm,
    multipart_etag,
)
from s3_asyncio_client.protocol.limits import MAX_PARTS, MIN_PART_SIZE
from s3_asyncio_client.protocol.responses import CopyResult, ObjectInfo, PartInfo, PutResult
from s3_asyncio_client.transport.file_region import BufferPool, FileRegion

Gate = Callable[[str, int | None], Awaitable[None]]


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def crc_value(algorithm: ChecksumAlgorithm, data: bytes) -> str:
    return checksum_header(algorithm, data)[1]


class FakeCapabilities:
    """``engine.ports.Capabilities``: plain fields."""

    def __init__(
        self,
        *,
        checksums_ignored: bool = False,
        signs_payload: bool = False,
        max_parts: int = MAX_PARTS,
        copies_parts: bool = True,
        min_part_size: int = MIN_PART_SIZE,
    ) -> None:
        self.checksums_ignored = checksums_ignored
        self.signs_payload = signs_payload
        self.max_parts = max_parts
        self.copies_parts = copies_parts
        self.min_part_size = min_part_size

    def note_checksums_ignored(self) -> None:
        self.checksums_ignored = True


@dataclass
class StoredObject:
    data: bytes
    etag: str
    size: int
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    checksum_type: str | None = None
    part_sizes: list[int] = field(default_factory=list)  # of a multipart object


@dataclass
class ServerUpload:
    bucket: str
    key: str
    checksum: ChecksumAlgorithm | None
    content_type: str | None
    metadata: dict[str, str]
    parts: dict[int, tuple[bytes, PartInfo]] = field(default_factory=dict)


class FakeReply:
    """``engine.ports.ReplyStream`` over bytes, in pieces of ``piece`` bytes."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, piece: int) -> None:
        self.status, self.headers = status, headers
        self._pieces = [body[i : i + piece] for i in range(0, len(body), piece)]

    async def read_chunk(self) -> bytes:
        await asyncio.sleep(0)
        return self._pieces.pop(0) if self._pieces else b""


class FakeUpload:
    """``engine.ports.UploadHandle``: a client's handle on one upload of the store."""

    def __init__(
        self,
        store: FakeStore,
        bucket: str,
        key: str,
        upload_id: str,
        checksum: ChecksumAlgorithm | None,
    ) -> None:
        self.store, self.bucket, self.key = store, bucket, key
        self.upload_id, self.checksum = upload_id, checksum
        self._parts: dict[int, PartInfo] = {}
        self._state = "open"
        self.conditions: dict[str, str] = {}  # the fake does not enforce them

    @property
    def is_open(self) -> bool:
        return self._state == "open"

    @property
    def parts(self) -> list[PartInfo]:
        return [self._parts[n] for n in sorted(self._parts)]

    @parts.setter
    def parts(self, parts: Iterable[Mapping[str, Any]]) -> None:
        self._parts = {}
        for part in parts:
            info = PartInfo(
                part_number=int(part["part_number"]), etag=str(part["etag"]), size=part["size"]
            )
            if "checksum" in part:
                info["checksum"] = str(part["checksum"])
            self._parts[info["part_number"]] = info

    def _server(self) -> ServerUpload:
        if not self.is_open:
            raise S3NoSuchUploadError(f"upload {self.upload_id} was already {self._state}")
        try:
            return self.store.uploads[self.upload_id]
        except KeyError:
            raise S3NoSuchUploadError(
                "no such upload", status_code=404, error_code="NoSuchUpload"
            ) from None

    async def upload_part(
        self,
        part_number: int,
        data: Data,
        *,
        checksum_value: str | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> PartInfo:
        async with self.store.request("upload_part", part_number):
            server = self._server()
            if isinstance(data, memoryview):
                self.store.buffers_seen.add(id(data.obj))
            body = self.store.read(data)
            if on_sent is not None:
                on_sent(len(data))
            info = PartInfo(part_number=part_number, etag=md5_etag(body), size=len(data))
            if self.checksum is not None:
                value = crc_value(self.checksum, body)
                if checksum_value is not None and checksum_value != value:
                    raise S3IntegrityError(f"BadDigest: part {part_number}")
                info["checksum"] = value
            server.parts[part_number] = (body, info)
            self._parts[part_number] = info
            return info

    async def upload_part_copy(
        self,
        part_number: int,
        source_bucket: str,
        source_key: str,
        *,
        byte_range: tuple[int, int] | None = None,
    ) -> PartInfo:
        async with self.store.request("upload_part_copy", part_number):
            server = self._server()
            source = self.store.stored(source_bucket, source_key)
            first, last = byte_range or (0, source.size - 1)
            body = source.data[first : last + 1]
            info = PartInfo(part_number=part_number, etag=md5_etag(body), size=last - first + 1)
            server.parts[part_number] = (body, info)
            self._parts[part_number] = info
            return info

    async def list_parts(self) -> list[PartInfo]:
        async with self.store.request("list_parts"):
            server = self._server()
            listed = []
            for number in sorted(server.parts):
                part = PartInfo(**server.parts[number][1])
                if not self.store.list_checksums:
                    part.pop("checksum", None)
                listed.append(part)
            return listed

    async def complete(self) -> UploadResult:
        async with self.store.request("complete"):
            server = self._server()
            parts = self.parts
            if not parts:
                raise S3InvalidPartError("no parts")
            for part in parts:
                held = server.parts.get(part["part_number"])
                if held is None or held[1]["etag"] != part["etag"]:
                    raise S3InvalidPartError(f"InvalidPart: {part['part_number']}")
            bodies = [server.parts[p["part_number"]][0] for p in parts]
            sizes = [p["size"] for p in parts]
            stored = StoredObject(
                data=b"".join(bodies),
                etag=multipart_etag(p["etag"] for p in parts) or '"-"',
                size=sum(sizes),
                content_type=server.content_type,
                metadata=server.metadata,
                part_sizes=sizes,
            )
            if server.checksum in ("crc32", "crc32c") and self.store.keep_bytes:
                raw = b"".join(_raw_crc(server.checksum, body) for body in bodies)
                stored.checksums = {
                    server.checksum: f"{crc_value(server.checksum, raw)}-{len(bodies)}"
                }
                stored.checksum_type = "COMPOSITE"
            self.store.objects[(self.bucket, self.key)] = stored
            del self.store.uploads[self.upload_id]
            self._state = "completed"
            return UploadResult(
                etag=stored.etag,
                location=None,
                bucket=self.bucket,
                key=self.key,
                parts_count=len(parts),
                size=stored.size,
            )

    async def abort(self) -> None:
        async with self.store.request("abort"):
            self._server()
            del self.store.uploads[self.upload_id]
            self._state = "aborted"


def _raw_crc(algorithm: ChecksumAlgorithm, data: bytes) -> bytes:
    return base64.b64decode(crc_value(algorithm, data))


class FakeStore:
    """``engine.ports.ObjectStore`` in memory. ``log`` lists every request served
    (operation, part number or byte range); ``peak`` the most requests at once."""

    def __init__(
        self,
        *,
        checksum: ChecksumAlgorithm | Literal["auto"] | None = "auto",
        keep_bytes: bool = True,
        piece: int = 64 * 1024,
    ) -> None:
        self.endpoint = Endpoint("http://fake.invalid")
        self.checksum = default_algorithm() if checksum == "auto" else checksum
        self.capabilities = FakeCapabilities()
        self.buffers = BufferPool()
        self.keep_bytes, self.piece = keep_bytes, piece
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.uploads: dict[str, ServerUpload] = {}
        self.log: list[tuple[str, Any]] = []
        self.faults: dict[tuple[str, object], int] = {}
        self.gate: Gate | None = None
        self.list_checksums = True
        self.part_heads = True
        self.serve: Callable[[bytes], bytes] | None = None
        self.cut_once: int | None = None
        self.in_flight = self.peak = 0
        self.buffers_seen: set[int] = set()  # the objects memoryview parts were views of
        self._ids = 0

    # Faults and bookkeeping

    def fail(self, operation: str, number: int | None = None, times: int = 1) -> None:
        self.faults[(operation, number)] = times

    def requests(self, operation: str) -> list[Any]:
        return [what for name, what in self.log if name == operation]

    @asynccontextmanager
    async def request(self, operation: str, what: object = None) -> AsyncIterator[None]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate(operation, what if isinstance(what, int) else None)
            await asyncio.sleep(0)  # let the others run: requests overlap
            for key in ((operation, what), (operation, None)):
                if self.faults.get(key, 0) > 0:
                    self.faults[key] -= 1
                    raise S3ServerError(
                        f"injected failure of {operation}",
                        status_code=500,
                        error_code="InternalError",
                    )
            self.log.append((operation, what))
            yield
        finally:
            self.in_flight -= 1

    def read(self, data: Data) -> bytes:
        if isinstance(data, FileRegion):
            if not self.keep_bytes:
                return b""
            return bytes(data.read_chunk(bytearray(len(data)), 0))
        return bytes(data) if self.keep_bytes else b""

    def stored(self, bucket: str, key: str) -> StoredObject:
        try:
            return self.objects[(bucket, key)]
        except KeyError:
            raise S3NoSuchKeyError(
                "no such key", status_code=404, error_code="NoSuchKey", bucket=bucket, key=key
            ) from None

    # Objects made directly, as another client would have made them

    def add_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        part_sizes: list[int] | None = None,
        checksum: str | None = "COMPOSITE",
        algorithm: ChecksumAlgorithm = "crc32c",
    ) -> StoredObject:
        """An object of ``data``; multipart with ``part_sizes``; ``checksum``: the
        kind the server keeps ("COMPOSITE", "FULL_OBJECT", None: none)."""
        sizes = part_sizes or []
        bounds = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        bodies = [data[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
        etag = multipart_etag(md5_etag(b) for b in bodies) if sizes else md5_etag(data)
        stored = StoredObject(data=data, etag=etag or '"-"', size=len(data), part_sizes=sizes)
        if checksum == "COMPOSITE" and sizes:
            raw = b"".join(_raw_crc(algorithm, body) for body in bodies)
            stored.checksums = {algorithm: f"{crc_value(algorithm, raw)}-{len(sizes)}"}
        elif checksum is not None:
            stored.checksums = {algorithm: crc_value(algorithm, data)}
        stored.checksum_type = checksum if stored.checksums else None
        self.objects[(bucket, key)] = stored
        return stored

    # engine.ports.ObjectStore

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        on_sent: Callable[[int], None] | None = None,
        checksum: object = "auto",  # the fake keeps its own algorithm
        **conditions: str | None,  # the fake does not enforce them
    ) -> PutResult:
        async with self.request("put", len(data)):
            body = self.read(data)
            if on_sent is not None:
                on_sent(len(data))
            stored = StoredObject(
                body, md5_etag(body), len(data), content_type, dict(metadata or {})
            )
            if self.checksum is not None:
                stored.checksums = {self.checksum: crc_value(self.checksum, body)}
                stored.checksum_type = "FULL_OBJECT"
            self.objects[(bucket, key)] = stored
            return PutResult(etag=stored.etag)

    async def head_object(
        self, bucket: str, key: str, *, part_number: int | None = None, checksum_mode: bool = False
    ) -> ObjectInfo:
        async with self.request("head", part_number):
            stored = self.stored(bucket, key)
            length = stored.size
            if part_number is not None:
                if not self.part_heads or part_number > max(len(stored.part_sizes), 1):
                    raise S3InvalidRequestError(
                        "InvalidPartNumber", status_code=416, error_code="InvalidPartNumber"
                    )
                length = stored.part_sizes[part_number - 1] if stored.part_sizes else length
            info = ObjectInfo(
                etag=stored.etag,
                content_length=length,
                content_type=stored.content_type,
                last_modified=None,
                metadata=dict(stored.metadata),
            )
            if checksum_mode and stored.checksums:
                info["checksums"] = dict(stored.checksums)
                if stored.checksum_type:
                    info["checksum_type"] = stored.checksum_type
            if stored.part_sizes:
                info["parts_count"] = len(stored.part_sizes)
            return info

    @asynccontextmanager
    async def open_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int | None] | None = None,
        if_match: str | None = None,
    ) -> AsyncIterator[FakeReply]:
        async with self.request("get", byte_range):
            stored = self.stored(bucket, key)
            if if_match is not None and if_match != stored.etag:
                raise S3PreconditionFailedError(
                    "PreconditionFailed", status_code=412, error_code="PreconditionFailed"
                )
            data = self.serve(stored.data) if self.serve else stored.data
            headers = {"etag": stored.etag}
            if byte_range is None:
                status, body = 200, data
            else:
                first, last = byte_range
                last = stored.size - 1 if last is None else min(last, stored.size - 1)
                status, body = 206, data[first : last + 1]
                headers["content-range"] = f"bytes {first}-{last}/{stored.size}"
            headers["content-length"] = str(len(body))
            if self.cut_once is not None:
                body, self.cut_once = body[: self.cut_once], None
            yield FakeReply(status, headers, body, self.piece)

    async def copy_object(
        self, source_bucket: str, source_key: str, bucket: str, key: str, **conditions: str | None
    ) -> CopyResult:
        async with self.request("copy"):
            source = self.stored(source_bucket, source_key)
            self.objects[(bucket, key)] = StoredObject(
                source.data, source.etag, source.size, source.content_type, dict(source.metadata)
            )
            return CopyResult(etag=source.etag, last_modified=None)

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        checksum: object = "auto",  # the fake keeps its own algorithm
        checksum_type: object = None,
        **conditions: str | None,
    ) -> FakeUpload:
        async with self.request("create"):
            self._ids += 1
            upload_id = f"upload-{self._ids}"
            self.uploads[upload_id] = ServerUpload(
                bucket, key, self.checksum, content_type, dict(metadata or {})
            )
            return FakeUpload(self, bucket, key, upload_id, self.checksum)

    def attach_multipart_upload(
        self, bucket: str, key: str, upload_id: str, *, checksum: ChecksumAlgorithm | None
    ) -> FakeUpload:
        return FakeUpload(self, bucket, key, upload_id, checksum)


def _satisfies_the_ports(store: FakeStore, upload: FakeUpload) -> tuple[ObjectStore, UploadHandle]:
    """For a type checker run over this file: the fakes satisfy the ports."""
    return store, upload
