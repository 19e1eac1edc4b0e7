"""Standard input to an object, an object to standard output: ``cp -``, ``cat``.

Standard input is uploaded as a stream of unknown length (read in a worker thread,
a part at a time, multipart past the first part: memory is bounded by the upload
engine); a failed upload is aborted. An object goes to standard output in order,
verified against its stored checksum once written, with no temporary file; nothing
but the object's bytes is printed there. Imported when such a command runs.
"""

from __future__ import annotations

import mimetypes
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import S3Client
    from ..config import TransferConfig
    from .progress import Reporter

__all__ = ["from_stdin", "range_to_stdout", "to_stdout"]


async def from_stdin(
    client: S3Client,
    bucket: str,
    key: str,
    config: TransferConfig,
    reporter: Reporter,
    content_type: str | None,
    metadata: dict[str, str] | None,
) -> None:
    """Upload standard input to ``bucket``/``key``."""
    target = f"s3://{bucket}/{key}"
    with reporter.file(f"- -> {target}", None, {"source": "-", "target": target}) as progress:
        await client.upload_file(
            bucket,
            key,
            sys.stdin.buffer,
            config=config,
            progress=progress,
            content_type=content_type or mimetypes.guess_type(key)[0],
            metadata=metadata,
        )


async def to_stdout(client: S3Client, bucket: str, key: str, config: TransferConfig) -> None:
    """Write the object to standard output, verified; raises S3IntegrityError after
    the last byte if the bytes disagree with the stored checksum."""
    await client.download_file(bucket, key, sys.stdout.buffer, config=config)


async def range_to_stdout(
    client: S3Client, bucket: str, key: str, first: int, last: int | None
) -> None:
    """Bytes ``first``..``last`` (inclusive; None: to the end) to standard output:
    one GET, not verified (S3 keeps checksums of whole objects and parts only)."""
    import asyncio

    out = sys.stdout.buffer
    async with client.open_object(bucket, key, byte_range=(first, last)) as stream:
        while piece := await stream.read_chunk():
            await asyncio.to_thread(out.write, piece)
    await asyncio.to_thread(out.flush)
