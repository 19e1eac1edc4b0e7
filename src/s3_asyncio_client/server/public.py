"""What a request with no credentials may do on a server that has keys.

Rules (a server without keys answers everyone, and never asks):

1. Reads only. GET and HEAD of an object whose ACL is ``public-read`` or
   ``public-read-write`` (ranges and ``partNumber`` included); the listing
   (ListObjects V1/V2) and HeadBucket of a bucket whose ACL is one of those. As in
   S3, a bucket's READ grant lists its objects but reads none of them: each object
   is public by its own ACL (``x-amz-acl: public-read`` on the PUT).
2. Writes stay refused, even on ``public-read-write`` (the server has no owner-less
   objects to create), and so does every sub-resource (ACL, tagging, versions, ...):
   only the plain listing parameters and ``partNumber`` / ``versionId`` pass.
3. ``response-*`` overrides are refused on an anonymous GET, as S3 refuses them.
4. A handler that authenticates the request itself (a browser form signed by its
   policy) registers with ``authenticates_itself`` and is let through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from . import acl, buckets, objects
from .call import Call
from .errors import S3Fault

__all__ = ["anonymous_allowed", "anonymous_denied", "authenticates_itself"]

Handler = Callable[[Call], Awaitable[web.StreamResponse]]
_SELF_AUTHENTICATED: set[Handler] = set()
_LISTING = frozenset(
    {
        "list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token",
        "start-after", "fetch-owner", "encoding-type", "x-id",
    }
)  # fmt: skip
_OBJECT_READ = frozenset({"partNumber", "versionId", "x-id"})


def anonymous_denied() -> S3Fault:
    return S3Fault("AccessDenied", "Anonymous access is not allowed on this server.")


def authenticates_itself(handler: Handler) -> Handler:
    """Rule 4: let anonymous requests reach ``handler``, which checks them itself."""
    _SELF_AUTHENTICATED.add(handler)
    return handler


def anonymous_allowed(call: Call, handler: Handler) -> bool:
    """Whether an anonymous ``call`` may run ``handler`` (rules 1-4)."""
    if handler in _SELF_AUTHENTICATED:
        return True
    if call.bucket is None or not call.storage.index.bucket_exists(call.bucket):
        return False
    if handler in (buckets.list_objects, buckets.head_bucket):
        return call.query.keys() <= _LISTING and acl.bucket_is_public(call)
    if handler not in (objects.get_object, objects.head_object):
        return False
    overrides = [name for name in call.query if name.startswith("response-")]
    if not call.query.keys() - set(overrides) <= _OBJECT_READ:
        return False
    public = acl.object_is_public(call)
    if not public and call.storage.index.get_object(call.bucket, call.key or "") is None:
        # Who may list the bucket may learn that a key is absent (404, as S3).
        public = acl.bucket_is_public(call)
    if public and overrides:
        raise S3Fault(
            "InvalidRequest",
            "Request specific response headers cannot be used for anonymous GET requests.",
        )
    return public
