"""``s3aio ls | rm | mb | rb | presign | mpu``: buckets, listings, deletions, uploads."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from . import Settings, parse_s3_url, run
from .output import echo
from .progress import human_size

__all__ = ["COMMANDS"]


def _when(stamp: str) -> str:
    """ISO 8601 or RFC 1123 from the server -> ``YYYY-MM-DD HH:MM:SS``."""
    return stamp.replace("T", " ")[:19] if "T" in stamp else stamp


def _age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)\s*([smhdw])", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r} is not an age like 30m, 12h or 7d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{unit[match.group(2)]: int(match.group(1))})


@click.command()
@click.argument("url", required=False)
@click.option("-r", "--recursive", is_flag=True, help="Every object under the prefix.")
@click.option("--bytes", "exact", is_flag=True, help="Sizes in bytes, not KiB/MiB/GiB.")
@click.pass_obj
def ls(settings: Settings, url: str | None, recursive: bool, exact: bool) -> None:
    """List buckets, or the objects and prefixes under s3://bucket/prefix."""

    def size(value: int) -> str:
        return str(value) if exact else human_size(value)

    async def main() -> None:
        async with settings.client() as client:
            if url is None:
                for entry in await client.list_buckets():
                    echo(f"{_when(entry['creation_date'])}  {entry['name']}")
                return
            bucket, prefix = parse_s3_url(url)
            if recursive:
                async for item in client.iter_objects(bucket, prefix=prefix or None):
                    echo(f"{_when(item['last_modified'])} {size(item['size']):>12}  {item['key']}")
                return
            pages = client.iter_object_pages(bucket, prefix=prefix or None, delimiter="/")
            async for page in pages:
                for common in page["common_prefixes"]:
                    echo(f"{'PRE':>32}  {common}")
                for item in page["contents"]:
                    echo(f"{_when(item['last_modified'])} {size(item['size']):>12}  {item['key']}")

    run(settings, main())


@click.command()
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Every object under the prefix.")
@click.pass_obj
def rm(settings: Settings, url: str, recursive: bool) -> None:
    """Delete s3://bucket/key, or everything under a prefix with --recursive."""
    bucket, key = parse_s3_url(url)

    async def main() -> None:
        async with settings.client() as client:
            if not recursive:
                if not key:
                    raise click.UsageError("give a key, or --recursive for a prefix")
                await client.head_object(bucket, key)  # a clear error if it is not there
                await client.delete_object(bucket, key)
                echo(f"deleted s3://{bucket}/{key}")
                return
            keys = [o["key"] async for o in client.iter_objects(bucket, prefix=key or None)]
            result = await client.delete_objects(bucket, keys) if keys else None
            deleted = len(result["deleted"]) if result else 0
            echo(f"deleted {deleted} objects under s3://{bucket}/{key}")
            if result and result["errors"]:
                first = result["errors"][0]
                raise click.ClickException(
                    f"{len(result['errors'])} could not be deleted, e.g. {first['key']!r}: "
                    f"{first['code']}"
                )

    run(settings, main())


@click.command()
@click.argument("url")
@click.pass_obj
def mb(settings: Settings, url: str) -> None:
    """Make a bucket."""
    bucket, _ = parse_s3_url(url)

    async def main() -> None:
        async with settings.client() as client:
            await client.create_bucket(bucket)
            echo(f"made bucket s3://{bucket}")

    run(settings, main())


@click.command()
@click.argument("url")
@click.option("--force", is_flag=True, help="First delete every object and upload in it.")
@click.pass_obj
def rb(settings: Settings, url: str, force: bool) -> None:
    """Remove a bucket (it must be empty, unless --force)."""
    bucket, _ = parse_s3_url(url)

    async def main() -> None:
        async with settings.client() as client:
            if force:
                await client.abort_stale_uploads(bucket, older_than=timedelta(days=-1))
                keys = [o["key"] async for o in client.iter_objects(bucket)]
                if keys:
                    await client.delete_objects(bucket, keys)
            await client.delete_bucket(bucket)
            echo(f"removed bucket s3://{bucket}")

    run(settings, main())


@click.command()
@click.argument("url")
@click.option("--method", type=click.Choice(["GET", "PUT"]), default="GET")
@click.option(
    "--expires", type=click.IntRange(1, 604800), default=3600, help="Seconds (max 7 days)."
)
@click.pass_obj
def presign(settings: Settings, url: str, method: str, expires: int) -> None:
    """Print a presigned URL for s3://bucket/key."""
    bucket, key = parse_s3_url(url)
    if not key:
        raise click.UsageError("give s3://bucket/key")
    client = settings.client()
    echo(client.generate_presigned_url(method, bucket, key, expires_in=expires))


@click.group()
def mpu() -> None:
    """Multipart uploads in progress (they are stored, and billed, until aborted)."""


@mpu.command("ls")
@click.argument("url")
@click.pass_obj
def mpu_ls(settings: Settings, url: str) -> None:
    """List uploads in progress under s3://bucket/prefix."""
    bucket, prefix = parse_s3_url(url)

    async def main() -> None:
        async with settings.client() as client:
            async for upload in client.iter_multipart_uploads(bucket, prefix=prefix or None):
                echo(f"{_when(upload['initiated'])}  {upload['upload_id']}  {upload['key']}")

    run(settings, main())


@mpu.command("abort")
@click.argument("url")
@click.option("--upload-id", help="The upload to abort (with s3://bucket/key).")
@click.option("--older-than", help="Abort every upload under the prefix older than this (7d).")
@click.pass_obj
def mpu_abort(settings: Settings, url: str, upload_id: str | None, older_than: str | None) -> None:
    """Abort one upload (--upload-id) or all older than an age (--older-than)."""
    bucket, key = parse_s3_url(url)
    if (upload_id is None) == (older_than is None):
        raise click.UsageError("give exactly one of --upload-id and --older-than")

    async def main() -> None:
        from ..client import MultipartUpload

        async with settings.client() as client:
            if upload_id is not None:
                await MultipartUpload(client, bucket, key, upload_id).abort()
                echo(f"aborted {upload_id}")
                return
            aborted = await client.abort_stale_uploads(
                bucket, older_than=_age(older_than or ""), prefix=key or None
            )
            for upload in aborted:
                echo(f"aborted {upload['upload_id']}  {upload['key']}")
            echo(f"{len(aborted)} uploads aborted")

    run(settings, main())


COMMANDS = [ls, rm, mb, rb, presign, mpu]
