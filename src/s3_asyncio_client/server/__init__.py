"""The embedded S3 server: a real S3 endpoint for one machine (development, tests,
demos). Not for production: one process, one disk, no replication.

    from s3_asyncio_client.server import LocalS3Server
    with LocalS3Server() as server:          # temp root, random keys, free port
        client = S3Client(endpoint_url=server.endpoint_url,
                          access_key=server.access_key, secret_key=server.secret_key)

``python -m s3_asyncio_client.server --root DIR --port 8080`` serves in the foreground.
Modules: runner (LocalS3Server, serve), connections (connection cap and timeouts), app
(routing, error replies), vhost (virtual-host addressing), call (one request), auth,
sigv2, timestamps and keys (SigV4 and SigV2, presigned expiry, identities), public
(what anonymous requests may do), rawheaders (header bytes kept exact), payload and
chunked (request bodies, aws-chunked frames), storage, blobs, index and records (disk),
buckets, objects, copying, multipart and completion (handlers), versions (listing
unversioned buckets as versions), acl, tagging, cors and subresource (bucket and
object settings), postform and postpolicy (browser POST uploads), attributes
(GetObjectAttributes), listing, conditions and integers (pure rules: listings,
preconditions, bounded numbers), errors (S3 codes). The ais package answers
AIStore's native API (``/v1/...``) on the same storage, for the AIStore SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.lazy import lazy_attributes as _lazy_attributes

if TYPE_CHECKING:  # the lazy names below, for type checkers and IDEs
    from .ais import aistore_token
    from .connections import ConnectionLimits
    from .keys import load_credentials_file
    from .runner import LocalS3Server, serve

# Loaded on first access, so that ``python -m s3_asyncio_client.server --help`` and
# code that only names the package do not import aiohttp.
_LAZY = {
    "aistore_token": ".ais",
    "ConnectionLimits": ".connections",
    "load_credentials_file": ".keys",
    "LocalS3Server": ".runner",
    "serve": ".runner",
}


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


del TYPE_CHECKING

__all__ = ["ConnectionLimits", "LocalS3Server", "aistore_token", "load_credentials_file", "serve"]
