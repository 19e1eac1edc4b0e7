"""AIStore object calls: PUT, GET (Range: 206), HEAD, DELETE, and multipart uploads
(``mpt-upload``, part PUTs, ``mpt-complete``, ``mpt-abort``), on the S3 handlers.

Rules:

1. Bodies go through the S3 handlers (objects.py, multipart.py): an object written
   here is an S3 object with the same ETag, checksums and stored type
   (``binary/octet-stream``: the SDK's ``application/json`` label is not the data's).
2. HEAD adds what the SDK reads: ``ais-name``, ``ais-bucket-name``,
   ``ais-bucket-provider``, ``ais-present``, and the MD5 as ``ais-checksum-*`` when
   the ETag is one (a single PUT).
3. DELETE of a missing object is 404 (AIStore's answer; S3's is 204).
4. ``mpt-upload`` answers the upload ID as plain text.
5. ``mpt-complete`` lists part numbers in any order with ETags AIStore ignores. Sorted,
   they must be exactly 1..N (400 otherwise), each uploaded (400), and name every part
   uploaded (501: completing with a subset is not supported). The object is the S3
   completion's (``completion.assemble``): ETag ``-N``, its parts kept.
6. ``mpt-abort`` (DELETE with ``uploadId``) answers 200.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from .. import completion, multipart
from .. import objects as s3_objects
from ..call import Call
from ..errors import S3Fault
from ..index import UploadRecord
from .wire import AisFault, read_action

__all__ = ["ROUTES"]


def _where(call: Call) -> str:
    return f"ais://{call.bucket}/{call.key}"


async def _put(call: Call) -> web.StreamResponse:
    if "uploadId" in call.query:
        await multipart.upload_part(call)
    else:
        await s3_objects.put_object(call)
    return web.Response(status=200)


async def _get(call: Call) -> web.StreamResponse:
    return await s3_objects.get_object(call)


async def _head(call: Call) -> web.StreamResponse:
    """Rule 2."""
    assert call.bucket is not None
    assert call.key is not None
    response = await s3_objects.get_object(call, head=True)
    response.headers.update(
        {
            "ais-name": call.key,
            "ais-bucket-name": call.bucket,
            "ais-bucket-provider": "ais",
            "ais-present": "true",
        }
    )
    etag = response.headers.get("ETag", "").strip('"')
    if etag and "-" not in etag:
        response.headers.update({"ais-checksum-type": "md5", "ais-checksum-value": etag})
    return response


async def _delete(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    assert call.key is not None
    if "uploadId" in call.query:
        await read_action(call, "mpt-abort")
        await multipart.abort_upload(call)
        return web.Response(status=200)
    call.storage.index.require_bucket(call.bucket)
    if call.storage.index.get_object(call.bucket, call.key) is None:  # rule 3
        raise S3Fault("NoSuchKey", "The specified key does not exist.")
    await s3_objects.delete_object(call)
    return web.Response(status=200)


async def _post(call: Call) -> web.StreamResponse:
    message = await read_action(call, "mpt-upload", "mpt-complete")
    if message["action"] == "mpt-complete":
        if "uploadId" not in call.query:
            raise AisFault(400, f"{_where(call)}: mpt-complete needs the uploadId parameter")
        return await _complete(call, message.get("value"))
    return _create(call)


def _create(call: Call) -> web.StreamResponse:
    """Rule 4: an upload as S3's CreateMultipartUpload makes one with no headers."""
    assert call.bucket is not None
    assert call.key is not None
    record = UploadRecord(
        secrets.token_urlsafe(36),
        call.bucket,
        call.key,
        call.now(),
        s3_objects.DEFAULT_TYPE,
        {},
        {},
        None,
    )
    call.storage.index.create_upload(record)
    return web.Response(status=200, text=record.upload_id)


def _numbers(value: object, where: str) -> list[int]:
    """The part numbers an ``mpt-complete`` lists, sorted (rule 5)."""
    if not isinstance(value, list) or not value:
        raise AisFault(400, f"{where}: mpt-complete needs a non-empty list of parts")
    numbers = []
    for item in value:
        number = item.get("part-number") if isinstance(item, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise AisFault(400, f'{where}: each part needs a whole "part-number": got {item!r}')
        numbers.append(number)
    numbers.sort()
    if numbers != list(range(1, len(numbers) + 1)):
        raise AisFault(
            400, f"{where}: part numbers must be 1..N with no gap or repeat, got {numbers}"
        )
    return numbers


async def _complete(call: Call, value: object) -> web.StreamResponse:
    """Rule 5, with no await between the checks and the commit."""
    numbers = _numbers(value, _where(call))
    upload = multipart.upload_of(call)
    staged = {part.number: part for part in call.storage.index.parts(upload.upload_id)}
    missing = [number for number in numbers if number not in staged]
    if missing:
        raise AisFault(400, f"{_where(call)}: parts {missing} were never uploaded")
    left_out = sorted(set(staged) - set(numbers))
    if left_out:
        raise AisFault(
            501,
            f"{_where(call)}: completing with a subset of the uploaded parts is not supported "
            f"(uploaded but not listed: {left_out})",
        )
    record = completion.assemble(call, upload, [staged[number] for number in numbers])
    await call.storage.remove(call.storage.index.complete_upload(upload, record))
    return web.Response(status=200)


ROUTES = {"PUT": _put, "GET": _get, "HEAD": _head, "DELETE": _delete, "POST": _post}
