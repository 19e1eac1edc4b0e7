"""Running ``s3aio`` as a subprocess against a test server: on its own (``s3aio``) or
inside a ``bash -o pipefail`` pipeline (``pipeline``), always with a timeout."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from faultproxy import FaultProxy, FaultRule, matching
from polling import wait_until
from servers import ServerInfo

__all__ = ["S3AIO", "cli_env", "killed_then_rerun", "pipeline", "s3aio", "stalling_parts"]

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


def stalling_parts(*numbers: int) -> FaultRule:
    """A proxy rule: UploadPart of these part numbers hangs (60 s), so that a process
    is surely mid-upload when it is killed."""
    parts = matching("PUT", query_has="partNumber")
    return FaultRule(
        "stall",
        stall_seconds=60,
        match=lambda m, p: parts(m, p) and any(f"partNumber={n}&" in p for n in numbers),
    )


def killed_then_rerun(
    command: list[str], env: dict[str, str], journals: Path, proxy: FaultProxy, parts: int = 3
) -> int:
    """Run ``command``; SIGKILL it once its upload journal under ``journals`` records
    ``parts`` parts (the proxy stalls the later ones: ``stalling_parts``); clear the
    proxy's rules and run it again, to the end. The bytes the second run sent."""
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def journaled() -> bool:
        assert first.poll() is None, first.communicate()
        lines = sum(len(p.read_text().splitlines()) for p in journals.glob("*.json"))
        return lines > parts  # the header, then a line a part

    wait_until(journaled, f"{parts} parts in the journal")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    proxy.set_rules([])
    proxy.reset_stats()
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    return proxy.stats.request_bytes_forwarded
