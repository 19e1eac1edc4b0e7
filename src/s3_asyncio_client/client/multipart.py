"""MultipartUpload: one multipart upload, created or re-attached by its upload id.

Rules:
1. A part is recorded only after the server accepted it; uploading part n again
   replaces it. ``parts`` is always sorted by part number, one entry per number.
2. ``complete()`` checks the parts (some exist; all but the last reach the client's
   ``min_part_size``; on AIStore, numbered 1..N with no gap) before it sends anything,
   and a part number over the endpoint's ``max_parts`` is refused before it is sent.
3. If the reply to CompleteMultipartUpload is lost and the retry finds the upload
   gone (NoSuchUpload), the object is checked: same multipart ETag (or, where the
   ETag cannot be predicted, same size and part count) means the upload succeeded.
   A conditional Complete meeting NoSuchUpload or 412 needs the exact ETag.
4. Once completed or aborted, the handle refuses further use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..config import choose_checksum
from ..engine import integrity
from ..engine.ports import Data, UploadResult, check_data
from ..exceptions import (
    S3Error,
    S3IntegrityError,
    S3InvalidPartError,
    S3InvalidRequestError,
    S3NoSuchUploadError,
    S3PreconditionFailedError,
)
from ..protocol import requests as build
from ..protocol import responses as parse
from ..protocol.checksums import multipart_etag
from ..protocol.limits import check_part_number, check_text
from ..protocol.preconditions import write_conditions
from ..protocol.responses import CompleteResult, PartInfo
from ..transport.errors import protocol_edge
from .conditions import check_before_upload, written_by_us
from .listing import Pages

if TYPE_CHECKING:
    from ..config import ChecksumType
    from .s3client import Checksum, S3Client

__all__ = ["MultipartUpload", "UploadResult", "create_upload"]

# A part the server stored wrongly (its checksum or ETag does not match) is sent
# again, at most this many times in all.
_INTEGRITY_ATTEMPTS = 3


@protocol_edge  # the protocol layer's errors become S3Errors here
class MultipartUpload:
    """A multipart upload. Re-attach to one in progress with
    ``MultipartUpload(client, bucket, key, upload_id)`` and set ``parts`` from a
    checkpoint; without one, ``complete()`` first lists the parts the server holds
    (another process, or another gateway of the same store, may have sent them), so
    that the object is never assembled from only the parts this handle sent.
    ``checksum`` must be the algorithm the upload was created with: by default the
    client's, as ``create_multipart_upload`` uses. ``conditions`` are the headers
    (``if-none-match``/``if-match``) that ``complete()`` sends unless given its own.

    An upload that is neither completed nor aborted keeps its parts stored, and
    billed, on the server.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        checksum: Checksum = "auto",
    ) -> None:
        check_text(upload_id, "upload_id")
        self.client = client
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id
        # The algorithm the upload was created with; S3 wants it on every part.
        self.checksum = client.checksum if checksum == "auto" else checksum
        self._parts: dict[int, PartInfo] = {}
        self._state = "open"
        self._parts_known = False  # True once created here, restored or listed
        self.conditions: dict[str, str] = {}

    def __repr__(self) -> str:
        return (
            f"MultipartUpload(bucket={self.bucket!r}, key={self.key!r}, "
            f"upload_id={self.upload_id!r}, parts={len(self._parts)}, state={self._state!r})"
        )

    @property
    def is_open(self) -> bool:
        """Neither completed nor aborted yet."""
        return self._state == "open"

    @property
    def parts(self) -> list[PartInfo]:
        """Parts the server accepted, sorted by part number."""
        return [self._parts[number] for number in sorted(self._parts)]

    @parts.setter
    def parts(self, parts: Iterable[Mapping[str, Any]]) -> None:
        """Restore parts from a checkpoint: ``{"part_number", "etag", "size"}`` dicts."""
        restored: dict[int, PartInfo] = {}
        for part in parts:
            try:
                number = check_part_number(part["part_number"])
                info = PartInfo(
                    part_number=number, etag=str(part["etag"]), size=int(part.get("size", 0))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise S3InvalidRequestError(f"not a part record: {part!r}") from exc
            if "checksum" in part:
                info["checksum"] = str(part["checksum"])
            restored[number] = info
        self._parts, self._parts_known = restored, True

    def _check_open(self) -> None:
        if self._state != "open":
            raise S3NoSuchUploadError(
                f"upload {self.upload_id!r} was already {self._state}",
                error_code="NoSuchUpload",
                bucket=self.bucket,
                key=self.key,
            )

    async def upload_part(
        self,
        part_number: int,
        data: Data,
        *,
        checksum_value: str | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> PartInfo:
        """Upload (or replace) part ``part_number`` (1..10,000); retried on
        transient failures. Returns ``{"part_number", "etag", "size"}``.

        ``checksum_value`` is the part's checksum if already computed;
        ``on_sent(n)`` sees body bytes go out (negative when a retry takes them back).
        """
        check_part_number(part_number)
        check_data(data, "part data")
        self._check_open()
        self._check_limit(part_number)
        for attempt in range(_INTEGRITY_ATTEMPTS):
            request = build.build_upload_part(
                self.client.endpoint,
                self.bucket,
                self.key,
                self.upload_id,
                part_number,
                data,
                checksum=self.checksum,
                checksum_value=checksum_value,
                content_md5=self.client.capabilities.checksums_ignored,
                digest_headers=await integrity.digest_headers(self.client, data, self.checksum),
            )
            response = await self.client._send(request, self.bucket, self.key, on_sent=on_sent)
            try:
                await integrity.verify_stored(self.client, request, response, key=self.key)
                break
            except S3IntegrityError:
                if on_sent is not None:
                    on_sent(-len(data))
                if attempt + 1 == _INTEGRITY_ATTEMPTS:
                    raise
        info = PartInfo(
            part_number=part_number, etag=response.headers.get("etag", ""), size=len(data)
        )
        if self.checksum is not None:
            info["checksum"] = request.headers[f"x-amz-checksum-{self.checksum}"]
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
        """Make part ``part_number`` from (a range of) another object, server-side."""
        check_part_number(part_number)
        self._check_open()
        self._check_limit(part_number)
        if not self.client.capabilities.copies_parts:
            # There a PUT with x-amz-copy-source is a whole CopyObject onto this key.
            raise S3InvalidRequestError(
                "UploadPartCopy is not supported by this endpoint (AIStore): "
                "upload the part's bytes with upload_part, or use copy_file",
                bucket=self.bucket,
                key=self.key,
            )
        request = build.build_upload_part_copy(
            self.client.endpoint,
            self.bucket,
            self.key,
            self.upload_id,
            part_number,
            source_bucket,
            source_key,
            byte_range=byte_range,
        )
        response = await self.client._send(request, self.bucket, self.key)
        size = byte_range[1] - byte_range[0] + 1 if byte_range else 0
        if not byte_range:
            size = (await self.client.head_object(source_bucket, source_key))["content_length"]
        copied = parse.parse_upload_part_copy(response)
        info = PartInfo(part_number=part_number, etag=copied["etag"], size=size)
        if "checksum" in copied:
            info["checksum"] = copied["checksum"]
        self._parts[part_number] = info
        return info

    async def list_parts(self) -> list[PartInfo]:
        """The parts the server holds for this upload (every page)."""
        parts: list[PartInfo] = []
        pages: Pages[int] = Pages("ListParts", "part number marker", self.bucket, self.key)
        marker = None
        while True:
            request = build.build_list_parts(
                self.client.endpoint,
                self.bucket,
                self.key,
                self.upload_id,
                part_number_marker=marker,
            )
            response = await self.client._send(request, self.bucket, self.key)
            page = parse.parse_list_parts(response)
            parts += page["parts"]
            marker = page["next_part_number_marker"]
            if not pages.follow(page["is_truncated"], marker):
                return parts

    def _check_limit(self, part_number: int) -> None:
        limit = self.client.capabilities.max_parts
        if part_number > limit:
            raise S3InvalidRequestError(
                f"part number {part_number} is over this endpoint's limit of {limit} parts",
                bucket=self.bucket,
                key=self.key,
            )

    def _check_parts(self) -> list[PartInfo]:
        parts = self.parts
        if not parts:
            raise S3InvalidPartError(
                f"cannot complete upload {self.upload_id!r}: no parts were uploaded",
                bucket=self.bucket,
                key=self.key,
            )
        missing = self.client.capabilities.missing_parts(p["part_number"] for p in parts)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise S3InvalidPartError(
                f"cannot complete upload {self.upload_id!r}: this endpoint (AIStore) needs "
                f"every part from 1 to {parts[-1]['part_number']}; missing: {shown}",
                bucket=self.bucket,
                key=self.key,
            )
        minimum = self.client.capabilities.min_part_size
        for part in parts[:-1]:
            if part["size"] and part["size"] < minimum:
                raise S3InvalidPartError(
                    f"part {part['part_number']} is {part['size']} bytes; every part but the "
                    f"last must be at least {minimum} bytes",
                    bucket=self.bucket,
                    key=self.key,
                )
        return parts

    async def complete(
        self, *, if_none_match: str | None = None, if_match: str | None = None
    ) -> UploadResult:
        """Assemble the parts, in part-number order, into the object; only if the key
        does not exist (``if_none_match="*"``) or has ETag ``if_match``, when given
        (else ``conditions``): S3PreconditionFailedError otherwise.

        Returns ``{"etag", "location", "bucket", "key", "parts_count", "size"}``.
        """
        conditions = write_conditions(if_none_match, if_match) or self.conditions
        self._check_open()
        if not self._parts_known:  # attached without a checkpoint: the server knows
            for listed in await self.list_parts():
                self._parts.setdefault(listed["part_number"], listed)
            self._parts_known = True
        parts = self._check_parts()
        checksums = None
        # Every part's checksum or none: a server that lists parts without them
        # (SeaweedFS) refuses a Complete that names some parts' checksums only.
        if self.checksum is not None and all("checksum" in p for p in parts):
            name = f"x-amz-checksum-{self.checksum}"
            checksums = {p["part_number"]: (name, p["checksum"]) for p in parts}
        request = build.build_complete_multipart_upload(
            self.client.endpoint,
            self.bucket,
            self.key,
            self.upload_id,
            [(p["part_number"], p["etag"]) for p in parts],
            checksums=checksums,
        )
        request.headers.update(conditions)
        size = sum(p["size"] for p in parts)
        try:
            response = await self.client._send(request, self.bucket, self.key)
            result = parse.parse_complete_multipart_upload(response)
        except (S3NoSuchUploadError, S3PreconditionFailedError) as exc:
            if conditions:
                result = await self._ours_or_raise(parts, exc)
            elif isinstance(exc, S3NoSuchUploadError):
                result = await self._completed_already(parts, size)
            else:
                raise
        self._state = "completed"
        return UploadResult(**result, parts_count=len(parts), size=size)

    async def _ours_or_raise(self, parts: list[PartInfo], error: S3Error) -> CompleteResult:
        """After NoSuchUpload or 412 on a conditional complete: is the object the one
        an earlier, lost attempt made? (rule 3) If not, the error stands."""
        etag = await written_by_us(self.client, self.bucket, self.key, (p["etag"] for p in parts))
        if etag is None:
            raise error
        return CompleteResult(etag=etag, location=None, bucket=self.bucket, key=self.key)

    async def _completed_already(self, parts: list[PartInfo], size: int) -> CompleteResult:
        """After NoSuchUpload on complete: did an earlier attempt succeed? (rule 3)"""
        try:
            info = await self.client.head_object(self.bucket, self.key)
        except S3Error:
            info = None
        expected = multipart_etag(p["etag"] for p in parts)
        if info is not None and (
            info["etag"] == expected
            or (
                expected is None
                and info["content_length"] == size
                and info["etag"].strip('"').endswith(f"-{len(parts)}")
            )
        ):
            return CompleteResult(
                etag=info["etag"], location=None, bucket=self.bucket, key=self.key
            )
        raise S3NoSuchUploadError(
            f"upload {self.upload_id!r} does not exist (aborted, or completed by someone else)",
            status_code=404,
            error_code="NoSuchUpload",
            bucket=self.bucket,
            key=self.key,
        )

    async def abort(self) -> None:
        """Abort the upload and delete its parts."""
        self._check_open()
        request = build.build_abort_multipart_upload(
            self.client.endpoint, self.bucket, self.key, self.upload_id
        )
        await self.client._send(request, self.bucket, self.key)
        self._state = "aborted"


async def create_upload(
    client: S3Client,
    bucket: str,
    key: str,
    content_type: str | None,
    metadata: Mapping[str, str] | None,
    checksum: Checksum,
    kind: ChecksumType | None,
    conditions: Mapping[str, str] | None = None,
) -> MultipartUpload:
    """``S3Client.create_multipart_upload``: the client's checksum and type unless
    the call names its own (an algorithm named alone gets the store's default type);
    ``conditions`` are checked first and kept for ``complete()``."""
    await check_before_upload(client, bucket, key, conditions or {})
    kind = kind or (client.checksum_type if checksum == "auto" else None)
    algorithm = choose_checksum(client.checksum, checksum, kind)
    if algorithm == "crc64nvme":
        kind = "FULL_OBJECT"  # its only type: said, for stores whose default differs
    request = build.build_create_multipart_upload(
        client.endpoint,
        bucket,
        key,
        content_type=content_type,
        metadata=metadata,
        checksum=algorithm,
    )
    if algorithm is not None and kind is not None:
        request.headers["x-amz-checksum-type"] = kind
    response = await client._send(request, bucket, key)
    upload_id = parse.parse_create_multipart_upload(response)
    upload = MultipartUpload(client, bucket, key, upload_id, checksum=algorithm)
    upload._parts_known = True  # a new upload: every part goes through this handle
    upload.conditions = dict(conditions or {})
    return upload
