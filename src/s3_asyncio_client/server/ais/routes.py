"""AIStore's native API (``/v1/...``) on the embedded server: the request's target,
its bearer token, and the handler; every error as AIStore's JSON (wire.py).

Rules:

1. ``/v1`` and ``/v1/...`` on a path-style Host are native requests (no S3 bucket can
   be named ``v1``: S3 names have at least 3 characters); they never reach SigV4.
2. Only ``ais`` buckets exist (``?provider=`` naming another is 400). With keys,
   every native request but ``/v1/health`` needs the bearer token of one
   of them (wire.py, rule 3); with auth off all are open, as S3 requests are.
3. Native handlers are the S3 handlers on a ``Call`` whose headers are the request's
   without ``Content-Type`` (the SDK labels every body ``application/json``, object
   data included: it is never stored as the object's type), ``Authorization`` and any
   ``x-amz-*`` header: one namespace, one storage path. Their S3 errors are
   translated (``translate``) into AIStore's with the ``ais://`` names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from ...protocol.signing import UNSIGNED_PAYLOAD
from ..auth import Identity
from ..buckets import key_problem
from ..call import Call, Settings, parse_query
from ..errors import S3Fault
from ..storage import Storage
from ..vhost import host_bucket
from . import buckets, cluster, object_calls
from .wire import AisFault, check_token, error_reply

__all__ = ["addressed", "dispatch", "translate"]

log = logging.getLogger("s3_asyncio_client.server")
PREFIX = "/v1"
Handler = Callable[[Call], Awaitable[web.StreamResponse]]
_DROPPED = ("content-type", "authorization")


def addressed(raw_path: str, host: str | None, domain: str) -> bool:
    """Rule 1: whether a request is for the native API."""
    native = raw_path == PREFIX or raw_path.startswith(PREFIX + "/")
    return native and host_bucket(host, domain) is None


def translate(fault: S3Fault, bucket: str | None, key: str | None) -> AisFault:
    """An S3 handler's error as AIStore words it (wire.py, rule 1)."""
    where = f"ais://{bucket}" if bucket else ""
    where += f"/{key}" if bucket and key is not None else ""
    if fault.code == "NoSuchBucket":
        return AisFault(404, f'bucket "ais://{bucket}" does not exist')
    if fault.code == "NoSuchKey":
        return AisFault(404, f'object "{where}" does not exist')
    if fault.code == "NoSuchUpload":
        return AisFault(404, f'multipart upload of "{where}" does not exist (or has ended)')
    return AisFault(fault.status, f"{where}: {fault.message}" if where else fault.message)


def _target(raw_path: str) -> tuple[str, str | None, str | None]:
    """(kind, bucket, key) of ``/v1/<kind>/<bucket>/<key>``; names decoded once."""
    kind, _, rest = raw_path[len(PREFIX) + 1 :].partition("/")
    if kind == "objects":
        bucket_raw, slash, key_raw = rest.partition("/")
        key = unquote(key_raw, errors="strict") if slash else None
        return kind, unquote(bucket_raw, errors="strict") or None, key
    return kind, unquote(rest.strip("/"), errors="strict") or None, None


def _route(method: str, kind: str, bucket: str | None, key: str | None) -> Handler:
    if kind == "health" and method in ("GET", "HEAD"):
        return cluster.health
    if kind == "daemon" and method == "GET":
        return cluster.daemon
    if kind == "buckets":
        if bucket is None:
            if method == "GET":
                return buckets.list_buckets
        else:
            table = buckets.ROUTES
            if method in table:
                return table[method]
    if kind == "objects" and bucket is not None and key is not None:
        problem = key_problem(key)
        if problem is not None:
            raise AisFault(400, f'invalid object name "ais://{bucket}/{key}": {problem[1]}')
        if method in object_calls.ROUTES:
            return object_calls.ROUTES[method]
    raise AisFault(400, f"{method} {PREFIX}/{kind} is not supported by this server")


async def dispatch(
    request: web.BaseRequest, storage: Storage, settings: Settings, request_id: str
) -> web.StreamResponse:
    """Answer one native request (rules 1-3)."""
    bucket = key = None
    try:
        raw_path, _, raw_query = request.raw_path.partition("?")
        try:
            query = parse_query(raw_query)
            kind, bucket, key = _target(raw_path)
        except UnicodeDecodeError:
            raise AisFault(400, "the request's path or query is not valid UTF-8") from None
        access_key = None
        if kind != "health":
            access_key = check_token(settings.keyring, request.headers.get("authorization"))
        provider = query.get("provider", "ais")
        if provider not in ("ais", ""):
            raise AisFault(400, f"provider {provider!r} is not supported: only ais buckets here")
        handler = _route(request.method, kind, bucket, key)
        headers = {
            name.lower(): value
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED and not name.lower().startswith("x-amz-")
        }
        identity = Identity(access_key, UNSIGNED_PAYLOAD)
        call = Call(request, bucket, key, query, headers, identity, request_id, storage, settings)
        try:
            return await handler(call)
        except S3Fault as fault:
            raise translate(fault, bucket, key) from None
    except AisFault as fault:
        return error_reply(request, fault)
    except (ConnectionError, OSError) as exc:
        if request.transport is None or request.transport.is_closing():
            raise  # the client went away: nobody to answer
        log.exception("request %s failed", request_id)
        return error_reply(request, AisFault(500, f"internal error: {exc}"))
    except Exception as exc:
        log.exception("request %s failed", request_id)
        return error_reply(request, AisFault(500, f"internal error: {exc!r}"))
