"""Bucket configurations this server never holds, read as S3 reads a bucket without one.

Tools probe them (is there a policy? a lifecycle?) and clean them up before deleting a
bucket; a 501 would stop them where S3 says "none". So GET answers what S3 answers for
a bucket that has none (a ``NoSuch...`` 404, or an empty document for the few S3 always
has), DELETE succeeds (there is nothing to remove), and PUT stays 501 NotImplemented:
a configuration the server would silently ignore is worse than a refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from ..protocol.documents import Content
from .call import Call
from .errors import S3Fault

__all__ = ["route"]

Handler = Callable[[Call], Awaitable[web.StreamResponse]]

# Sub-resource -> the 404 S3 sends for a bucket without that configuration.
_MISSING = {
    "encryption": (
        "ServerSideEncryptionConfigurationNotFoundError",
        "The server side encryption configuration was not found",
    ),
    "lifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "object-lock": (
        "ObjectLockConfigurationNotFoundError",
        "Object Lock configuration does not exist for this bucket",
    ),
    "ownershipControls": (
        "OwnershipControlsNotFoundError",
        "The bucket ownership controls were not found",
    ),
    "policy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "policyStatus": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "publicAccessBlock": (
        "NoSuchPublicAccessBlockConfiguration",
        "The public access block configuration was not found",
    ),
    "replication": (
        "ReplicationConfigurationNotFoundError",
        "The replication configuration was not found",
    ),
    "website": (
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration",
    ),
}
# Sub-resource -> the document S3 returns for a bucket that never set it.
_EMPTY: Mapping[str, tuple[str, list[tuple[str, Content]]]] = {
    "accelerate": ("AccelerateConfiguration", []),
    "logging": ("BucketLoggingStatus", []),
    "notification": ("NotificationConfiguration", []),
    "requestPayment": ("RequestPaymentConfiguration", [("Payer", "BucketOwner")]),
}
_DELETABLE = frozenset(_MISSING) - {"policyStatus", "object-lock"}


def route(method: str, key: str | None, query: Mapping[str, str]) -> Handler | None:
    """The handler for a bucket's GET/DELETE of a configuration never set; else None."""
    if key is not None:
        return None
    names = (_MISSING.keys() | _EMPTY.keys()) & query.keys()
    if len(names) != 1:
        return None
    (name,) = names
    if method == "GET":
        return _getter(name)
    if method == "DELETE" and name in _DELETABLE:
        return _delete
    return None


def _getter(name: str) -> Handler:
    async def get(call: Call) -> web.StreamResponse:
        assert call.bucket is not None
        call.storage.index.require_bucket(call.bucket)
        if name in _MISSING:
            code, message = _MISSING[name]
            raise S3Fault(code, message, extra={"BucketName": call.bucket})
        root, items = _EMPTY[name]
        return call.xml(root, items)

    return get


async def _delete(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    return call.reply(204)
