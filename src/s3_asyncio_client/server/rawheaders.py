"""Reply headers that give back the exact bytes a request sent.

aiohttp's parser turns header bytes into text as UTF-8, keeping any byte that is not
UTF-8 as a lone surrogate (``surrogateescape``); its writer encodes text as UTF-8 and
drops such surrogates. A metadata value sent as ISO-8859-1 bytes (what http.client,
and so requests, puts on the wire for a ``str`` header; botocore sends UTF-8) would
lose its non-ASCII bytes on the way back. Replies carrying such a value are written
here instead: each line encoded with ``surrogateescape``, so every byte that arrived
is the byte that leaves. Replies without one are aiohttp's own.

This uses aiohttp's private header buffer (``StreamWriter._headers_buf``, which
buffers headers before sending); where it is missing such a reply falls back to
aiohttp's encoding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aiohttp import web

__all__ = ["SignedView", "escaped", "reply_class", "signed_text", "stream_class"]


def escaped(text: str) -> bool:
    """Whether ``text`` holds bytes that were not UTF-8 (kept as lone surrogates).
    Asked of every header of every request and GET reply: ASCII answers at C speed."""
    return not text.isascii() and any("\udc80" <= char <= "\udcff" for char in text)


def signed_text(value: str) -> str:
    """The text a client signed for a received header value: one whose bytes are not
    UTF-8 came as ISO-8859-1, http.client's encoding of the ``str`` it signed."""
    if escaped(value):
        return value.encode("utf-8", "surrogateescape").decode("latin-1")
    return value


class SignedView:
    """Request headers as the signature check reads them (``signed_text`` values)."""

    def __init__(self, request: web.BaseRequest) -> None:
        self._headers = request.headers

    def get(self, key: str, /) -> str | None:
        value = self._headers.get(key)
        return None if value is None else signed_text(value)

    def getall(self, key: str, default: list[str], /) -> list[str]:
        return [signed_text(value) for value in self._headers.getall(key, default)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)


def _wire(status_line: str, headers: Mapping[str, str]) -> bytes:
    lines = [status_line, *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


class _ExactHeaders(web.StreamResponse):
    async def _write_headers(self) -> None:
        request, writer = self._req, self._payload_writer
        assert request is not None
        assert writer is not None
        status_line = f"HTTP/{request.version[0]}.{request.version[1]} {self.status} {self.reason}"
        # aiohttp's own checks (no CR/LF) run on a copy it can encode; the bytes it
        # buffers are then replaced by the exact ones before anything is sent.
        safe = self._headers.copy()
        safe.clear()
        for name, value in self._headers.items():
            safe.add(name, value.encode("utf-8", "surrogateescape").decode("latin-1"))
        await writer.write_headers(status_line, safe)
        if getattr(writer, "_headers_buf", None) is not None:
            writer._headers_buf = _wire(status_line, self._headers)  # type: ignore[attr-defined]
        if getattr(self, "_send_headers_immediately", False):
            writer.send_headers()


class _ExactReply(_ExactHeaders, web.Response):
    pass


def reply_class(headers: Mapping[str, str]) -> type[web.Response]:
    """``web.Response``, or its exact-bytes variant when a header value needs it."""
    return _ExactReply if any(escaped(value) for value in headers.values()) else web.Response


def stream_class(headers: Mapping[str, str]) -> type[web.StreamResponse]:
    """``web.StreamResponse``, or its exact-bytes variant when a header value needs it."""
    if any(escaped(value) for value in headers.values()):
        return _ExactHeaders
    return web.StreamResponse
