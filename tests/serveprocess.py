"""The embedded server as a child process (``python -m s3_asyncio_client.server`` or
``s3aio serve``), for tests and benchmarks that need its printed output, a signal, or
a tracer in front of it. Stopped by PID only. No pytest import here."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["CLI_MODULE", "SERVER_MODULE", "ServeProcess"]

SERVER_MODULE = "s3_asyncio_client.server"
CLI_MODULE = "s3_asyncio_client.cli"  # ``s3aio``: its ``serve`` command
START_DEADLINE = 60.0


class ServeProcess:
    """Start ``[*prefix, python, -m, module, *args]`` with its output in ``log``, and
    wait until it prints its endpoint (RuntimeError with the output if it does not).
    With a ``prefix`` (a tracer that runs the server as its child, Linux), signals go
    to the server itself, found in /proc."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        *,
        module: str = SERVER_MODULE,
        prefix: Sequence[str] = (),
    ) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", module, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.pid = self.proc.pid
        try:
            self.endpoint_url = self._wait_for_endpoint()
            if prefix:
                task = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                (self.pid,) = (int(pid) for pid in task.read_text().split())
        except BaseException:
            self.kill()
            raise

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_for_endpoint(self) -> str:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            for line in self.output.splitlines():
                if line.startswith("LocalS3 serving ") and " at http://" in line:
                    return line.rsplit(" at ", 1)[1].strip()
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.output}")
            time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.output}")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean stop), then wait; its exit status."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        for pid in dict.fromkeys((self.pid, self.proc.pid)):
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
