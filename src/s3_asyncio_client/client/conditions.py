"""Conditional writes on the client side: sending them, checking them early, and
telling after a lost reply whether the write that won was ours.

Rules:
1. The conditions (``protocol.preconditions``) are validated before any byte moves.
2. A PUT or copy answered 409 ConditionalRequestConflict (a concurrent write of the
   key) is sent again, as S3 documents, at most ``CONFLICT_ATTEMPTS`` times in all;
   the retry then meets the winner's object and fails with 412, or succeeds. The
   transport never retries it: it is not transient for a CompleteMultipartUpload,
   whose upload S3 says must be started over.
3. A conditional multipart upload checks its condition with one HEAD before the
   first part is sent (the key exists, or has another ETag: nothing is uploaded);
   CompleteMultipartUpload still carries it, which is what makes it atomic.
4. If Complete's reply is lost and its retry answers NoSuchUpload or 412, the
   object is ours only if its ETag is exactly the multipart ETag of our parts
   (MD5 of their MD5s, "-N"). Size and part count are not enough here: a racing
   writer of the same size is the very case the condition guards against, so
   without a predictable ETag the error stands.
5. Likewise a PUT whose retry answers 412: the object is ours if it has our size
   and the full-object checksum our request carried (a PUT with no checksum
   cannot be told apart: the 412 stands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ..exceptions import (
    S3ConditionalConflictError,
    S3Error,
    S3NoSuchKeyError,
    S3PreconditionFailedError,
)
from ..protocol.checksums import multipart_etag
from ..protocol.http import HttpRequest, HttpResponse
from ..protocol.responses import ObjectInfo

if TYPE_CHECKING:
    from .s3client import S3Client

__all__ = ["CONFLICT_ATTEMPTS", "check_before_upload", "send_write", "written_by_us"]

CONFLICT_ATTEMPTS = 3
_NOT_VALUES = frozenset({"x-amz-checksum-type", "x-amz-checksum-algorithm"})


async def send_write(
    client: S3Client,
    request: HttpRequest,
    bucket: str,
    key: str,
    conditions: Mapping[str, str],
    *,
    size: int = 0,
    on_sent: Callable[[int], None] | None = None,
) -> HttpResponse:
    """Send a write with ``conditions`` as headers (rule 2 for a 409)."""
    request.headers.update(conditions)
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return await client._send(request, bucket, key, on_sent=on_sent)
        except S3ConditionalConflictError:
            if not conditions or attempt == CONFLICT_ATTEMPTS:
                raise
            if on_sent is not None:
                on_sent(-size)  # those bytes go out again
        except S3PreconditionFailedError:
            ours = await _put_by_us(client, request, bucket, key, size) if conditions else None
            if ours is None:
                raise
            return ours
    raise AssertionError("unreachable")  # pragma: no cover


async def _put_by_us(
    client: S3Client, request: HttpRequest, bucket: str, key: str, size: int
) -> HttpResponse | None:
    """Rule 5: the reply our PUT would have had, if the object is the one it sent."""
    sent = {
        name.removeprefix("x-amz-checksum-"): value
        for name, value in request.headers.items()
        if name.startswith("x-amz-checksum-") and name not in _NOT_VALUES
    }
    if request.method != "PUT" or len(sent) != 1:
        return None
    try:
        info = await client.head_object(bucket, key, checksum_mode=True)
    except S3Error:
        return None
    [(alg, value)] = sent.items()
    if info["content_length"] != size or info.get("checksums", {}).get(alg) != value:
        return None
    headers = {f"x-amz-checksum-{alg}": value for alg, value in sent.items()}
    return HttpResponse(200, {"etag": info["etag"], **headers})


async def check_before_upload(
    client: S3Client, bucket: str, key: str, conditions: Mapping[str, str]
) -> None:
    """Rule 3: refuse a conditional multipart upload that Complete would refuse."""
    if not conditions:
        return
    try:
        info: ObjectInfo | None = await client.head_object(bucket, key)
    except S3NoSuchKeyError:
        info = None
    wanted = conditions.get("if-match")
    if info is not None and "if-none-match" in conditions:
        raise S3PreconditionFailedError(
            f"the key exists (ETag {info['etag']}) and if_none_match='*' forbids "
            "overwriting it: nothing was uploaded",
            status_code=412,
            error_code="PreconditionFailed",
            bucket=bucket,
            key=key,
        )
    if wanted is not None and info is None:
        raise S3NoSuchKeyError(
            f"if_match={wanted} needs the key to exist: nothing was uploaded",
            status_code=404,
            error_code="NoSuchKey",
            bucket=bucket,
            key=key,
        )
    if wanted is not None and info is not None and info["etag"].strip('"') != wanted.strip('"'):
        raise S3PreconditionFailedError(
            f"the key's ETag is {info['etag']}, not if_match={wanted}: nothing was uploaded",
            status_code=412,
            error_code="PreconditionFailed",
            bucket=bucket,
            key=key,
        )


async def written_by_us(
    client: S3Client, bucket: str, key: str, etags: Iterable[str]
) -> str | None:
    """Rule 4: the object's ETag if it is the one these parts (their ETags) make."""
    expected = multipart_etag(etags)
    if expected is None:
        return None
    try:
        info = await client.head_object(bucket, key)
    except S3Error:
        return None
    return expected if info["etag"] == expected else None
