"""Browser POST uploads: ``POST /bucket`` with a multipart/form-data form, as
``generate_presigned_post`` prepares it (S3's POST Object).

Rules:

1. Fields come first, then the ``file`` field; fields after it are ignored, as S3
   ignores them. Names are case-insensitive. The fields before the file may hold
   ``FIELDS_LIMIT`` bytes in all (MaxPostPreDataLengthExceededError); a form without
   a file is IncorrectNumberOfFilesInPostRequest; a body that is not a form,
   MalformedPOSTRequest.
2. Without credentials on the request, the form's policy signature says who uploads
   (postpolicy.py); the policy's expiry and conditions hold in any case, also on a
   server without keys (which checks no signature).
3. ``key`` may hold ``${filename}``, replaced by the file's name.
4. The file is streamed to a blob, never held in memory; past the policy's
   ``content-length-range`` maximum the upload stops (EntityTooLarge) and nothing is
   kept. ``x-amz-checksum-*`` fields are checked against it (BadDigest).
5. The object is what a PUT with the same headers makes: Content-Type,
   Cache-Control, Content-Disposition, Content-Encoding, Expires, ``x-amz-meta-*``,
   the ``acl`` field as ``x-amz-acl``.
6. Reply: to ``success_action_redirect`` (or ``redirect``), an http(s) URL, 303 with
   ``bucket``, ``key`` and ``etag`` in its query; else ``success_action_status`` 200,
   201 (a PostResponse document) or 204 (the default), with ETag and Location.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ..protocol.documents import render
from ..protocol.limits import MAX_PUT_SIZE
from ..protocol.signing import UNSIGNED_PAYLOAD
from . import buckets, objects, public
from .auth import Identity
from .call import Call
from .errors import S3Fault
from .index import ObjectRecord
from .payload import PIECE, Digests, Received, continue_body, requested_algorithms
from .postpolicy import Policy, parse_policy, verify_form

__all__ = ["FIELDS_LIMIT", "post_object"]

FIELDS_LIMIT = 20 * 1024  # bytes of fields before the file, names and part overhead included
_PART_OVERHEAD = 64  # what each part's boundary and headers count against the limit
_KEPT = frozenset(
    {"cache-control", "content-type", "content-disposition", "content-encoding", "expires"}
)
_AUTH = frozenset(
    {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token"}
)


def _malformed() -> S3Fault:
    return S3Fault(
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )


async def _fields(reader: MultipartReader) -> tuple[dict[str, str], BodyPartReader | None]:
    """Rule 1: the fields before the file (first value of each name), and the file."""
    fields: dict[str, str] = {}
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise _malformed()  # a nested multipart: no browser sends one
        name = (part.name or "").lower()
        if name == "file":
            return fields, part
        total += len(name) + _PART_OVERHEAD
        value = bytearray()
        while True:
            if total > FIELDS_LIMIT:
                raise S3Fault(
                    "MaxPostPreDataLengthExceededError",
                    "Your POST request fields preceding the upload file were too large.",
                    extra={"MaxPostPreDataLength": str(FIELDS_LIMIT)},
                )
            chunk = await part.read_chunk(PIECE)
            if not chunk:
                break
            total += len(chunk)
            value += chunk
        try:
            fields.setdefault(name, value.decode())
        except UnicodeDecodeError:
            raise _malformed() from None
    return fields, None


def _headers(fields: dict[str, str]) -> dict[str, str]:
    """Rule 5: the request headers a PUT of the same object would carry."""
    headers = {
        name: value
        for name, value in fields.items()
        if name in _KEPT or (name.startswith("x-amz-") and name not in _AUTH)
    }
    if "acl" in fields:
        headers["x-amz-acl"] = fields["acl"]
    return headers


def _identity(call: Call, fields: dict[str, str]) -> Identity:
    """Rule 2: who uploads (the request's own signature wins over the form's)."""
    if not call.identity.anonymous:
        return call.identity
    if "policy" not in fields:
        raise public.anonymous_denied()
    found = verify_form(call.settings, fields)
    return Identity(found.access_key, UNSIGNED_PAYLOAD)


async def _store(call: Call, part: BodyPartReader, policy: Policy | None) -> tuple[str, Digests]:
    """Rule 4: the file into a published blob (its name) and its digests."""
    wanted = requested_algorithms(call.headers) or {objects.DEFAULT_CHECKSUM}
    digests = Digests(wanted, sha256=False)
    limits = [policy.max_size if policy else None, MAX_PUT_SIZE if call.settings.strict else None]
    limit = min((n for n in limits if n is not None), default=None)
    storage = call.storage
    temp = storage.blobs.create_temp()
    loop = asyncio.get_running_loop()

    def consume(piece: bytes) -> None:
        temp.write(piece)
        digests.update(piece)

    size = 0
    try:
        while piece := await part.read_chunk(PIECE):
            size += len(piece)
            if limit is not None and size > limit:
                if policy is not None:
                    policy.check_size(size)
                raise S3Fault(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    extra={"ProposedSize": str(size), "MaxSizeAllowed": str(limit)},
                )
            await loop.run_in_executor(None, consume, piece)
        if policy is not None:
            policy.check_size(size)
        computed = digests.values()
        for alg, value in Received(call.headers, {}).declared_checksums().items():
            if computed.get(alg) != value:
                raise S3Fault(
                    "BadDigest",
                    f"The {alg.upper()} you specified did not match the calculated checksum.",
                )
        return await storage.publish(temp), digests
    except BaseException:
        await storage.discard(temp)
        raise


def _reply(call: Call, fields: dict[str, str], record: ObjectRecord) -> web.Response:
    """Rule 6."""
    path = f"{call.resource.rstrip('/')}/{quote(record.key, safe='/~')}"
    location = f"http://{call.request.host}{path}"
    headers = {"ETag": record.etag, "Location": location}
    redirect = fields.get("success_action_redirect") or fields.get("redirect") or ""
    if redirect.startswith(("http://", "https://")):
        query = urlencode({"bucket": record.bucket, "key": record.key, "etag": record.etag})
        headers["Location"] = f"{redirect}{'&' if '?' in redirect else '?'}{query}"
        return call.reply(303, headers)
    status = fields.get("success_action_status")
    if status == "201":
        body = render(
            "PostResponse",
            [
                ("Location", location),
                ("Bucket", record.bucket),
                ("Key", record.key),
                ("ETag", record.etag),
            ],
            namespace=False,
        )
        return call.reply(201, {**headers, "Content-Type": "application/xml"}, body)
    return call.reply(200 if status == "200" else 204, headers)


async def post_object(call: Call) -> web.StreamResponse:
    """PostObject: rules 1-6."""
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    await continue_body(call.request)
    try:
        reader = await call.request.multipart()
        fields, part = await _fields(reader)
    except (ValueError, AssertionError, LookupError, RuntimeError):
        raise _malformed() from None
    except (ConnectionError, asyncio.IncompleteReadError, HttpProcessingError) as exc:
        raise S3Fault("IncompleteBody", f"The request body was cut short: {exc}") from exc
    if part is None:
        raise S3Fault(
            "IncorrectNumberOfFilesInPostRequest",
            "POST requires exactly one file upload per request.",
            extra={"ArgumentName": "file", "ArgumentValue": "0"},
        )
    if not fields.get("key"):
        raise S3Fault(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please "
            "check the order of the fields.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    fields["key"] = fields["key"].replace("${filename}", part.filename or "")
    identity = _identity(call, fields)
    policy = parse_policy(fields["policy"]) if "policy" in fields else None
    if policy is not None:
        policy.check(fields, call.bucket, datetime.fromtimestamp(call.now(), UTC))
    problem = buckets.key_problem(fields["key"])
    if problem is not None:
        raise S3Fault(*problem)
    form = dataclasses.replace(call, key=fields["key"], headers=_headers(fields), identity=identity)
    kept = {**objects.stored_headers(form.headers), **objects.attribute_headers(form)}
    try:
        name, digests = await _store(form, part, policy)
    except (ConnectionError, asyncio.IncompleteReadError, HttpProcessingError) as exc:
        raise S3Fault("IncompleteBody", f"The request body was cut short: {exc}") from exc
    record = ObjectRecord(
        call.bucket,
        fields["key"],
        ((name, digests.size),),
        digests.size,
        digests.etag,
        call.now(),
        form.headers.get("content-type") or objects.DEFAULT_TYPE,
        objects.user_metadata(form.headers),
        kept,
        digests.values(),
    )
    await call.storage.remove(await objects.commit(form, record))
    with contextlib.suppress(ValueError, AssertionError, LookupError, RuntimeError):
        await reader.release()  # fields after the file: read and ignored (rule 1)
    return _reply(call, fields, record)


public.authenticates_itself(post_object)
