"""``s3aio serve`` and ``s3aio demo``: the embedded server, and the tour that uses it."""

from __future__ import annotations

from pathlib import Path

import click

from . import Settings, run
from .progress import parse_size

__all__ = ["COMMANDS"]


@click.command()
@click.option("--root", required=True, type=click.Path(file_okay=False), help="Data folder.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--access-key", help="Access key (random if not given).")
@click.option("--secret-key", help="Secret key (random if not given).")
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, exists=True),
    help="AWS-style credentials file: every profile is a user.",
)
@click.option("--region", default="us-east-1", show_default=True)
@click.option("--no-auth", is_flag=True, help="Accept anonymous requests.")
@click.option(
    "--strict", is_flag=True, help="Enforce AWS's part limits (5 MiB minimum); refuse SigV2."
)
@click.option(
    "--domain",
    default="localhost",
    show_default=True,
    help="Base domain: Host <bucket>.<domain> addresses the bucket (virtual-host style).",
)
@click.option(
    "--no-fsync",
    is_flag=True,
    help="Skip fsync: faster writes, but a power cut may lose the last ones (throwaway data).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    show_default="from the descriptor limit, ulimit -n",
    help="Open connections at most.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds a new connection has to send a complete request head.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds a keep-alive connection may wait for its next request.",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds a request body may stall before the connection is cut.",
)
def serve(
    root: str,
    host: str,
    port: int,
    access_key: str | None,
    secret_key: str | None,
    credentials_file: str | None,
    region: str,
    no_auth: bool,
    strict: bool,
    domain: str,
    no_fsync: bool,
    max_connections: int | None,
    header_timeout: float,
    idle_timeout: float,
    read_timeout: float,
) -> None:
    """Serve a folder as an S3 endpoint until interrupted (Ctrl-C).

    Prints the endpoint and the access key; the secret key only when it generated it.
    """
    from ..server import ConnectionLimits, load_credentials_file
    from ..server import serve as run_server

    if (access_key is None) != (secret_key is None):
        raise click.UsageError("--access-key and --secret-key go together")
    try:
        credentials = load_credentials_file(credentials_file) if credentials_file else None
    except (OSError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="--credentials-file") from None
    limits = ConnectionLimits(
        max_connections=max_connections,
        header_timeout=header_timeout,
        idle_timeout=idle_timeout,
        read_timeout=read_timeout,
    )
    try:
        run_server(
            root,
            host,
            port,
            access_key=access_key,
            secret_key=secret_key,
            credentials=credentials,
            auth=not no_auth,
            strict=strict,
            region=region,
            durable=not no_fsync,
            limits=limits,
            domain=domain,
        )
    except OSError as error:
        message = f"cannot serve on {host}:{port}: {error.strerror or error}"
        raise click.ClickException(message) from None
    except (RuntimeError, ValueError) as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.option("--size", default="1GiB", show_default=True, help="Size of the demo file.")
@click.pass_obj
def demo(settings: Settings, size: str) -> None:
    """Run the embedded server and show a large parallel, verified transfer on it."""
    import tempfile

    from .tour import tour

    with tempfile.TemporaryDirectory(prefix="s3aio-demo-") as scratch:
        run(settings, tour(settings, parse_size(size), Path(scratch)))
    click.echo("cleaned up; demo done")


COMMANDS = [serve, demo]
