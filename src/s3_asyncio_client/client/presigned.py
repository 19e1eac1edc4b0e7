"""Presigned URLs: one object request, or a whole multipart upload for a holder of
no keys (a browser, another process).

Rules:
1. Every URL is signed by ``protocol.signing.presign_url`` in its query string; the
   ``headers`` listed beside a URL are exactly the headers it signed, which the
   holder must send as given (none, unless part checksums or a write condition
   were asked for). A client without credentials gets plain URLs.
2. ``presign_multipart_upload`` creates the upload (with this client's keys) and
   returns a plain dict (JSON-serialisable): the upload id, the part size, one
   ``PUT`` per part with its byte range (inclusive), the Complete request (a
   ``POST`` whose body is ``body_template`` with each ``{etag_N}`` replaced by part
   N's ETag as the server returned it, quotes kept) and the abort request.
3. ``complete_presigned_upload`` / ``abort_presigned_upload`` finish a session
   with keys, through ``MultipartUpload`` (its part checks and lost-reply rules).
4. Part ETags are read by a browser only if the bucket's CORS rules expose the
   ``ETag`` header (``<ExposeHeader>ETag</ExposeHeader>``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict, Unpack, cast

from ..exceptions import S3InvalidRequestError
from ..protocol import requests as build
from ..protocol.addressing import Query
from ..protocol.checksums import ChecksumAlgorithm
from ..protocol.limits import (
    MAX_PRESIGN_EXPIRES,
    check_bucket,
    check_int,
    check_key,
    part_count,
    plan_part_size,
)
from ..protocol.preconditions import write_conditions
from ..protocol.signing import presign_url
from ..transport.errors import protocol_edge
from .multipart import MultipartUpload, create_upload

if TYPE_CHECKING:
    from ..engine.ports import UploadResult
    from .s3client import S3Client

__all__ = [
    "ETags",
    "PresignedPart",
    "PresignedRequest",
    "PresignedUpload",
    "Presigning",
    "SessionOptions",
    "abort_presigned_upload",
    "complete_presigned_upload",
    "presign",
    "presign_multipart_upload",
]


class PresignedRequest(TypedDict):
    method: str
    url: str
    headers: dict[str, str]  # to send exactly as given (they are signed)


class PresignedPart(PresignedRequest):
    part_number: int
    byte_range: list[int]  # [first, last], inclusive


class PresignedComplete(PresignedRequest):
    body_template: str  # "{etag_N}": part N's ETag, quotes kept


class PresignedUpload(TypedDict):
    bucket: str
    key: str
    upload_id: str
    size: int
    part_size: int
    expires_at: str  # ISO 8601, UTC
    checksum: str | None  # the algorithm of ``part_checksums``, if any
    parts: list[PresignedPart]
    complete: PresignedComplete
    abort: PresignedRequest


ETags = Sequence[str] | Mapping[int, str]  # in part order, or by part number


class SessionOptions(TypedDict, total=False):
    """The options of ``presign_multipart_upload``."""

    part_size: int | None  # default: 8 MiB, raised to fit ``size`` in the part limit
    expires_in: int  # seconds, at most 7 days; default 3600
    content_type: str | None
    checksum: ChecksumAlgorithm | None  # the algorithm of ``part_checksums``
    part_checksums: Sequence[str] | None  # one base64 value per part, signed into its URL
    if_none_match: str | None  # signed into the Complete URL
    if_match: str | None


@protocol_edge  # the protocol layer's errors become S3Errors here
class Presigning:
    """S3Client's presigned URLs (a mixin, so that the client's module stays small)."""

    def generate_presigned_url(
        self, method: str, bucket: str, key: str, *, expires_in: int = 3600
    ) -> str:
        """A URL that lets its holder ``method`` (GET, PUT, ...) the object, for
        ``expires_in`` seconds (at most 7 days). It embeds a signature, not the secret."""
        return presign(cast("S3Client", self), method, bucket, key, expires_in=expires_in)

    async def presign_multipart_upload(
        self, bucket: str, key: str, *, size: int, **options: Unpack[SessionOptions]
    ) -> PresignedUpload:
        """Create a multipart upload of ``size`` bytes for a holder of no keys (a browser,
        another process) to send by presigned URLs; a plain, JSON-serialisable dict
        (rule 2 above). The upload stays open until completed or aborted."""
        return await presign_multipart_upload(
            cast("S3Client", self), bucket, key, size=size, **options
        )

    async def complete_presigned_upload(
        self,
        session: PresignedUpload,
        etags: ETags,
        *,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> UploadResult:
        """Complete ``session`` with its parts' ETags (a list in part order, or a dict by
        part number), under the session's write condition unless given one."""
        return await complete_presigned_upload(
            cast("S3Client", self), session, etags, if_none_match=if_none_match, if_match=if_match
        )

    async def abort_presigned_upload(self, session: PresignedUpload) -> None:
        """Abort ``session``'s upload and delete the parts sent so far."""
        await abort_presigned_upload(cast("S3Client", self), session)


def presign(
    client: S3Client,
    method: str,
    bucket: str,
    key: str,
    *,
    expires_in: int,
    query: Query = (),
    headers: Mapping[str, str] | None = None,
) -> str:
    """A URL for ``method`` on ``key`` (with ``query``) valid ``expires_in`` seconds,
    that requires ``headers`` (signed)."""
    check_int(expires_in, "expires_in", 1, MAX_PRESIGN_EXPIRES)
    url = client.endpoint.url_for(check_bucket(bucket), check_key(key, bucket), query)
    credentials = client.transport.credentials
    if credentials is None:
        return url
    signature = presign_url(
        method.upper(),
        url,
        credentials,
        region=client.region,
        timestamp=client.transport.now(),
        expires=expires_in,
        headers=sorted((headers or {}).items()),
    )
    return signature.headers["url"]


