"""Disk storage: the index (metadata) and the blobs (bodies), kept consistent.

The order of every write is what makes a kill -9 at any moment harmless:

1. stream the body into ``tmp/`` (invisible), verify it;
2. rename it into ``blobs/`` (whole, still unreferenced);
3. commit the index row that names it (the object is now the new version);
4. unlink the blob the row used to name (the old version is gone).

Killed before 3: the old version stays, and startup removes the temp file or the
unreferenced blob. Killed after 3: the new version is whole; startup removes the old
blob. Multipart completion is the same with "parts" in place of the old blob.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from .blobs import Blobs, TempBlob
from .index import Index, ObjectRecord

__all__ = ["Storage"]

T = TypeVar("T")
_OPEN_ATTEMPTS = 5


class Storage:
    """Everything under one root folder; create it in the thread that will use it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.blobs = Blobs(root)
        self.index = Index(root / "index.sqlite3")
        self.swept = self.blobs.sweep(self.index.referenced_blobs())

    def close(self) -> None:
        self.index.close()

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run blocking file work in the executor, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def remove(self, names: Iterable[str | None]) -> None:
        wanted = [name for name in names if name]
        if wanted:
            await self.run(self.blobs.remove, wanted)

    async def discard(self, temp: TempBlob) -> None:
        await self.run(temp.discard)

    def open_object(self, bucket: str, key: str) -> tuple[ObjectRecord, int] | None:
        """The current record and an open descriptor on its blob, or None.

        A concurrent overwrite may unlink the blob between the lookup and the open:
        look again, the index then names the new one.
        """
        for _ in range(_OPEN_ATTEMPTS):
            record = self.index.get_object(bucket, key)
            if record is None:
                return None
            try:
                return record, self.blobs.open(record.blob)
            except FileNotFoundError:
                continue
        raise OSError(f"could not open the blob of {bucket}/{key}")

    @staticmethod
    def read_at(fd: int, size: int, offset: int) -> bytes:
        return os.pread(fd, size, offset)
