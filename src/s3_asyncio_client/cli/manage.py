"""``s3aio ls | rm | mb | rb | presign | mpu``: buckets, listings, deletions, uploads."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from ..exceptions import S3Error
from . import Settings, describe, parse_s3_url, run
from .globs import is_glob, literal_prefix, matcher
from .output import Incomplete, echo, mode, result
from .progress import human_size

if TYPE_CHECKING:
    from ..client import ObjectSummary, S3Client

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


def _object_line(item: ObjectSummary, exact: bool) -> None:
    size = str(item["size"]) if exact else human_size(item["size"])
    result(f"{_when(item['last_modified'])} {size:>12}  {item['key']}", dict(item))


@click.command()
@click.argument("url", required=False)
@click.option("-r", "--recursive", is_flag=True, help="Every object under the prefix.")
@click.option("--bytes", "exact", is_flag=True, help="Sizes in bytes, not KiB/MiB/GiB.")
@click.pass_obj
def ls(settings: Settings, url: str | None, recursive: bool, exact: bool) -> None:
    """List buckets, or the objects and prefixes under s3://bucket/prefix.

    The key may hold wildcards, matched against whole keys: * and ? (any
    characters, / included) and [...] (one of a set). In the last segment only
    (s3://b/logs/2024-*.gz), one level is listed, as a shell's ls; before a "/"
    (s3://b/*/err.log) or with --recursive, every key below."""

    async def main() -> None:
        async with settings.client() as client:
            if url is None:
                for entry in await client.list_buckets():
                    when = _when(entry["creation_date"])
                    result(f"{when}  {entry['name']}", dict(entry))
                return
            bucket, pattern = parse_s3_url(url)
            prefix, wanted = pattern, None
            if is_glob(pattern):
                prefix, wanted = literal_prefix(pattern), matcher(pattern)
            # A wildcard past a "/" must see the keys below it: list them all.
            deep = recursive or (wanted is not None and "/" in pattern[len(prefix) :])
            if deep:
                async for item in client.iter_objects(bucket, prefix=prefix or None):
                    if wanted is None or wanted(item["key"]):
                        _object_line(item, exact)
                return
            pages = client.iter_object_pages(bucket, prefix=prefix or None, delimiter="/")
            async for page in pages:
                for common in page["common_prefixes"]:
                    if wanted is None or wanted(common.rstrip("/")) or wanted(common):
                        result(f"{'PRE':>32}  {common}", {"prefix": common})
                for item in page["contents"]:
                    if wanted is None or wanted(item["key"]):
                        _object_line(item, exact)

    run(settings, main())


@click.command()
@click.argument("urls", metavar="URL...", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Every object under each prefix.")
@click.option("--dryrun", is_flag=True, help="Print what would be deleted; delete nothing.")
@click.pass_obj
def rm(settings: Settings, urls: tuple[str, ...], recursive: bool, dryrun: bool) -> None:
    """Delete objects: each s3://bucket/key, or everything under each prefix with
    --recursive. One that fails does not stop the others; exit 1 lists them."""
    targets = [parse_s3_url(url) for url in urls]
    if not recursive and any(not key for _, key in targets):
        raise click.UsageError("give a key, or --recursive for a prefix")

    async def remove(client: S3Client, bucket: str, key: str) -> list[tuple[str, str]]:
        """Delete one URL's objects; the keys that could not be, and why. A prefix is
        listed and deleted as it is listed (1,000 keys a request, several at once):
        memory stays flat whatever the number of keys."""
        if not recursive:
            await client.head_object(bucket, key)  # a clear error if it is not there
            url = f"s3://{bucket}/{key}"
            if dryrun:
                echo(f"(dryrun) delete: {url}", record={"url": url, "status": "dryrun"})
            else:
                await client.delete_object(bucket, key)
                echo(f"deleted {url}", record={"url": url, "status": "deleted"})
            return []
        listed = (o["key"] async for o in client.iter_objects(bucket, prefix=key or None))
        if dryrun:
            async for name in listed:
                url = f"s3://{bucket}/{name}"
                echo(f"(dryrun) delete: {url}", record={"url": url, "status": "dryrun"})
            return []
        deleted, failures = 0, []
        async for batch in client.delete_keys(bucket, listed):
            deleted += batch.succeeded
            if mode.json:
                for name in batch.deleted:
                    echo(name, record={"url": f"s3://{bucket}/{name}", "status": "deleted"})
            failures += [
                (f"s3://{bucket}/{e['key']}", f"{e['code']}: {e.get('message', '')}")
                for e in batch.errors
            ]
        if not mode.json:
            echo(f"deleted {deleted} objects under s3://{bucket}/{key}")
        return failures

    async def main() -> None:
        failures: list[tuple[str, str]] = []
        async with settings.client() as client:
            for url, (bucket, key) in zip(urls, targets, strict=True):
                try:
                    failures += await remove(client, bucket, key)
                except S3Error as error:
                    if len(targets) == 1:
                        raise
                    failures.append((url, describe(error)))
        if failures:
            raise Incomplete(failures, len(targets) - len(failures))

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
            echo(f"made bucket s3://{bucket}", record={"bucket": bucket, "status": "made"})

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
                listed = (o["key"] async for o in client.iter_objects(bucket))
                async for batch in client.delete_keys(bucket, listed):
                    if batch.errors:
                        first = batch.errors[0]
                        raise S3Error(
                            f"{len(batch.errors)} objects could not be deleted, e.g. "
                            f"{first['key']!r}: {first['code']}",
                            bucket=bucket,
                        )
            await client.delete_bucket(bucket)
            echo(f"removed bucket s3://{bucket}", record={"bucket": bucket, "status": "removed"})

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
    signed = client.generate_presigned_url(method, bucket, key, expires_in=expires)
    result(signed, {"url": signed, "method": method, "expires_in": expires})


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
                line = f"{_when(upload['initiated'])}  {upload['upload_id']}  {upload['key']}"
                result(line, dict(upload))

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
                echo(f"aborted {upload_id}", record={"upload_id": upload_id, "status": "aborted"})
                return
            aborted = await client.abort_stale_uploads(
                bucket, older_than=_age(older_than or ""), prefix=key or None
            )
            for upload in aborted:
                line = f"aborted {upload['upload_id']}  {upload['key']}"
                echo(line, record={**upload, "status": "aborted"})
            echo(f"{len(aborted)} uploads aborted", record={"aborted": len(aborted)})

    run(settings, main())


COMMANDS = [ls, rm, mb, rb, presign, mpu]
