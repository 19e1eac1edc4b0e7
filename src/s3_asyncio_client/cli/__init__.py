"""``s3aio``: the command line. Global options, error reporting and the command list.

Failures print one line, ``s3aio: error: ...``, and exit 1 (2 for bad usage, 130 when
interrupted); ``--debug`` adds the traceback. A command over many items finishes the
others when one fails, then lists the failures and exits 1. Output to a pipe whose
reader has gone (``s3aio cat ... | head``) ends the command quietly with 141, the
status of a program killed by SIGPIPE, as ``cat`` would. ``--quiet`` and ``--json``
shape what is printed (see ``output``). Commands live in small modules:
``transfers`` (cp, mv, cat), ``syncing`` (sync), ``manage`` (ls, rm, mb, rb, presign,
mpu), ``info`` (stat), ``local`` (serve, demo).
They import the client, the event loop and rich when a command runs, not when the
command line is parsed: ``--help`` and ``--version`` load neither aiohttp nor the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from ..exceptions import (
    S3AccessDeniedError,
    S3ConnectionError,
    S3Error,
    S3NoSuchBucketError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3TimeoutError,
)
from .output import Incomplete, echo, mode

if TYPE_CHECKING:
    from ..client import S3Client

__all__ = ["Settings", "main", "run"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Settings:
    """Global options, shared by every command."""

    endpoint_url: str | None
    profile: str | None
    region: str | None
    progress: bool
    debug: bool
    quiet: bool = False
    json: bool = False

    def client(self, **options: Any) -> S3Client:
        from ..client import S3Client

        return S3Client(
            endpoint_url=self.endpoint_url, profile=self.profile, region=self.region, **options
        )


def describe(error: BaseException) -> str:
    """One line saying what failed and why, without internals or secrets."""
    if isinstance(error, S3NoSuchBucketError):
        return f"bucket {error.bucket!r} does not exist"
    if isinstance(error, S3NoSuchKeyError):
        return f"s3://{error.bucket}/{error.key} does not exist"
    if isinstance(error, S3NoSuchUploadError):
        return f"no such multipart upload ({error.message})"
    if isinstance(error, S3AccessDeniedError):
        return f"access denied ({error.error_code or error.status_code}): {error.message}"
    if isinstance(error, S3ConnectionError | S3TimeoutError):
        return f"endpoint unreachable: {error.message}"
    if isinstance(error, S3Error):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    return f"{type(error).__name__}: {error}"


def fail(settings: Settings | None, error: BaseException) -> NoReturn:
    if settings is not None and settings.debug:
        import traceback

        traceback.print_exception(error)
    echo(f"s3aio: error: {describe(error)}", err=True)
    sys.exit(1)


def reader_gone() -> NoReturn:
    """Standard output's reader has gone: exit as a program killed by SIGPIPE, with
    no message, and with stdout on /dev/null so that the flush at exit cannot fail."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(141)


def failed(incomplete: Incomplete) -> NoReturn:
    """Some items failed, the others are done: say which failed and why, exit 1."""
    shown = incomplete.failures[:20]
    echo(f"s3aio: error: {len(incomplete.failures)} failed, {incomplete.done} done:", err=True)
    for what, why in shown:
        echo(f"  {what}: {why}", err=True)
    if len(incomplete.failures) > len(shown):
        echo(f"  ... and {len(incomplete.failures) - len(shown)} more", err=True)
    sys.exit(1)


def run(settings: Settings, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; turn failures into one line and an exit code."""
    import asyncio

    from ..sync import new_event_loop

    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(coroutine)
    except BrokenPipeError:
        reader_gone()
    except Incomplete as incomplete:
        failed(incomplete)
    except KeyboardInterrupt:
        echo("s3aio: interrupted; run the same command again to resume", err=True)
        sys.exit(130)
    except (S3Error, OSError) as error:
        fail(settings, error)


def parse_s3_url(value: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); the key may be empty."""
    if not value.startswith("s3://") or len(value) <= 5:
        raise click.BadParameter(f"{value!r} is not an s3://bucket/key URL")
    bucket, _, key = value[5:].partition("/")
    return bucket, key


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="s3-asyncio-client", prog_name="s3aio")
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL_S3", help="S3 endpoint (default: AWS).")
@click.option("--profile", help="Profile in ~/.aws/credentials and ~/.aws/config.")
@click.option("--region", help="Region (default: AWS_REGION, the profile, us-east-1).")
@click.option("--no-progress", is_flag=True, help="No progress bars, even on a terminal.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or per-file lines; errors only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, for scripts.")
@click.pass_context
def cli(
    ctx: click.Context,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    no_progress: bool,
    debug: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """s3aio: fast, resumable, verified S3 transfers."""
    mode.quiet, mode.json = quiet, as_json
    progress = not (no_progress or quiet)
    ctx.obj = Settings(endpoint_url, profile, region, progress, debug, quiet, as_json)


def main() -> None:
    from . import info, local, manage, syncing, transfers

    for module in (transfers, syncing, manage, info, local):
        for command in module.COMMANDS:
            cli.add_command(command)
    try:
        cli(prog_name="s3aio")
    except S3Error as error:  # raised while building a client, before run()
        fail(None, error)
