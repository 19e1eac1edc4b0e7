"""Raw HTTP requests for server tests: the path is sent exactly as given (no client
library re-quotes or normalises it) and signed with our SigV4 signer, or not at all.
No pytest import here."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from s3_asyncio_client.protocol.signing import UNSIGNED_PAYLOAD, Credentials, sign_headers

__all__ = ["Reply", "request", "signed"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> str | None:
        """The <Code> of an error document, if any."""
        start = self.body.find(b"<Code>")
        if start < 0:
            return None
        return self.body[start + 6 : self.body.find(b"</Code>")].decode()


def request(
    endpoint_url: str,
    method: str,
    path: str,
    *,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    credentials: Credentials | None = None,
    region: str = "us-east-1",
    timestamp: datetime | None = None,
    payload_hash: str | None = None,
    content_length: int | None = None,
    timeout: float = 30.0,
    unsigned: dict[str, str] | None = None,
) -> Reply:
    """Send one request; ``path`` is the raw path and query, e.g. ``/b/a%20b?x=1``.

    With ``credentials`` it is signed (``payload_hash`` defaults to the body's
    SHA-256 for bytes bodies, UNSIGNED-PAYLOAD for iterables). ``unsigned`` headers
    are added after signing, as a tampering proxy would. A ``host`` in ``headers`` is
    sent and signed instead of the endpoint's (virtual-host names need not resolve).
    """
    parts = urlsplit(endpoint_url)
    host = parts.netloc
    sent = {k.lower(): v for k, v in (headers or {}).items()}
    sent.setdefault("host", host)  # another Host (a virtual-host name) goes to the same socket
    if isinstance(body, bytes):
        sent.setdefault("content-length", str(len(body)))
    elif content_length is not None:
        sent["content-length"] = str(content_length)
    if credentials is not None:
        if payload_hash is None:
            payload_hash = (
                hashlib.sha256(body).hexdigest() if isinstance(body, bytes) else UNSIGNED_PAYLOAD
            )
        signed = sign_headers(
            method,
            f"{parts.scheme}://{host}{path}",
            list(sent.items()),
            credentials,
            region=region,
            timestamp=timestamp or datetime.now(UTC),
            payload_hash=payload_hash,
        )
        sent.update(signed.headers)
    sent.update({k.lower(): v for k, v in (unsigned or {}).items()})
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        if isinstance(body, bytes):
            if body:
                connection.send(body)
        else:
            for chunk in body:
                connection.send(chunk)
        reply = connection.getresponse()
        data = reply.read()
        return Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)
    finally:
        connection.close()


class Identity(Protocol):
    """A server and the keys to sign for it (ServerInfo, LocalS3Server)."""

    @property
    def endpoint_url(self) -> str: ...
    @property
    def access_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...


def signed(server: Identity, method: str, path: str, **options: Any) -> Reply:
    """``request`` to ``server``, signed with its own keys."""
    credentials = Credentials(server.access_key, server.secret_key)
    return request(server.endpoint_url, method, path, credentials=credentials, **options)
