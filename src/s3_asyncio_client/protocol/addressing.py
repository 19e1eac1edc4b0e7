"""Where a request goes: endpoint + bucket + key + query -> wire URL.

Keys are encoded once, byte for byte (``uri_encode`` keeping ``/``), and never
normalised: ``a//b``, ``../x`` and ``%`` are key bytes. The URL built here is the one
sent and the one signed, so transports must send it without re-quoting.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .errors import LocalProtocolError
from .signing import uri_encode

__all__ = ["Addressing", "Endpoint", "Query", "encode_query"]

Addressing = Literal["auto", "path", "virtual"]
Query = Sequence[tuple[str, str | None]]
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _dns_name(bucket: str) -> bool:
    """True if ``bucket`` can be a host name (dotted names: each label valid)."""
    return 3 <= len(bucket) <= 63 and all(_DNS_LABEL.match(p) for p in bucket.split("."))


def encode_query(query: Query) -> str:
    """Wire form of ``query``; a ``None`` value gives a bare name (``?uploads``)."""
    return "&".join(
        uri_encode(name) if value is None else f"{uri_encode(name)}={uri_encode(value)}"
        for name, value in query
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An S3 endpoint such as ``http://127.0.0.1:9000`` or ``https://s3.eu-west-1.amazonaws.com``.

    ``addressing="auto"`` puts DNS-compatible buckets in the host name on AWS and
    uses path-style everywhere else (S3-compatible servers, IP addresses, localhost).
    """

    url: str
    addressing: Addressing = "auto"
    # Parts of ``url``, split once: every request's URL starts from them.
    _base: str = field(init=False, repr=False, compare=False)
    _path: str = field(init=False, repr=False, compare=False)
    _aws: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
            raise LocalProtocolError(
                f"endpoint_url must be http(s)://host[:port], got {shown!r}", value=shown
            )
        if self.addressing not in ("auto", "path", "virtual"):
            raise LocalProtocolError(
                f"addressing must be 'auto', 'path' or 'virtual', got {self.addressing!r}",
                value=self.addressing,
            )
        normal = parts._replace(scheme=parts.scheme.lower()).geturl().rstrip("/")
        object.__setattr__(self, "url", normal)
        normal_parts = urlsplit(normal)
        object.__setattr__(self, "_base", f"{normal_parts.scheme}://{normal_parts.netloc}")
        object.__setattr__(self, "_path", normal_parts.path)
        host = normal_parts.hostname or ""
        object.__setattr__(self, "_aws", host.endswith(".amazonaws.com"))

    @property
    def secure(self) -> bool:
        return self.url.startswith("https:")

    @property
    def is_loopback(self) -> bool:
        """True for localhost and 127.0.0.0/8 or ::1: nobody can tamper in between."""
        host = urlsplit(self.url).hostname or ""
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _virtual(self, bucket: str) -> bool:
        if self.addressing == "path":
            return False
        if self.addressing == "virtual":
            if not _dns_name(bucket):
                raise LocalProtocolError(
                    f"bucket {bucket!r} cannot be a host name; use path addressing",
                    value=bucket,
                    bucket=bucket,
                )
            return True
        if not self._aws:
            return False
        # Dotted names break TLS wildcard certificates: path-style over https.
        return bool(_DNS_BUCKET.match(bucket)) or (not self.secure and _dns_name(bucket))

    def url_for(self, bucket: str | None = None, key: str | None = None, query: Query = ()) -> str:
        """The wire URL of a bucket, an object or the service itself."""
        base, path = self._base, self._path
        virtual = bucket is not None and self._virtual(bucket)
        if bucket is not None:
            if virtual:
                scheme, _, netloc = base.partition("://")
                base = f"{scheme}://{bucket}.{netloc}"
            else:
                path += "/" + uri_encode(bucket)
        path += "/" + uri_encode(key, keep_slash=True) if key is not None else "/"
        if bucket is not None and key is None and not virtual:
            path = path.rstrip("/") or "/"
        encoded = encode_query(query)
        return f"{base}{path}?{encoded}" if encoded else f"{base}{path}"
