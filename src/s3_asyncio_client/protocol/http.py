"""The plain values passed between the protocol and the I/O layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeGuard

__all__ = ["Body", "HttpRequest", "HttpResponse", "RequestBody", "Streamed", "in_memory"]

Body = bytes | bytearray | memoryview


class Streamed(Protocol):
    """A body the I/O layer reads piece by piece as it sends it (a region of a file).
    Only its length is known here; its checksums are computed beforehand, elsewhere."""

    def __len__(self) -> int: ...


RequestBody = Body | Streamed


def in_memory(body: RequestBody) -> TypeGuard[Body]:
    """True for bytes-like bodies, False for streamed ones."""
    return isinstance(body, bytes | bytearray | memoryview)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One S3 request, ready to sign.

    ``url`` is the wire URL: path and query percent-encoded exactly as they will be
    sent (and signed). Header names are lower case.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: RequestBody = b""
    # Set on operations whose 200 reply may carry an <Error> body (S3 streams
    # whitespace while it works, then reports failure in the body).
    error_in_body: bool = False


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A reply with its whole body read. Header names are lower case."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
