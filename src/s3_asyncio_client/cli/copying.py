"""What ``s3aio cp`` does once its options are parsed: one file or a whole tree, up,
down or from bucket to bucket. Imported when the command runs, so that parsing the
command line (``--help``) loads neither asyncio nor the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import click

from ..exceptions import S3Error, S3InvalidRequestError, S3PreconditionFailedError
from . import Settings, describe, parse_s3_url
from .moving import remove_empty_folders, removing_source
from .output import Incomplete, echo, mode
from .pipes import from_stdin, to_stdout
from .progress import Reporter, human_size

if TYPE_CHECKING:
    from ..client import ObjectSummary, S3Client, TransferResult, WriteConditions
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
        conditions: WriteConditions | None = None,
    ) -> None:
        self.client, self.config, self.reporter = client, config, reporter
        self.content_type, self.metadata = content_type, metadata
        self.conditions: WriteConditions = conditions or {}

    async def upload(
        self, path: Path, bucket: str, key: str, extra: dict[str, str] | None = None
    ) -> None:
        """``extra``: metadata added to the command's (``sync`` keeps the mtime so)."""
        content_type = self.content_type or mimetypes.guess_type(path.name)[0]
        size = (await asyncio.to_thread(path.stat)).st_size
        metadata = {**(self.metadata or {}), **extra} if extra else self.metadata
        line = _line(str(path), f"s3://{bucket}/{key}", size)
        with self.reporter.file(*line) as progress, self._refused(bucket, key):
            await self.client.upload_file(
                bucket,
                key,
                path,
                config=self.config,
                progress=progress,
                content_type=content_type,
                metadata=metadata,
                **self.conditions,
            )

    async def download(
        self, bucket: str, key: str, path: Path, mtime_ns: int | None = None
    ) -> None:
        """``mtime_ns``: the file's modification time to set once it is whole."""
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        source = f"s3://{bucket}/{key}"
        with self.reporter.file(*_line(source, str(path), None)) as progress:
            result = await self.client.download_file(
                bucket, key, path, config=self.config, progress=progress
            )
            _resumed(source, str(path), result)
        if mtime_ns is not None:
            await asyncio.to_thread(os.utime, path, ns=(mtime_ns, mtime_ns))

    async def copy(self, bucket: str, key: str, to_bucket: str, to_key: str) -> None:
        line = _line(f"s3://{bucket}/{key}", f"s3://{to_bucket}/{to_key}", None)
        with self.reporter.file(*line) as progress, self._refused(to_bucket, to_key):
            result = await self.client.copy_file(
                bucket, key, to_bucket, to_key, config=self.config, **self.conditions
            )
            progress(result["size"], result["size"])

    @contextlib.contextmanager
    def _refused(self, bucket: str, key: str) -> Iterator[None]:
        """A 412 said in the words of the option that asked for it."""
        try:
            yield
        except S3PreconditionFailedError as error:
            wanted = self.conditions.get("if_match")
            why = "exists (--no-overwrite)" if wanted is None else f"does not have ETag {wanted}"
            error.message = f"s3://{bucket}/{key} {why}: not written"
            raise


def _resumed(source: str, target: str, result: TransferResult) -> None:
    """Say that a download continued an interrupted one, or had to start over."""
    record: dict[str, object] = {"source": source, "target": target}
    if result.get("restarted"):
        echo(
            f"{source} changed since its download to {target} was interrupted: started over",
            record={**record, "status": "restarted"},
        )
    elif skipped := result["skipped_bytes"]:
        echo(
            f"{target}: resumed, {human_size(skipped)} of {human_size(result['size'])} "
            "were already downloaded",
            record={**record, "status": "resumed", "skipped_bytes": skipped},
        )


def _line(source: str, target: str, size: int | None) -> tuple[str, int | None, dict[str, str]]:
    """A transfer's label, size and ``--json`` fields, for ``Reporter.file``."""
    return f"{source} -> {target}", size, {"source": source, "target": target}


def _where(args: tuple[object, ...]) -> str:
    """The source a work item of ``copy`` names: a path, or s3://bucket/key."""
    first = args[0]
    return str(first) if isinstance(first, Path) else f"s3://{first}/{args[1]}"


async def _each(jobs: int, work: list[tuple[object, ...]], action: object) -> None:
    """``action(*args)`` for each of ``work``, ``jobs`` at a time. A failed item
    (an S3 or file error) does not stop the others: once all are done, Incomplete
    lists the failures; a single item's failure is raised as itself. Anything else
    (a broken output, an interruption) cancels the rest and is raised as itself."""
    slots = asyncio.Semaphore(jobs)
    failures: list[tuple[str, str]] = []

    async def one(args: tuple[object, ...]) -> None:
        async with slots:
            try:
                await action(*args)  # type: ignore[operator]
            except BrokenPipeError:
                raise
            except (S3Error, OSError) as error:
                if len(work) == 1:
                    raise
                where, why = _where(args), describe(error)
                failures.append((where, why))
                if mode.json:  # else listed at the end, on standard error
                    echo(why, record={"source": where, "status": "failed", "error": why})

    try:
        async with asyncio.TaskGroup() as group:
            for args in work:
                group.create_task(one(args))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    if failures:
        raise Incomplete(sorted(failures), len(work) - len(failures))


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
    move: bool = False,
    conditions: WriteConditions | None = None,
) -> None:
    """``cp`` (with ``move``: ``mv``) of SOURCE to TARGET, ``-`` being standard
    input or output; a tree with ``recursive``; ``conditions`` on every write."""
    options = {} if checksum == "auto" else {"checksum": None if checksum == "none" else checksum}
    async with settings.client(
        max_connections=max(32, jobs * config.max_concurrency), **options
    ) as client:
        reporter = Reporter(settings.progress)
        copier = _Copier(client, config, reporter, content_type, metadata, conditions)
        remote_source, remote_target = source.startswith("s3://"), target.startswith("s3://")
        if not remote_source and not remote_target:
            raise click.UsageError("one of SOURCE and TARGET must be an s3:// URL")
        if "-" in (source, target):
            if recursive or move or conditions:
                raise click.UsageError(
                    "'-' (standard input or output) is one object, without conditions: cp only"
                )
            await _pipe(client, source, target, config, reporter, content_type, metadata)
            return
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
        action: Callable[..., Awaitable[None]] = (
            copier.upload
            if isinstance(kind[0], Path)
            else copier.copy
            if len(kind) == 4
            else copier.download
        )
        if move:
            action = removing_source(client, action)
        with reporter.session(files=len(work), summary=True):
            await _each(jobs, work, action)
        if move and recursive and not remote_source:
            await remove_empty_folders(Path(source))


async def _pipe(
    client: S3Client,
    source: str,
    target: str,
    config: TransferConfig,
    reporter: Reporter,
    content_type: str | None,
    metadata: dict[str, str] | None,
) -> None:
    """``cp - s3://b/k`` (standard input) or ``cp s3://b/k -`` (standard output)."""
    bucket, key = parse_s3_url(target if source == "-" else source)
    if not key or key.endswith("/"):
        raise click.UsageError(f"{source if target == '-' else target!r} names no object")
    if source == "-":
        with reporter.session():
            await from_stdin(client, bucket, key, config, reporter, content_type, metadata)
    else:
        await to_stdout(client, bucket, key, config)


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
