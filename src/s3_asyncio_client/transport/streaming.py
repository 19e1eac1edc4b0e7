"""A reply whose body is read on demand (downloads)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from ..config import Timeouts
from .errors import map_exception

__all__ = ["StreamingResponse"]


class StreamingResponse:
    """An open reply whose body is read on demand; iterate it for chunks."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        chunk_size: int,
        timeouts: Timeouts | None = None,
        *,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        self._response = response
        self._chunk_size = chunk_size
        self._timeouts = timeouts
        self._bucket, self._key = bucket, key
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.headers.items()}

    def _error(self, exc: Exception) -> Exception:
        """``exc`` as an S3Error naming the object, if it is one of ours."""
        error = map_exception(exc, self._timeouts)
        if error is None:
            return exc
        error.bucket = error.bucket or self._bucket
        error.key = error.key or self._key
        return error

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left with -1); b"" at the end."""
        try:
            return await self._response.content.read(n)
        except Exception as exc:
            raise self._error(exc) from exc

    async def read_chunk(self) -> bytes:
        """The next piece of the body, as it arrived (no copy); b"" at the end."""
        try:
            while True:
                data, end_of_http_chunk = await self._response.content.readchunk()
                if data or not end_of_http_chunk:
                    return data
        except Exception as exc:
            raise self._error(exc) from exc

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(self._chunk_size):
            yield chunk
