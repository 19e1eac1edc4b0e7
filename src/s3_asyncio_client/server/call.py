"""One request as the handlers see it: target, identity, settings, and reply helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import web

from ..protocol.documents import Content, render
from .auth import Identity
from .errors import S3Fault
from .integers import decimal
from .keys import Keyring
from .storage import Storage

__all__ = ["Call", "Settings", "iso_time", "parse_query"]


@dataclass(frozen=True, slots=True)
class Settings:
    """What the server was started with."""

    region: str = "us-east-1"
    strict: bool = False
    clock: Callable[[], float] = field(default=time.time)
    # Host ``<bucket>.<domain>`` addresses the bucket (virtual-host style).
    domain: str = "localhost"
    # The keys requests are checked against (None: auth off), for handlers that
    # verify a signature themselves (browser POST forms).
    keyring: Keyring | None = None


def parse_query(raw_query: str) -> dict[str, str]:
    """A raw query string's parameters, decoded (UnicodeDecodeError if not UTF-8); the
    first of a repeated name wins."""
    found: dict[str, str] = {}
    for item in raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            found.setdefault(unquote(name, errors="strict"), unquote(value, errors="strict"))
    return found


def iso_time(timestamp: float) -> str:
    """S3's XML time format, with milliseconds."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp))
    return f"{whole}.{int(timestamp * 1000) % 1000:03d}Z"


@dataclass(slots=True)
class Call:
    request: web.BaseRequest
    bucket: str | None
    key: str | None
    query: dict[str, str]
    headers: dict[str, str]
    identity: Identity
    request_id: str
    storage: Storage
    settings: Settings
    # Headers every reply to this request carries (CORS, for a request with Origin).
    reply_headers: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> dict[str, Content]:
        who = self.identity.access_key or "anonymous"
        return {"ID": who, "DisplayName": who}

    @property
    def resource(self) -> str:
        """The raw request path, as S3's error documents name it."""
        return self.request.raw_path.partition("?")[0] or "/"

    def now(self) -> float:
        return self.settings.clock()

    def base_headers(self) -> dict[str, str]:
        return {
            "x-amz-request-id": self.request_id,
            "x-amz-id-2": self.request_id,
            "Server": "LocalS3",
            **self.reply_headers,
        }

    def reply(
        self, status: int = 200, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> web.Response:
        merged = self.base_headers()
        merged.update(headers or {})
        return web.Response(status=status, headers=merged, body=body)

    def xml(
        self,
        root: str,
        items: Iterable[tuple[str, Content]],
        *,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        merged = {"Content-Type": "application/xml", **(headers or {})}
        return self.reply(200, merged, render(root, items))

    def int_param(self, name: str, default: int, low: int = 0, high: int = 2**31 - 1) -> int:
        """A whole-number query parameter in ``low..high``; InvalidArgument otherwise."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        value = decimal(text)
        if value is None or not low <= value <= high:
            raise S3Fault(
                "InvalidArgument",
                f"Provided {name} not an integer or within integer range",
                extra={"ArgumentName": name},
            )
        return value
