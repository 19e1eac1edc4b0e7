"""What ``s3aio sync`` does once its options are parsed: list both sides at once,
plan (``syncplan``), ask the objects whose verdict needs their metadata or checksum,
then transfer ``jobs`` files at a time with ``cp``'s transfers and delete. A file that
fails is reported at the end; the others go on. Imported when the command runs.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import S3Error, S3InvalidRequestError
from . import Settings, describe, parse_s3_url
from .copying import _Copier, _each, _is_folder_marker, _local_target
from .output import Incomplete, echo, mode
from .progress import Reporter, human_size
from .syncplan import (
    Compare,
    Entry,
    Filters,
    Step,
    decide,
    format_mtime,
    parse_mtime,
    parse_time,
    plan,
    resolved,
    walk_order,
)

if TYPE_CHECKING:
    from ..client import ObjectInfo, S3Client
    from ..config import TransferConfig

__all__ = ["SyncOptions", "synchronize"]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    compare: Compare
    delete: bool
    dryrun: bool
    filters: list[tuple[bool, str]]
    jobs: int
    config: TransferConfig


@dataclass(frozen=True, slots=True)
class _Side:
    """A folder (``root``) or an S3 prefix (``bucket``, ``prefix`` "" or ending "/")."""

    root: Path | None
    bucket: str = ""
    prefix: str = ""

    @classmethod
    def of(cls, url: str) -> _Side:
        if not url.startswith("s3://"):
            return cls(Path(url))
        bucket, key = parse_s3_url(url)
        return cls(None, bucket, key if not key or key.endswith("/") else key + "/")

    def key(self, name: str) -> str:
        return self.prefix + name

    def path(self, name: str) -> Path:
        assert self.root is not None
        return _local_target(self.root, self.key(name), name)

    def label(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}" if self.root is None else str(self.path(name))


def _walk(root: Path) -> list[Entry]:
    """Every file under ``root``, in UTF-8 byte order of the names (``walk_order``);
    folders behind symbolic links are not followed, as ``cp -r`` does not."""
    found: list[Entry] = []

    def visit(folder: str, base: str) -> None:
        with os.scandir(folder) as listing:
            items = [(item, item.is_dir(follow_symlinks=False)) for item in listing]
        items.sort(key=lambda pair: walk_order(pair[0].name, pair[1]))
        for item, is_dir in items:
            if is_dir:
                visit(item.path, f"{base}{item.name}/")
            elif item.is_file():
                stat = item.stat()
                found.append(Entry(base + item.name, stat.st_size, stat.st_mtime_ns))

    visit(str(root), "")
    return found


async def _list(client: S3Client, side: _Side, *, source: bool) -> list[Entry]:
    if side.root is not None:
        root = side.root
        if await asyncio.to_thread(root.is_dir):
            return await asyncio.to_thread(_walk, root)
        if source or await asyncio.to_thread(root.exists):
            raise S3InvalidRequestError(f"{str(root)!r} is not a directory")
        return []  # a target folder that does not exist yet
    size = len(side.prefix)
    listed = [
        Entry(item["key"][size:], item["size"], parse_time(item["last_modified"]), False, False)
        async for item in client.iter_objects(side.bucket, prefix=side.prefix)
        if not _is_folder_marker(item)
    ]
    # Sorted here, not trusted: some servers (SeaweedFS) list folder by folder, so
    # "a/b" before "a-c", where S3 lists in UTF-8 byte order as the planner needs.
    listed.sort(key=lambda entry: entry.name.encode("utf-8", "surrogateescape"))
    return listed


def _resolved(entry: Entry, info: ObjectInfo) -> Entry:
    """An object's entry with what its HEAD adds: the ``mtime`` metadata, if any."""
    return resolved(entry, parse_mtime(info["metadata"].get("mtime")))


