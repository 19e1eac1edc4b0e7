"""The plain values passed between the protocol and the I/O layers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Body", "HttpRequest", "HttpResponse"]

Body = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One S3 request, ready to sign.

    ``url`` is the wire URL: path and query percent-encoded exactly as they will be
    sent (and signed). Header names are lower case.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    # Set on operations whose 200 reply may carry an <Error> body (S3 streams
    # whitespace while it works, then reports failure in the body).
    error_in_body: bool = False


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A reply with its whole body read. Header names are lower case."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
