"""What ``s3aio cp`` does once its options are parsed: one file or a whole tree, up,
down or from bucket to bucket. Imported when the command runs, so that parsing the
command line (``--help``) loads neither asyncio nor the client.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import click

from ..exceptions import S3InvalidRequestError
from . import Settings, parse_s3_url
from .output import echo
from .progress import Reporter

if TYPE_CHECKING:
    from ..client import ObjectSummary, S3Client
    from ..config import TransferConfig

__all__ = ["copy"]


def _local_target(directory: Path, key: str, relative: str) -> Path:
    """``directory / relative`` for ``key``, refusing keys that would leave
    ``directory`` or that name a folder, not a file."""
    parts = PurePosixPath(relative).parts
    if not parts or ".." in parts or PurePosixPath(relative).is_absolute():
        raise S3InvalidRequestError(f"key {key!r} cannot be a local file name under {directory}")
    if relative.endswith("/"):
        raise S3InvalidRequestError(
            f"key {key!r} holds data but ends in '/': no file can be named so"
        )
    return directory.joinpath(*parts)


def _is_folder_marker(item: ObjectSummary) -> bool:
    """An empty key ending in "/", made by consoles and tools to show a folder. A
    recursive copy from S3 skips it, as aws-cli does: it holds no data, and the
    folders it stands for are made for the files in them (an empty one is not)."""
    return item["size"] == 0 and item["key"].endswith("/")


class _Copier:
    def __init__(
        self,
        client: S3Client,
        config: TransferConfig,
        reporter: Reporter,
        content_type: str | None,
        metadata: dict[str, str] | None,
    ) -> None:
        self.client, self.config, self.reporter = client, config, reporter
        self.content_type, self.metadata = content_type, metadata

    async def upload(self, path: Path, bucket: str, key: str) -> None:
        content_type = self.content_type or mimetypes.guess_type(path.name)[0]
        size = (await asyncio.to_thread(path.stat)).st_size
        with self.reporter.file(f"{path} -> s3://{bucket}/{key}", size) as progress:
            await self.client.upload_file(
                bucket,
                key,
                path,
                config=self.config,
                progress=progress,
                content_type=content_type,
                metadata=self.metadata,
            )

    async def download(self, bucket: str, key: str, path: Path) -> None:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        with self.reporter.file(f"s3://{bucket}/{key} -> {path}", None) as progress:
            await self.client.download_file(
                bucket, key, path, config=self.config, progress=progress
            )

    async def copy(self, bucket: str, key: str, to_bucket: str, to_key: str) -> None:
        result = await self.client.copy_file(bucket, key, to_bucket, to_key, config=self.config)
        echo(f"s3://{bucket}/{key} -> s3://{to_bucket}/{to_key}: {result['size']} bytes")


async def _each(jobs: int, work: list[tuple[object, ...]], action: object) -> None:
    """``action(*args)`` for each of ``work``, ``jobs`` at a time; the first failure
    cancels the rest and is raised as itself (each transfer already reports one
    error, so the group holds the failures of files, not of parts)."""
    slots = asyncio.Semaphore(jobs)

    async def one(args: tuple[object, ...]) -> None:
        async with slots:
            await action(*args)  # type: ignore[operator]

    try:
        async with asyncio.TaskGroup() as group:
            for args in work:
                group.create_task(one(args))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def copy(
    settings: Settings,
    source: str,
    target: str,
    recursive: bool,
    jobs: int,
    config: TransferConfig,
    checksum: str,
    content_type: str | None,
    metadata: dict[str, str] | None,
) -> None:
    options = {} if checksum == "auto" else {"checksum": None if checksum == "none" else checksum}
    async with settings.client(
        max_connections=max(32, jobs * config.max_concurrency), **options
    ) as client:
        reporter = Reporter(settings.progress)
        copier = _Copier(client, config, reporter, content_type, metadata)
        remote_source, remote_target = source.startswith("s3://"), target.startswith("s3://")
        if not remote_source and not remote_target:
            raise click.UsageError("one of SOURCE and TARGET must be an s3:// URL")
        work: list[tuple[object, ...]] = []
        if not recursive:
            work = [_single(source, target, remote_source, remote_target)]
        elif not remote_source:
            root = Path(source)
            if not await asyncio.to_thread(root.is_dir):
                raise S3InvalidRequestError(f"{source!r} is not a directory")
            bucket, prefix = parse_s3_url(target)
            files = await asyncio.to_thread(
                lambda: sorted(p for p in root.rglob("*") if p.is_file())
            )
            base = prefix.rstrip("/") + "/" if prefix else ""
            work = [(p, bucket, base + p.relative_to(root).as_posix()) for p in files]
        else:
            bucket, prefix = parse_s3_url(source)
            listed = client.iter_objects(bucket, prefix=prefix)
            keys = [o["key"] async for o in listed if not _is_folder_marker(o)]
            if remote_target:
                to_bucket, to_prefix = parse_s3_url(target)
                work = [(bucket, k, to_bucket, to_prefix + k[len(prefix) :]) for k in keys]
            else:
                work = [
                    (bucket, k, _local_target(Path(target), k, k[len(prefix) :].lstrip("/")))
                    for k in keys
                ]
        if not work:
            return  # an empty prefix, or folder markers only: nothing to copy
        kind = work[0]
        action = (
            copier.upload
            if isinstance(kind[0], Path)
            else copier.copy
            if len(kind) == 4
            else copier.download
        )
        with reporter.session(files=len(work)):
            await _each(jobs, work, action)


def _single(
    source: str, target: str, remote_source: bool, remote_target: bool
) -> tuple[object, ...]:
    if not remote_source:
        bucket, key = parse_s3_url(target)
        path = Path(source)
        return (path, bucket, key + path.name if not key or key.endswith("/") else key)
    bucket, key = parse_s3_url(source)
    if not key:
        raise click.UsageError(f"{source!r} names no object; use --recursive for a prefix")
    if remote_target:
        to_bucket, to_key = parse_s3_url(target)
        return (bucket, key, to_bucket, to_key or PurePosixPath(key).name)
    path = Path(target)
    if target.endswith(os.sep) or path.is_dir():
        path = path / PurePosixPath(key).name
    return (bucket, key, path)
