"""Paginators: every object, every multipart upload, every part, page after page.

Every paginator follows its pages through one ``Pages`` guard: a server that sends a
next-page token it already sent, or says a page is truncated and sends no token, would
otherwise make the listing go round forever. The guard raises S3PaginationError
instead, naming the token, before the page it would fetch is asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Hashable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from ..exceptions import S3NoSuchUploadError, S3PaginationError
from ..protocol import requests as build
from ..protocol import responses as parse
from ..protocol.responses import ListObjectsPage, ObjectSummary, UploadInfo
from ..transport.errors import maps_protocol_errors

if TYPE_CHECKING:
    from .s3client import S3Client

__all__ = [
    "Pages",
    "abort_stale_uploads",
    "iter_multipart_uploads",
    "iter_object_pages",
    "iter_objects",
]

T = TypeVar("T", bound=Hashable)


class Pages(Generic[T]):
    """The next-page tokens of one listing; each must be new (memory: one per page).

    ``operation`` and ``what`` (the token's name: "continuation token", ...) word the
    error; ``bucket`` and ``key`` go into it.
    """

    def __init__(self, operation: str, what: str, bucket: str, key: str | None = None) -> None:
        self.operation = operation
        self.what = what
        self.bucket = bucket
        self.key = key
        self._seen: set[T] = set()

    def follow(self, truncated: bool, token: T | None) -> bool:
        """True to ask for the page after ``token``; False when the listing is done."""
        if not truncated:
            return False
        if token is None:
            raise S3PaginationError(
                f"{self.operation}: the reply says IsTruncated but sends no next {self.what}",
                bucket=self.bucket,
                key=self.key,
            )
        if token in self._seen:
            raise S3PaginationError(
                f"{self.operation}: the same next {self.what} was received twice: {token!r}",
                token=str(token),
                bucket=self.bucket,
                key=self.key,
            )
        self._seen.add(token)
        return True


async def iter_object_pages(
    client: S3Client,
    bucket: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    start_after: str | None = None,
    page_size: int | None = None,
) -> AsyncGenerator[ListObjectsPage, None]:
    """Every page of ListObjectsV2, following continuation tokens."""
    pages: Pages[str] = Pages("ListObjectsV2", "continuation token", bucket)
    token = None
    while True:
        page = await client.list_objects(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=page_size,
            continuation_token=token,
            start_after=start_after if token is None else None,
        )
        yield page
        token = page["next_continuation_token"]
        if not pages.follow(page["is_truncated"], token):
            return


async def iter_objects(
    client: S3Client,
    bucket: str,
    *,
    prefix: str | None = None,
    start_after: str | None = None,
    page_size: int | None = None,
) -> AsyncIterator[ObjectSummary]:
    pages = iter_object_pages(
        client, bucket, prefix=prefix, start_after=start_after, page_size=page_size
    )
    async with contextlib.aclosing(pages):
        async for page in pages:
            for item in page["contents"]:
                yield item


@maps_protocol_errors  # iterated past S3Client's protocol_edge
async def iter_multipart_uploads(
    client: S3Client, bucket: str, *, prefix: str | None = None
) -> AsyncIterator[UploadInfo]:
    pages: Pages[tuple[str, str]] = Pages(
        "ListMultipartUploads", "key and upload id markers", bucket
    )
    key_marker = upload_id_marker = None
    while True:
        request = build.build_list_multipart_uploads(
            client.endpoint,
            bucket,
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
        )
        page = parse.parse_list_multipart_uploads(await client._send(request, bucket))
        for upload in page["uploads"]:
            yield upload
        key_marker = page["next_key_marker"]
        upload_id_marker = page["next_upload_id_marker"]
        markers = (key_marker or "", upload_id_marker or "") if key_marker else None
        if not pages.follow(page["is_truncated"], markers):
            return


async def abort_stale_uploads(
    client: S3Client, bucket: str, *, cutoff: datetime, prefix: str | None = None
) -> list[UploadInfo]:
    """Abort every upload under ``prefix`` initiated before ``cutoff``."""
    stale = [
        upload
        async for upload in iter_multipart_uploads(client, bucket, prefix=prefix)
        if _initiated(upload) < cutoff
    ]
    for upload in stale:
        handle = client.attach_multipart_upload(bucket, upload["key"], upload["upload_id"])
        with contextlib.suppress(S3NoSuchUploadError):  # gone meanwhile: fine
            await handle.abort()
    return stale


def _initiated(upload: UploadInfo) -> datetime:
    try:
        stamp = datetime.fromisoformat(upload["initiated"].replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # unknown age: never stale
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
