"""The request handler: raw target -> operation -> handler, and S3 error replies.

aiohttp's low-level server is used (no router): the router would decode and
normalise paths, and keys must arrive byte-exact. The raw path is split into bucket
and key here, decoded once (``%2F`` in a key is a ``/`` byte of the key, ``//`` and
``..`` are kept), and the same raw path is what the signature is checked against.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from ..protocol.documents import Content, render
from . import (
    acl,
    ais,
    attributes,
    buckets,
    completion,
    copying,
    cors,
    multipart,
    objects,
    postform,
    public,
    tagging,
    unset,
    versions,
    vhost,
)
from .auth import Verifier
from .call import Call, Settings, parse_query
from .errors import S3Fault
from .rawheaders import SignedView
from .storage import Storage

__all__ = ["Dispatcher"]

log = logging.getLogger("s3_asyncio_client.server")
Handler = Callable[[Call], Awaitable[web.StreamResponse]]
# Sub-resources we do not implement: answered with NotImplemented, never mistaken
# for a plain GET or PUT of the object or bucket.
_UNSUPPORTED = frozenset(
    {
        "accelerate", "analytics", "attributes", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging",
        "metrics", "notification", "object-lock", "ownershipControls", "policy",
        "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
        "retention", "select", "torrent", "website",
    }
)  # fmt: skip


def _target(raw_path: str, host_bucket: str | None = None) -> tuple[str | None, str | None]:
    """(bucket, key) from the raw path (and the bucket the Host named, if it did);
    key None for bucket requests."""
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    if host_bucket is not None:
        return host_bucket, unquote(path, errors="strict") if path else None
    if not path:
        return None, None
    bucket_raw, slash, key_raw = path.partition("/")
    bucket = unquote(bucket_raw, errors="strict")
    if not slash or not key_raw:
        return bucket, None
    return bucket, unquote(key_raw, errors="strict")


def _refuse_encryption(headers: dict[str, str]) -> None:
    """Encryption a client asks for but would not get is refused, never ignored: its
    data would sit in plain text, readable without the key it sent."""
    asked = headers.get("x-amz-server-side-encryption", "AES256")
    customer = "x-amz-server-side-encryption-customer-algorithm" in headers
    if customer or "x-amz-copy-source-server-side-encryption-customer-algorithm" in headers:
        asked = "SSE-C"
    if asked != "AES256":  # SSE-S3: the disk is the operator's to encrypt
        raise S3Fault(
            "NotImplemented", f"Server-side encryption {asked!r} is not implemented by this server."
        )


def _route(
    method: str, bucket: str | None, key: str | None, query: dict[str, str], headers: dict[str, str]
) -> Handler:
    _refuse_encryption(headers)
    versions.check_version_id(key, query)
    if key is not None and method == "GET" and "attributes" in query:
        return attributes.get_object_attributes
    subresource = acl.route(method, key, query) or tagging.route(method, key, query)
    subresource = subresource or cors.route(method, key, query) or unset.route(method, key, query)
    if subresource is not None:
        return subresource
    unsupported = _UNSUPPORTED & query.keys()
    if unsupported:
        raise S3Fault("NotImplemented", f"?{min(unsupported)} is not implemented by this server.")
    if bucket is None:
        if method == "GET":
            return buckets.list_buckets
    elif key is None:
        table: dict[str, Handler] = {
            "PUT": buckets.create_bucket,
            "HEAD": buckets.head_bucket,
            "DELETE": buckets.delete_bucket,
        }
        if method == "GET":
            if "uploads" in query:
                return multipart.list_uploads
            if "location" in query:
                return buckets.get_location
            if "versions" in query:
                return versions.list_versions
            if "versioning" in query:
                return versions.get_versioning
            return buckets.list_objects
        if method == "PUT" and "versioning" in query:
            return versions.put_versioning
        if method == "POST" and "delete" in query:
            return buckets.delete_objects
        if method == "POST" and headers.get("content-type", "").startswith("multipart/form-data"):
            return postform.post_object
        if method in table:
            return table[method]
    else:
        if "uploadId" in query:
            upload_table: dict[str, Handler] = {
                "PUT": multipart.upload_part,
                "GET": multipart.list_parts,
                "POST": completion.complete_upload,
                "DELETE": multipart.abort_upload,
            }
            if method in upload_table:
                return upload_table[method]
        elif method == "POST" and "uploads" in query:
            return multipart.create_upload
        elif method == "PUT":
            return copying.copy_object if "x-amz-copy-source" in headers else objects.put_object
        else:
            object_table: dict[str, Handler] = {
                "GET": objects.get_object,
                "HEAD": objects.head_object,
                "DELETE": objects.delete_object,
            }
            if method in object_table:
                return object_table[method]
    raise S3Fault("MethodNotAllowed", "The specified method is not allowed against this resource.")


class Dispatcher:
    """The aiohttp low-level handler: one call per request."""

    def __init__(self, storage: Storage, verifier: Verifier, settings: Settings) -> None:
        self.storage = storage
        self.verifier = verifier
        self.settings = settings

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        request_id = uuid.uuid4().hex[:16].upper()
        bucket = key = None
        try:
            raw_path, _, raw_query = request.raw_path.partition("?")
            if ais.addressed(raw_path, request.headers.get("host"), self.settings.domain):
                return await ais.dispatch(request, self.storage, self.settings, request_id)
            try:
                query = parse_query(raw_query)
                host_bucket = vhost.host_bucket(request.headers.get("host"), self.settings.domain)
                bucket, key = _target(raw_path, host_bucket)
            except UnicodeDecodeError:
                raise S3Fault("InvalidURI", "Couldn't parse the specified URI.") from None
            if key is not None:
                problem = buckets.key_problem(key)
                if problem is not None:
                    raise S3Fault(*problem)
            if request.method == "OPTIONS":  # a preflight carries no signature
                ids = {"x-amz-request-id": request_id, "x-amz-id-2": request_id}
                return cors.preflight(self.storage.index, request, bucket, key, ids)
            identity = self.verifier.authenticate(
                request.method,
                raw_path,
                raw_query,
                SignedView(request),
                f"/{host_bucket}{raw_path}" if host_bucket else None,
            )
            headers = {name.lower(): value for name, value in request.headers.items()}
            try:
                handler = _route(request.method, bucket, key, query, headers)
            except S3Fault:
                if identity.anonymous:  # tells a stranger nothing about the server
                    raise public.anonymous_denied() from None
                raise
            call = Call(
                request,
                bucket,
                key,
                query,
                headers,
                identity,
                request_id,
                self.storage,
                self.settings,
                cors.origin_headers(self.storage.index, request, bucket),
            )
            if identity.anonymous and not public.anonymous_allowed(call, handler):
                raise public.anonymous_denied()
            return await handler(call)
        except S3Fault as fault:
            return self._error(request, fault, request_id, bucket)
        except (ConnectionError, OSError) as exc:
            if request.transport is None or request.transport.is_closing():
                raise  # the client went away: nobody to answer
            log.exception("request %s failed", request_id)
            internal = S3Fault("InternalError", f"We encountered an internal error: {exc}")
            return self._error(request, internal, request_id, bucket)
        except Exception as exc:
            log.exception("request %s failed", request_id)
            internal = S3Fault("InternalError", f"We encountered an internal error: {exc!r}")
            return self._error(request, internal, request_id, bucket)

    def _error(
        self, request: web.BaseRequest, fault: S3Fault, request_id: str, bucket: str | None
    ) -> web.StreamResponse:
        headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id, "Server": "LocalS3"}
        headers.update(fault.headers)
        if request.method != "OPTIONS":
            headers.update(cors.origin_headers(self.storage.index, request, bucket))
        # The raw path: a key may hold characters an XML document cannot carry.
        resource = request.raw_path.partition("?")[0] or "/"
        body = b""
        if request.method != "HEAD" and fault.status != 304:
            headers["Content-Type"] = "application/xml"
            items: list[tuple[str, Content]] = [
                ("Code", fault.code),
                ("Message", fault.message),
                *((name, value) for name, value in fault.extra.items()),
                ("Resource", resource),
                ("RequestId", request_id),
            ]
            if bucket is not None and fault.code in ("NoSuchBucket", "BucketNotEmpty"):
                items.insert(2, ("BucketName", bucket))
            body = render("Error", items, namespace=False)
        response = web.Response(status=fault.status, headers=headers, body=body or None)
        if not request.content.at_eof() and request.method in ("PUT", "POST"):
            # The body was never read (refused early): the connection cannot carry
            # another request after it.
            response.force_close()
        return response
