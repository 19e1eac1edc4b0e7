"""``s3aio mv``: ``cp``, then the source of each file removed once its copy is
complete (and, for a download, verified). A file whose copy failed keeps its
source; a local tree moved whole loses its emptied folders too. Moving an object
onto itself is refused: the copy would be the object, and the delete would lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..client import S3Client

__all__ = ["remove_empty_folders", "removing_source"]

Action = Callable[..., Awaitable[None]]


def removing_source(client: S3Client, action: Action) -> Action:
    """``action`` (a ``cp`` of one file: upload, download or copy), then its source
    removed: the local file, or the object."""

    async def move(*args: object) -> None:
        source = args[0]
        if isinstance(source, Path):  # (path, bucket, key)
            await action(*args)
            await asyncio.to_thread(source.unlink)
            return
        bucket, key = str(source), str(args[1])
        if len(args) == 4 and (args[2], args[3]) == (bucket, key):
            raise click.UsageError(f"cannot move s3://{bucket}/{key} onto itself")
        await action(*args)
        await client.delete_object(bucket, key)

    return move


def _remove_empty(root: Path) -> None:
    for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):  # not empty: a file left stays, with its folders
            os.rmdir(folder)


async def remove_empty_folders(root: Path) -> None:
    """Remove ``root`` and the folders under it left empty by a move."""
    await asyncio.to_thread(_remove_empty, root)