async def presign_multipart_upload(
    client: S3Client,
    bucket: str,
    key: str,
    *,
    size: int,
    part_size: int | None = None,
    expires_in: int = 3600,
    content_type: str | None = None,
    checksum: ChecksumAlgorithm | None = None,
    part_checksums: Sequence[str] | None = None,
    if_none_match: str | None = None,
    if_match: str | None = None,
) -> PresignedUpload:
    """``S3Client.presign_multipart_upload``: see there (rule 2)."""
    check_int(size, "size", 1)
    check_int(expires_in, "expires_in", 1, MAX_PRESIGN_EXPIRES)
    limits = client.capabilities
    part_size = plan_part_size(
        size, part_size, max_parts=limits.max_parts, min_part_size=limits.min_part_size
    )
    count = part_count(size, part_size)
    if (checksum is None) != (part_checksums is None) or (
        part_checksums is not None and len(part_checksums) != count
    ):
        raise S3InvalidRequestError(
            f"checksum and part_checksums go together, one value per part ({count} parts of "
            f"{part_size} bytes), got checksum={checksum!r} and "
            f"{len(part_checksums or ())} part checksums",
            bucket=bucket,
            key=key,
        )
    conditions = write_conditions(if_none_match, if_match)
    upload = await create_upload(
        client, bucket, key, content_type, None, checksum=checksum, kind=None, conditions=conditions
    )
    expires_at = client.transport.now() + timedelta(seconds=expires_in)
    uploads: Query = [("uploadId", upload.upload_id)]
    parts: list[PresignedPart] = []
    for number in range(1, count + 1):
        signed = (
            {f"x-amz-checksum-{checksum}": part_checksums[number - 1]} if part_checksums else {}
        )
        query: Query = [("partNumber", str(number)), ("uploadId", upload.upload_id)]
        url = presign(
            client, "PUT", bucket, key, expires_in=expires_in, query=query, headers=signed
        )
        first = (number - 1) * part_size
        last = min(first + part_size, size) - 1
        parts.append(
            PresignedPart(
                part_number=number, method="PUT", url=url, headers=signed, byte_range=[first, last]
            )
        )
    complete = build.build_complete_multipart_upload(
        client.endpoint,
        bucket,
        key,
        upload.upload_id,
        [(n, f"{{etag_{n}}}") for n in range(1, count + 1)],
        checksums={
            n: (f"x-amz-checksum-{checksum}", value)
            for n, value in enumerate(part_checksums or (), start=1)
        },
    )
    assert isinstance(complete.body, bytes)
    done_url = presign(
        client, "POST", bucket, key, expires_in=expires_in, query=uploads, headers=conditions
    )
    abort_url = presign(client, "DELETE", bucket, key, expires_in=expires_in, query=uploads)
    return PresignedUpload(
        bucket=bucket,
        key=key,
        upload_id=upload.upload_id,
        size=size,
        part_size=part_size,
        expires_at=expires_at.isoformat(),
        checksum=checksum,
        parts=parts,
        complete=PresignedComplete(
            method="POST",
            url=done_url,
            headers=dict(conditions),
            body_template=complete.body.decode(),
        ),
        abort=PresignedRequest(method="DELETE", url=abort_url, headers={}),
    )


def _attach(client: S3Client, session: Mapping[str, object]) -> MultipartUpload:
    try:
        bucket, key, upload_id = (str(session[k]) for k in ("bucket", "key", "upload_id"))
        checksum = session.get("checksum")
    except (KeyError, TypeError) as exc:
        raise S3InvalidRequestError(f"not a presigned upload session: {exc}") from None
    return MultipartUpload(client, bucket, key, upload_id, checksum=checksum)  # type: ignore[arg-type]


async def complete_presigned_upload(
    client: S3Client,
    session: PresignedUpload,
    etags: ETags,
    *,
    if_none_match: str | None = None,
    if_match: str | None = None,
) -> UploadResult:
    """``S3Client.complete_presigned_upload``: see there (rule 3)."""
    upload = _attach(client, session)
    by_number = dict(etags) if isinstance(etags, Mapping) else dict(enumerate(etags, start=1))
    parts = session["parts"]
    if sorted(by_number) != [p["part_number"] for p in parts]:
        raise S3InvalidRequestError(
            f"one ETag per part is needed ({len(parts)} parts), got part numbers "
            f"{sorted(by_number)}",
            bucket=upload.bucket,
            key=upload.key,
        )
    checksum = session.get("checksum")
    values = _part_checksums(session) if checksum else {}
    upload.parts = [
        {
            "part_number": p["part_number"],
            "etag": by_number[p["part_number"]],
            "size": p["byte_range"][1] - p["byte_range"][0] + 1,
            **({"checksum": values[p["part_number"]]} if values else {}),
        }
        for p in parts
    ]
    conditions = write_conditions(if_none_match, if_match) or session["complete"]["headers"]
    upload.conditions = dict(conditions)
    return await upload.complete()


def _part_checksums(session: PresignedUpload) -> dict[int, str]:
    checksum = session["checksum"]
    return {p["part_number"]: p["headers"][f"x-amz-checksum-{checksum}"] for p in session["parts"]}


async def abort_presigned_upload(client: S3Client, session: PresignedUpload) -> None:
    """``S3Client.abort_presigned_upload``: see there."""
    await _attach(client, session).abort()
