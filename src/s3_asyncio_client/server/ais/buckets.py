"""AIStore bucket calls: create-bck, HEAD, destroy-bck, list (objects), list buckets.

Rules:

1. A bucket is an S3 bucket too, so a new name must pass AIStore's rules (letters,
   digits, ``-``, ``_``, ``.``; not ``.`` or ``..``; at most 64) and S3's (3-63 of
   ``a-z 0-9 . -``, ...): a name either refuses is 400 in AIStore's form, saying which.
2. Creating a bucket that exists is 409 naming ``ais://b`` (the SDK's
   ``ErrBckAlreadyExists``, which ``create(exist_ok=True)`` ignores).
3. ``destroy-bck`` deletes the bucket with everything in it: objects and open uploads.
4. A listing (a GET with the action ``list``) pages by name: ``pagesize`` (0: at most
   10,000), ``prefix``, ``start_after``, and ``ContinuationToken`` (the last name of
   the page, empty on the last page). MessagePack when asked for (the SDK always
   asks, and decodes nothing else), JSON otherwise. ``UUID`` names the listing.
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from .. import acl
from ..buckets import valid_bucket_name
from ..call import Call
from ..index import ObjectRecord
from .wire import MSGPACK, AisFault, Packable, json_reply, msgpack, read_action

__all__ = ["ROUTES", "list_buckets"]

_AIS_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_PAGE = 10_000


def _check_name(name: str) -> None:
    """Rule 1."""
    if not _AIS_NAME.match(name) or name in (".", ".."):
        raise AisFault(
            400,
            f'bucket name "{name}" is invalid: may only contain letters, numbers, dashes (-), '
            "underscores (_), and dots (.), at most 64 characters, and may not be '.' or '..'",
        )
    if not valid_bucket_name(name):
        raise AisFault(
            400,
            f'bucket name "{name}" is invalid here: every bucket of this server is also an S3 '
            "bucket, so names follow S3's rules too (3-63 characters of a-z, 0-9, '.' and '-', "
            "starting and ending with a letter or digit, no '..', not an IP address)",
        )


async def _create(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    await read_action(call, "create-bck")
    _check_name(call.bucket)
    setting = acl.bucket_acl_setting(call)  # the owner's private ACL, as S3 creates it
    if not call.storage.index.create_bucket(call.bucket, call.now()):
        raise AisFault(409, f'bucket "ais://{call.bucket}" already exists')
    call.storage.index.set_bucket_setting(call.bucket, acl.BUCKET_SETTING, setting)
    return web.Response(status=200)


async def _head(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    return web.Response(status=200)


async def _destroy(call: Call) -> web.StreamResponse:
    """Rule 3: one pass with no await, so nothing is added meanwhile."""
    assert call.bucket is not None
    await read_action(call, "destroy-bck")
    index = call.storage.index
    index.require_bucket(call.bucket)
    blobs: list[str] = []
    while records := index.scan_objects(call.bucket, "", inclusive=True, limit=1000):
        blobs += index.delete_objects(call.bucket, [record.key for record in records])
    blobs += index.delete_bucket(call.bucket)
    await call.storage.remove(blobs)
    return web.Response(status=200)


def _entry(record: ObjectRecord) -> dict[str, Packable]:
    entry: dict[str, Packable] = {"n": record.key, "s": record.size}
    etag = record.etag.strip('"')
    if "-" not in etag:  # a single PUT's ETag is the MD5 of its bytes
        entry["cs"] = etag
    return entry


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AisFault(400, f"list: {name} must be a string")
    return value


async def _list(call: Call) -> web.StreamResponse:
    """Rule 4."""
    assert call.bucket is not None
    message = await read_action(call, "list")
    value = message.get("value")
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise AisFault(400, "list: value must be an object")
    prefix = _text(value.get("prefix"), "prefix")
    token = _text(value.get("continuation_token"), "continuation_token")
    after = token or _text(value.get("start_after"), "start_after")
    size = value.get("pagesize") or 0
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise AisFault(400, "list: pagesize must be a whole number")
    size = min(size or MAX_PAGE, MAX_PAGE)
    index = call.storage.index
    index.require_bucket(call.bucket)
    start, inclusive = (after, False) if after > prefix else (prefix, True)
    found = index.scan_objects(call.bucket, start, inclusive=inclusive, limit=size + 1)
    found = [record for record in found if record.key.startswith(prefix)]
    page = found[:size]
    more = len(found) > size
    reply: dict[str, Packable] = {
        # A listing's id, echoed on its later pages: the SDK's iterator stops at the
        # first page with an id and no token.
        "UUID": _text(value.get("uuid"), "uuid") or secrets.token_hex(8),
        "ContinuationToken": page[-1].key if more else "",
        "Flags": 0,
        "Entries": [_entry(record) for record in page],
    }
    if MSGPACK in call.headers.get("accept", ""):
        return web.Response(status=200, body=msgpack(reply), content_type=MSGPACK)
    return json_reply(reply)


async def list_buckets(call: Call) -> web.StreamResponse:
    """Every bucket, as the SDK's ``cluster().list_buckets()`` reads them."""
    if call.request.body_exists:
        await read_action(call, "list")
    names = [name for name, _ in call.storage.index.list_buckets()]
    return json_reply(
        [{"name": name, "provider": "ais", "namespace": {"uuid": "", "name": ""}} for name in names]
    )


ROUTES = {"POST": _create, "HEAD": _head, "DELETE": _destroy, "GET": _list}
