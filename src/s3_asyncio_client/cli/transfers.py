"""``s3aio cp | mv | cat``: local to S3, S3 to local, S3 to S3; one file or a whole
tree; standard input and output as ``-``.

An interrupted upload or download resumes when the same command runs again (the
transfer engine's journals); a download says so, and how much it did not fetch
again. Trees are copied a few files at a time (``--jobs``), each file with
``--concurrency`` parts in flight. This module parses the command; ``copying``
does the copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from . import Settings, parse_s3_url, run
from .progress import parse_size

if TYPE_CHECKING:
    from ..client import WriteConditions
    from ..config import TransferConfig

__all__ = ["COMMANDS"]


def _metadata(pairs: tuple[str, ...]) -> dict[str, str] | None:
    metadata = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--metadata")
        metadata[name] = value
    return metadata or None


def _options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``cp`` and ``mv`` share."""
    options: list[Any] = [
        click.argument("source"),
        click.argument("target"),
        click.option("-r", "--recursive", is_flag=True, help="A directory or a prefix."),
        click.option("--part-size", help="Part size, e.g. 8MiB (default: automatic)."),
        click.option(
            "--expected-size",
            help="Size of standard input, e.g. 200GiB, if known: sizes its parts up front.",
        ),
        click.option(
            "--concurrency", type=click.IntRange(1, 256), default=8, help="Parts in flight."
        ),
        click.option(
            "--jobs", type=click.IntRange(1, 64), default=4, help="Files at once (--recursive)."
        ),
        click.option(
            "--checksum",
            type=click.Choice(["auto", "crc64nvme", "crc32c", "crc32", "sha256", "sha1", "none"]),
            default="auto",
            help="Per-part checksum the server verifies.",
        ),
        click.option("--content-type", help="Content type (default: guessed from the name)."),
        click.option("--metadata", multiple=True, help="NAME=VALUE user metadata; repeatable."),
        click.option(
            "--no-resume",
            is_flag=True,
            help="Abort a failed upload, remove a failed download's partial file.",
        ),
        click.option(
            "--require-checksum",
            is_flag=True,
            help="Fail a download the server keeps no checkable checksum for.",
        ),
        click.option(
            "--no-overwrite",
            is_flag=True,
            help="Write no S3 object that exists (If-None-Match: *); exit 1 if one does.",
        ),
        click.option(
            "--if-match",
            metavar="ETAG",
            help="Replace the S3 object only if its ETag is still ETAG (one object).",
        ),
        click.pass_obj,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config(options: dict[str, Any]) -> TransferConfig:
    from ..config import TransferConfig

    part_size, expected = options["part_size"], options.get("expected_size")
    if expected and options.get("source") != "-":
        raise click.UsageError("--expected-size is for standard input (SOURCE -)")
    return TransferConfig(
        part_size=parse_size(part_size) if part_size else None,
        max_concurrency=options["concurrency"],
        resume=not options["no_resume"],
        require_checksum=options["require_checksum"],
        expected_size=parse_size(expected) if expected else None,
    )


def _transfer(settings: Settings, move: bool, **options: Any) -> None:
    from .copying import copy

    config = _config(options)
    run(
        settings,
        copy(
            settings,
            options["source"],
            options["target"],
            options["recursive"],
            options["jobs"],
            config,
            options["checksum"],
            options["content_type"],
            _metadata(options["metadata"]),
            move=move,
            conditions=_conditions(options),
        ),
    )


def _conditions(options: dict[str, Any]) -> WriteConditions:
    """``--no-overwrite`` / ``--if-match``, checked before anything runs."""
    from ..client import check_conditions
    from ..exceptions import S3InvalidRequestError

    etag = options["if_match"]
    if etag is not None and options["recursive"]:
        raise click.UsageError("--if-match names one object's ETag: not with --recursive")
    if (etag is not None or options["no_overwrite"]) and not options["target"].startswith("s3://"):
        raise click.UsageError("--if-match and --no-overwrite apply to an s3:// TARGET")
    conditions: WriteConditions = {}
    if options["no_overwrite"]:
        conditions["if_none_match"] = "*"
    if etag is not None:
        conditions["if_match"] = etag
    try:
        check_conditions(**conditions)
    except S3InvalidRequestError as exc:
        raise click.BadParameter(exc.message, param_hint="--if-match/--no-overwrite") from None
    return conditions


@click.command()
@_options
def cp(settings: Settings, **options: Any) -> None:
    """Copy SOURCE to TARGET: a local path or an s3://bucket/key URL on either side.

    "-" is standard input (as SOURCE: a stream of any length, uploaded in parts) or
    standard output (as TARGET: the object in order, verified)."""
    _transfer(settings, False, **options)


@click.command()
@_options
def mv(settings: Settings, **options: Any) -> None:
    """Move SOURCE to TARGET: copy, then remove each source once its copy is done."""
    _transfer(settings, True, **options)


def _byte_range(text: str | None) -> tuple[int, int | None] | None:
    """``"100-199"`` -> (100, 199); ``"100-"`` -> (100, None)."""
    if text is None:
        return None
    first, dash, last = text.partition("-")
    if dash and first.isdigit() and (not last or (last.isdigit() and int(last) >= int(first))):
        return int(first), int(last) if last else None
    raise click.BadParameter(
        f"{text!r} is not a byte range like 0-99 or 100-", param_hint="--range"
    )


@click.command()
@click.argument("url")
@click.option("--range", "byte_range", help="Bytes FIRST-LAST (or FIRST-) only; not verified.")
@click.option("--part-size", help="Range size (default: automatic, at most 8MiB).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, help="Ranges in flight.")
@click.option(
    "--require-checksum", is_flag=True, help="Fail an object without a checkable checksum."
)
@click.pass_obj
def cat(
    settings: Settings,
    url: str,
    byte_range: str | None,
    part_size: str | None,
    concurrency: int,
    require_checksum: bool,
) -> None:
    """Write s3://bucket/key to standard output: ranges in parallel, in order,
    verified against the stored checksum once written (then exit 1 if it differs)."""
    bucket, key = parse_s3_url(url)
    if not key:
        raise click.UsageError(f"{url!r} names no object")
    span = _byte_range(byte_range)
    config = _config(
        {
            "part_size": part_size,
            "concurrency": concurrency,
            "no_resume": False,
            "require_checksum": require_checksum,
        }
    )

    async def main() -> None:
        from .pipes import range_to_stdout, to_stdout

        async with settings.client() as client:
            if span is None:
                await to_stdout(client, bucket, key, config)
            else:
                await range_to_stdout(client, bucket, key, *span)

    run(settings, main())


COMMANDS = [cp, mv, cat]
