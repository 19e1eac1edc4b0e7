"""The protocol's own errors: neutral, shared by the client and the server.

    ProtocolError (ValueError)     a request or a reply S3's protocol cannot carry
    ├── LocalProtocolError         the caller asked for what no valid request holds:
    │                              a bad bucket name, a part number out of range, ...
    └── RemoteProtocolError        data that arrived is malformed: XML, a number, a key
        └── RemoteLengthError      a length missing, malformed or untrue

As in h11, "local" and "remote" say whose fault it is, seen from the code that called
the protocol. Nothing here knows either side's exceptions: each side maps these once,
at its edge. The client (``transport.errors``) raises S3InvalidRequestError for a
local error, S3ServerError for a remote one and S3LengthError for a length, with the
same message; the server (``server.errors``) answers the S3 error ``code`` named here,
where there is one.

Fields: ``message``; ``value``, the offending value (None when there was none);
``code``, the S3 error code S3 answers the fault with, when it has one; ``bucket`` and
``key`` it is about. They pickle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteLengthError", "RemoteProtocolError"]


class ProtocolError(ValueError):
    """A request or reply S3's protocol cannot carry (base of the tree above)."""

    def __init__(
        self,
        message: str,
        *,
        value: object = None,
        code: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.code = code
        self.bucket = bucket
        self.key = key

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {"value": self.value, "code": self.code, "bucket": self.bucket, "key": self.key}
        return (_rebuild, (type(self), self.message, fields))


def _rebuild(cls: type[ProtocolError], message: str, fields: dict[str, Any]) -> ProtocolError:
    return cls(message, **fields)


class LocalProtocolError(ProtocolError):
    """The caller's input cannot make a valid request (refused before sending)."""


class RemoteProtocolError(ProtocolError):
    """Data that arrived (a reply, or a request on the server) breaks the protocol."""


class RemoteLengthError(RemoteProtocolError):
    """A length that arrived (Content-Length, Content-Range, a listed Size) is missing,
    malformed or disagrees with the bytes; ``value`` is the text sent (None: none)."""
