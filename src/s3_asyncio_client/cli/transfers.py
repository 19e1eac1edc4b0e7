"""``s3aio cp``: local to S3, S3 to local, S3 to S3; one file or a whole tree.

An interrupted upload resumes when the same command runs again (the transfer
engine's journal). Trees are copied a few files at a time (``--jobs``), each file
with ``--concurrency`` parts in flight. This module parses the command; ``copying``
does the copy.
"""

from __future__ import annotations

import click

from . import Settings, run
from .progress import parse_size

__all__ = ["COMMANDS"]


def _metadata(pairs: tuple[str, ...]) -> dict[str, str] | None:
    metadata = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--metadata")
        metadata[name] = value
    return metadata or None


@click.command()
@click.argument("source")
@click.argument("target")
@click.option("-r", "--recursive", is_flag=True, help="Copy a directory or a prefix.")
@click.option("--part-size", help="Part size, e.g. 8MiB (default: automatic).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, help="Parts in flight.")
@click.option("--jobs", type=click.IntRange(1, 64), default=4, help="Files at once (--recursive).")
@click.option(
    "--checksum",
    type=click.Choice(["auto", "crc64nvme", "crc32c", "crc32", "sha256", "sha1", "none"]),
    default="auto",
    help="Per-part checksum the server verifies.",
)
@click.option("--content-type", help="Content type (default: guessed from the file name).")
@click.option("--metadata", multiple=True, help="NAME=VALUE user metadata; repeatable.")
@click.option("--no-resume", is_flag=True, help="Abort a failed upload instead of keeping it.")
@click.option(
    "--require-checksum",
    is_flag=True,
    help="Fail a download the server keeps no checkable checksum for.",
)
@click.pass_obj
def cp(
    settings: Settings,
    source: str,
    target: str,
    recursive: bool,
    part_size: str | None,
    concurrency: int,
    jobs: int,
    checksum: str,
    content_type: str | None,
    metadata: tuple[str, ...],
    no_resume: bool,
    require_checksum: bool,
) -> None:
    """Copy SOURCE to TARGET: a local path or an s3://bucket/key URL on either side."""
    from ..config import TransferConfig
    from .copying import copy

    config = TransferConfig(
        part_size=parse_size(part_size) if part_size else None,
        max_concurrency=concurrency,
        resume=not no_resume,
        require_checksum=require_checksum,
    )
    run(
        settings,
        copy(
            settings,
            source,
            target,
            recursive,
            jobs,
            config,
            checksum,
            content_type,
            _metadata(metadata),
        ),
    )


COMMANDS = [cp]
