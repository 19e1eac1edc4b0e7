"""Paginators: every object, every multipart upload, page after page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .exceptions import S3NoSuchUploadError
from .protocol import requests as build
from .protocol import responses as parse
from .protocol.responses import ObjectSummary, UploadInfo

if TYPE_CHECKING:
    from .client import S3Client

__all__ = ["abort_stale_uploads", "iter_multipart_uploads", "iter_objects"]


async def iter_objects(
    client: S3Client,
    bucket: str,
    *,
    prefix: str | None = None,
    start_after: str | None = None,
    page_size: int | None = None,
) -> AsyncIterator[ObjectSummary]:
    token = None
    while True:
        page = await client.list_objects(
            bucket,
            prefix=prefix,
            max_keys=page_size,
            continuation_token=token,
            start_after=start_after if token is None else None,
        )
        for item in page["contents"]:
            yield item
        token = page["next_continuation_token"]
        if not page["is_truncated"] or not token:
            return


async def iter_multipart_uploads(
    client: S3Client, bucket: str, *, prefix: str | None = None
) -> AsyncIterator[UploadInfo]:
    key_marker = upload_id_marker = None
    while True:
        request = build.build_list_multipart_uploads(
            client.endpoint,
            bucket,
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
        )
        page = parse.parse_list_multipart_uploads(
            await client.transport.send(request, bucket=bucket)
        )
        for upload in page["uploads"]:
            yield upload
        key_marker = page["next_key_marker"]
        upload_id_marker = page["next_upload_id_marker"]
        if not page["is_truncated"] or not (key_marker or upload_id_marker):
            return


async def abort_stale_uploads(
    client: S3Client, bucket: str, *, older_than: timedelta, prefix: str | None = None
) -> list[UploadInfo]:
    """Abort every upload under ``prefix`` initiated before now - ``older_than``."""
    from .multipart import MultipartUpload

    cutoff = client.transport.now() - older_than
    stale = [
        upload
        async for upload in iter_multipart_uploads(client, bucket, prefix=prefix)
        if _initiated(upload) < cutoff
    ]
    for upload in stale:
        handle = MultipartUpload(client, bucket, upload["key"], upload["upload_id"])
        with contextlib.suppress(S3NoSuchUploadError):  # gone meanwhile: fine
            await handle.abort()
    return stale


def _initiated(upload: UploadInfo) -> datetime:
    try:
        stamp = datetime.fromisoformat(upload["initiated"].replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # unknown age: never stale
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