@dataclass
class _Run:
    client: S3Client
    source: _Side
    target: _Side
    options: SyncOptions
    copier: _Copier
    failures: list[tuple[str, str]] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=lambda: {"files": 0, "bytes": 0, "deleted": 0})
    unknown_checksums: int = 0

    async def guarded(self, label: str, action: Awaitable[None]) -> None:
        """Run one file's action; a failure is noted and the others go on."""
        try:
            await action
        except (S3Error, OSError) as error:
            self.failed(label, describe(error))

    def failed(self, where: str, why: str) -> None:
        self.failures.append((where, why))
        if mode.json:  # else listed at the end, on standard error
            echo(why, record={"source": where, "status": "failed", "error": why})

    async def detail(self, step: Step) -> Step:
        """Decide a step the listings could not (syncplan rule 5): HEAD the objects,
        and with ``--checksum`` compare their stored checksums."""
        from ..client import compare_objects

        source, target = step.source, step.target
        assert source is not None
        assert target is not None
        compare, same = self.options.compare, None
        src, dst = self.source, self.target
        if compare == "checksum":
            if src.root is None and dst.root is None:
                pair = await compare_objects(
                    self.client,
                    (src.bucket, src.key(source.name)),
                    (dst.bucket, dst.key(target.name)),
                )
                same = pair[0].same
                source, target = _resolved(source, pair[0].info), _resolved(target, pair[1].info)
            elif src.root is None:  # the object's stored checksum against the file
                same, source = await self._against_file(src, source, dst.path(target.name))
            else:
                same, target = await self._against_file(dst, target, src.path(source.name))
            self.unknown_checksums += same is None
        else:
            if not source.resolved:
                info = await self.client.head_object(src.bucket, src.key(source.name))
                source = _resolved(source, info)
            if not target.resolved:
                info = await self.client.head_object(dst.bucket, dst.key(target.name))
                target = _resolved(target, info)
        verdict = decide(source, target, compare, same)
        return Step("skip" if verdict == "skip" else "transfer", source, target)

    async def _against_file(
        self, side: _Side, entry: Entry, path: Path
    ) -> tuple[bool | None, Entry]:
        """Whether the file at ``path`` holds ``entry``'s object (None: cannot tell),
        and the entry with the object's details."""
        from ..client import compare_file

        found = await compare_file(
            self.client, side.bucket, side.key(entry.name), path, config=self.options.config
        )
        return found.same, _resolved(entry, found.info)

    async def transfer(self, entry: Entry) -> None:
        src, dst, name = self.source, self.target, entry.name
        if src.root is not None:
            mtime = {"mtime": format_mtime(entry.mtime_ns)}
            await self.copier.upload(src.path(name), dst.bucket, dst.key(name), mtime)
        elif dst.root is not None:
            if not entry.resolved:  # the time to set comes from the object's metadata
                entry = _resolved(entry, await self.client.head_object(src.bucket, src.key(name)))
            await self.copier.download(src.bucket, src.key(name), dst.path(name), entry.mtime_ns)
        else:
            await self.copier.copy(src.bucket, src.key(name), dst.bucket, dst.key(name))
        self.done["files"] += 1
        self.done["bytes"] += entry.size

    async def delete(self, entries: list[Entry]) -> None:
        target = self.target
        if target.root is not None:
            for entry in entries:
                await self.guarded(target.label(entry.name), self._unlink(entry.name))
            return
        keys = [target.key(entry.name) for entry in entries]
        try:
            result = await self.client.delete_objects(target.bucket, keys)
        except S3Error as error:
            for key in keys:
                self.failed(f"s3://{target.bucket}/{key}", describe(error))
            return
        for key in result["deleted"]:
            _deleted(f"s3://{target.bucket}/{key}")
        self.done["deleted"] += len(result["deleted"])
        for refused in result["errors"]:
            where = f"s3://{target.bucket}/{refused.get('key', '')}"
            self.failed(where, f"{refused.get('code')}: {refused.get('message')}")

    async def _unlink(self, name: str) -> None:
        await asyncio.to_thread(self.target.path(name).unlink)
        _deleted(self.target.label(name))
        self.done["deleted"] += 1


def _deleted(where: str) -> None:
    echo(f"deleted {where}", record={"deleted": where, "status": "ok"})


def _verb(source: _Side, target: _Side) -> str:
    return (
        "upload" if source.root is not None else "download" if target.root is not None else "copy"
    )


