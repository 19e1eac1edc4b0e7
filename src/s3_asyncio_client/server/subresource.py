"""Sub-resource requests (``?acl``, ``?tagging``): their handler, the object they name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from .call import Call
from .errors import S3Fault
from .index import ObjectRecord

__all__ = ["Handler", "handler_for", "no_such_key", "target_object"]

Handler = Callable[[Call], Awaitable[web.StreamResponse]]


def handler_for(table: Mapping[str, Handler], method: str) -> Handler:
    """The sub-resource's handler for ``method``; any other method is refused rather
    than taken for a plain request (a DELETE ?acl must never delete the object)."""
    if method not in table:
        raise S3Fault(
            "MethodNotAllowed", "The specified method is not allowed against this resource."
        )
    return table[method]


def no_such_key(key: str) -> S3Fault:
    return S3Fault("NoSuchKey", "The specified key does not exist.", extra={"Key": key})


def target_object(call: Call) -> ObjectRecord:
    """The object the request names; ``versionId`` may only be ``null`` (unversioned
    buckets), as S3 answers for an unversioned bucket."""
    assert call.bucket is not None
    assert call.key is not None
    version = call.query.get("versionId")
    if version is not None and version != "null":
        raise S3Fault(
            "InvalidArgument", "Invalid version id specified", extra={"ArgumentName": "versionId"}
        )
    call.storage.index.require_bucket(call.bucket)
    record = call.storage.index.get_object(call.bucket, call.key)
    if record is None:
        raise no_such_key(call.key)
    return record
