"""Running ``s3aio`` as a subprocess against a test server: on its own (``s3aio``) or
inside a ``bash -o pipefail`` pipeline (``pipeline``), always with a timeout."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from servers import ServerInfo

__all__ = ["S3AIO", "cli_env", "pipeline", "s3aio"]

S3AIO = [sys.executable, "-m", "s3_asyncio_client.cli"]


def cli_env(info: ServerInfo, **extra: str) -> dict[str, str]:
    """The environment that points ``s3aio`` at ``info`` with its keys."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": info.access_key,
        "AWS_SECRET_ACCESS_KEY": info.secret_key,
        **extra,
    }
    env.pop("AWS_PROFILE", None)
    return env


def s3aio(
    info: ServerInfo,
    *args: str,
    endpoint: str | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``s3aio --endpoint-url ... ARGS``; with ``check``, it must exit 0."""
    result = subprocess.run(
        [*S3AIO, "--endpoint-url", endpoint or info.endpoint_url, *args],
        capture_output=True,
        text=True,
        env=cli_env(info),
        cwd=cwd,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def pipeline(
    info: ServerInfo,
    script: str,
    *,
    endpoint: str | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 180,
) -> subprocess.CompletedProcess[bytes]:
    """``script`` run by ``bash -o pipefail -c``, where ``$S3AIO`` is the command line
    of ``s3aio`` on ``info`` (or ``endpoint``); stdout and stderr kept as bytes."""
    command = shlex.join([*S3AIO, "--endpoint-url", endpoint or info.endpoint_url])
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script.replace("$S3AIO", command)],
        capture_output=True,
        env=cli_env(info),
        cwd=cwd,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result
