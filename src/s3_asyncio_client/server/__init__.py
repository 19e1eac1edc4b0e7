"""The embedded S3 server: a real S3 endpoint for one machine (development, tests,
demos). Not for production: one process, one disk, no replication.

    from s3_asyncio_client.server import LocalS3Server
    with LocalS3Server() as server:          # temp root, random keys, free port
        client = S3Client(endpoint_url=server.endpoint_url,
                          access_key=server.access_key, secret_key=server.secret_key)

``python -m s3_asyncio_client.server --root DIR --port 8080`` serves in the foreground.
Modules: runner (LocalS3Server, serve), connections (connection cap and timeouts), app
(routing, error replies), call (one request), auth and keys (SigV4, identities),
payload and chunked (request bodies, aws-chunked frames), storage, blobs and index
(disk), buckets, objects, multipart and completion (handlers), listing, conditions and
integers (pure rules: listings, preconditions, bounded numbers), errors (S3 codes).
"""

from __future__ import annotations

from .connections import ConnectionLimits
from .keys import load_credentials_file
from .runner import LocalS3Server, serve

__all__ = ["ConnectionLimits", "LocalS3Server", "load_credentials_file", "serve"]