async def synchronize(settings: Settings, source: str, target: str, options: SyncOptions) -> None:
    """Sync ``source`` to ``target``; Incomplete if some files failed, once the
    others are done."""
    started = time.perf_counter()
    src, dst = _Side.of(source), _Side.of(target)
    config, jobs = options.config, options.jobs
    async with settings.client(max_connections=max(32, jobs * config.max_concurrency)) as client:
        reporter = Reporter(settings.progress)
        state = _Run(client, src, dst, options, _Copier(client, config, reporter, None, None))
        sources, targets = await asyncio.gather(
            _list(client, src, source=True), _list(client, dst, source=False)
        )
        steps = list(
            plan(
                sources,
                targets,
                compare=options.compare,
                delete=options.delete,
                filters=Filters(options.filters),
            )
        )
        if dst.root is not None:  # refuse keys that cannot be file names before any write
            for step in steps:
                if step.kind != "delete" and step.source is not None:
                    _local_target(dst.root, src.key(step.source.name), step.source.name)
        pending = [step for step in steps if step.kind == "detail"]
        decided: list[Step] = []

        async def detail(step: Step) -> None:
            assert step.source is not None
            label = src.label(step.source.name)
            await state.guarded(label, _append(decided, state.detail(step)))

        await _each(max(jobs, 8), [(step,) for step in pending], detail)
        steps = [step for step in steps if step.kind != "detail"] + decided
        if state.unknown_checksums:
            echo(
                f"s3aio: {state.unknown_checksums} objects keep no checksum to compare with: "
                "compared by size and modification time",
                err=True,
            )
        sends = [step.source for step in steps if step.kind == "transfer" and step.source]
        drops = [step.target for step in steps if step.kind == "delete" and step.target]
        skipped = sum(step.kind == "skip" for step in steps)
        if options.dryrun:
            _dry_run(src, dst, sends, drops, skipped)
            return

        async def send(entry: Entry) -> None:
            await state.guarded(src.label(entry.name), state.transfer(entry))

        total_bytes = sum(entry.size for entry in sends)
        with reporter.session(files=len(sends), total=total_bytes):
            await _each(jobs, [(entry,) for entry in sends], send)
        if drops:
            await state.delete(drops)
    _summary(state, skipped, time.perf_counter() - started)
    if state.failures:
        raise Incomplete(sorted(state.failures), state.done["files"] + state.done["deleted"])


async def _append(into: list[Step], step: Awaitable[Step]) -> None:
    into.append(await step)


def _dry_run(src: _Side, dst: _Side, sends: list[Entry], drops: list[Entry], skipped: int) -> None:
    """Print the plan, as aws-cli's ``--dryrun`` does; change nothing."""
    verb = _verb(src, dst)
    for entry in sends:
        source, target = src.label(entry.name), dst.label(entry.name)
        record = {"dryrun": verb, "source": source, "target": target, "bytes": entry.size}
        echo(f"(dryrun) {verb}: {source} -> {target}", record=record)
    for entry in drops:
        echo(
            f"(dryrun) delete: {dst.label(entry.name)}",
            record={"dryrun": "delete", "target": dst.label(entry.name)},
        )
    total = sum(entry.size for entry in sends)
    echo(
        f"(dryrun) sync: {len(sends)} to transfer ({human_size(total)}), "
        f"{len(drops)} to delete, {skipped} unchanged",
        record={
            "dryrun": "summary",
            "transfer": len(sends),
            "bytes": total,
            "delete": len(drops),
            "unchanged": skipped,
        },
    )


def _summary(state: _Run, skipped: int, elapsed: float) -> None:
    """The closing line: counts, bytes, time and throughput."""
    done, elapsed = state.done, max(elapsed, 1e-9)
    rate = done["bytes"] / elapsed
    echo(
        f"sync: {done['files']} transferred ({human_size(done['bytes'])}), "
        f"{done['deleted']} deleted, {skipped} unchanged, {len(state.failures)} failed "
        f"in {elapsed:.1f} s ({human_size(rate)}/s)",
        record={
            "summary": True,
            "transferred": done["files"],
            "bytes": done["bytes"],
            "deleted": done["deleted"],
            "unchanged": skipped,
            "failed": len(state.failures),
            "seconds": round(elapsed, 3),
            "bytes_per_second": round(rate),
        },
    )
