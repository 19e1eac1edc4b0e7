"""``s3aio stat``: what S3 keeps about one object.

Two HEADs at once: one with checksum mode (size, ETag, type, dates, metadata, the
stored checksum and its type), one of part 1, whose reply is the only one where S3
says how many parts a multipart object has (``x-amz-mp-parts-count``). A server that
refuses part numbers, or an object replaced between the two, leaves the count to
the ETag's ``-N`` suffix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..exceptions import S3Error
from . import Settings, parse_s3_url, run
from .output import result
from .progress import human_size

if TYPE_CHECKING:
    from ..client import ObjectInfo, S3Client

__all__ = ["COMMANDS"]


async def _part_one(client: S3Client, bucket: str, key: str) -> ObjectInfo | None:
    try:
        return await client.head_object(bucket, key, part_number=1)
    except S3Error:
        return None  # no part numbers here (or no object: the other HEAD says so)


async def describe_object(client: S3Client, bucket: str, key: str) -> dict[str, Any]:
    """The object's description, as ``--json`` prints it."""
    import asyncio

    info, part = await asyncio.gather(
        client.head_object(bucket, key, checksum_mode=True), _part_one(client, bucket, key)
    )
    parts = part.get("parts_count") if part is not None and part["etag"] == info["etag"] else None
    if parts is None:
        _, dash, tail = info["etag"].strip('"').rpartition("-")
        parts = int(tail) if dash and tail.isdigit() else None
    checksums = info.get("checksums", {})
    return {
        "url": f"s3://{bucket}/{key}",
        "size": info["content_length"],
        "etag": info["etag"],
        "content_type": info["content_type"],
        "last_modified": info["last_modified"],
        "parts_count": parts,
        "checksums": checksums,
        "checksum_type": info.get("checksum_type"),
        "metadata": info["metadata"],
    }


def _text(found: dict[str, Any]) -> str:
    checksum = ", ".join(f"{name} {value}" for name, value in found["checksums"].items())
    if checksum and found["checksum_type"]:
        checksum += f" ({found['checksum_type']})"
    rows = [
        ("size", f"{found['size']} ({human_size(found['size'])})"),
        ("etag", found["etag"]),
        ("content type", found["content_type"] or "-"),
        ("last modified", found["last_modified"] or "-"),
        ("parts", str(found["parts_count"] or 1)),
        ("checksum", checksum or "none kept"),
    ]
    rows += [(f"metadata {name}", value) for name, value in sorted(found["metadata"].items())]
    return "\n".join([found["url"], *(f"  {name + ':':<15} {value}" for name, value in rows)])


@click.command()
@click.argument("url")
@click.pass_obj
def stat(settings: Settings, url: str) -> None:
    """Show an object's size, ETag, type, dates, metadata, stored checksum and parts."""
    bucket, key = parse_s3_url(url)
    if not key:
        raise click.UsageError(f"{url!r} names no object")

    async def main() -> None:
        async with settings.client() as client:
            found = await describe_object(client, bucket, key)
        result(_text(found), found)

    run(settings, main())


COMMANDS = [stat]
