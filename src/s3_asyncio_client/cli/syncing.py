"""``s3aio sync``: make TARGET hold what SOURCE holds, sending only what differs.

Local to S3, S3 to local, or S3 to S3 (server-side copies). Which files differ is
``syncplan``'s rule; this module parses the command, and ``syncrun`` lists both sides
and does the plan with ``cp``'s transfers. Uploads keep the file's modification time
in the object's ``mtime`` metadata and downloads set it back, so a round trip
compares equal; an interrupted upload resumes from its journal on the next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import Settings, run
from .progress import parse_size

if TYPE_CHECKING:
    from .syncplan import Compare

__all__ = ["COMMANDS", "filter_order"]

_FILTERS = ("--exclude", "--include")


def filter_order(args: list[str]) -> list[bool]:
    """For each ``--exclude``/``--include`` on the command line, in order, whether it
    is an include: click gathers each option's values apart, and the order across
    both decides (the last matching filter wins)."""
    kinds, words = [], iter(args)
    for word in words:
        if word == "--":
            break
        name, equals, _ = word.partition("=")
        if name in _FILTERS:
            kinds.append(name == "--include")
            if not equals:
                next(words, None)  # the pattern, whatever it looks like
    return kinds


class _SyncCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["s3aio.filter_order"] = filter_order(args)
        return super().parse_args(ctx, args)


def _filters(
    ctx: click.Context, excludes: tuple[str, ...], includes: tuple[str, ...]
) -> list[tuple[bool, str]]:
    kinds: list[bool] = ctx.meta.get("s3aio.filter_order", [])
    if sorted(kinds) != sorted([False] * len(excludes) + [True] * len(includes)):
        kinds = [False] * len(excludes) + [True] * len(includes)  # not from a command line
    pending = {False: iter(excludes), True: iter(includes)}
    return [(include, next(pending[include])) for include in kinds]


@click.command(cls=_SyncCommand)
@click.argument("source")
@click.argument("target")
@click.option("--delete", is_flag=True, help="Delete what SOURCE lacks (never filtered names).")
@click.option("--dryrun", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave names that match out.")
@click.option(
    "--include",
    multiple=True,
    metavar="PATTERN",
    help="Take names that match back; the last matching filter decides.",
)
@click.option("--size-only", is_flag=True, help="Compare sizes only.")
@click.option("--exact-timestamps", is_flag=True, help="Transfer when the times differ at all.")
@click.option(
    "--checksum",
    is_flag=True,
    help="Compare contents: the object's stored checksum against the file's.",
)
@click.option("--jobs", type=click.IntRange(1, 64), default=4, help="Files at once.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, help="Parts in flight.")
@click.option("--part-size", help="Part size, e.g. 8MiB (default: automatic).")
@click.pass_context
def sync(
    ctx: click.Context,
    source: str,
    target: str,
    delete: bool,
    dryrun: bool,
    exclude: tuple[str, ...],
    include: tuple[str, ...],
    size_only: bool,
    exact_timestamps: bool,
    checksum: bool,
    jobs: int,
    concurrency: int,
    part_size: str | None,
) -> None:
    """Copy new and changed files from SOURCE to TARGET (a folder or an s3:// prefix).

    Files differ when their sizes do or the source is newer; an unchanged file is not
    sent again. Filters match names relative to SOURCE and TARGET, in order.
    """
    from ..config import TransferConfig
    from .syncrun import SyncOptions, synchronize

    settings: Settings = ctx.obj
    if sum((size_only, exact_timestamps, checksum)) > 1:
        raise click.UsageError("--size-only, --exact-timestamps and --checksum exclude each other")
    if not source.startswith("s3://") and not target.startswith("s3://"):
        raise click.UsageError("one of SOURCE and TARGET must be an s3:// URL")
    compare: Compare = (
        "size"
        if size_only
        else "exact"
        if exact_timestamps
        else "checksum"
        if checksum
        else "default"
    )
    options = SyncOptions(
        compare=compare,
        delete=delete,
        dryrun=dryrun,
        filters=_filters(ctx, exclude, include),
        jobs=jobs,
        config=TransferConfig(
            part_size=parse_size(part_size) if part_size else None, max_concurrency=concurrency
        ),
    )
    run(settings, synchronize(settings, source, target, options))


COMMANDS = [sync]
