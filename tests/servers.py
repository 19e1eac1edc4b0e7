"""Real S3 servers on loopback for the tests: SeaweedFS (checks SigV4) and moto (does not).

Each server runs as a child process in its own process group, logs to a file under
its root folder, is polled until an authenticated ListBuckets works, and is stopped by
PID (SIGTERM, then SIGKILL) so no process outlives the test session.
No pytest import here: benchmarks and scripts can use these helpers too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DOC_ACCESS_KEY",
    "DOC_SECRET_KEY",
    "TEST_ACCESS_KEY",
    "TEST_SECRET_KEY",
    "ServerInfo",
    "ServerProcess",
    "boto3_client",
    "moto_server",
    "pick_ports",
    "s3_client",
    "seaweedfs",
    "start_moto",
    "start_seaweedfs",
]

TEST_ACCESS_KEY = "s3aio-test-access"
TEST_SECRET_KEY = "s3aio-test-secret-0123456789"
# The documentation examples use these literally, so SeaweedFS accepts them too.
DOC_ACCESS_KEY = "your-access-key"
DOC_SECRET_KEY = "your-secret-key"

MIB = 1024 * 1024
STARTUP_DEADLINE = 60.0
STOP_GRACE = 10.0
START_ATTEMPTS = 3  # only a server that dies during startup is tried again
# weed's filer waits 15 s for its gRPC streams to drain on SIGTERM; the data is scratch,
# so after this much grace it gets SIGKILL instead of making every session 15 s longer.
WEED_STOP_GRACE = 2.0

# Ports are drawn below the kernel's ephemeral range (32768-60999 by default) so that a
# port and its gRPC twin (port + 10000, which weed opens implicitly) stay below 32768:
# no outgoing connection can grab them and the twin can never pass 65535.
PORT_LOW = 15000
PORT_HIGH = 22700
GRPC_OFFSET = 10000


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    """How to reach one running S3 server, and what it enforces."""

    name: str
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    checks_signatures: bool
    min_part_size: int


class ServerProcess:
    """A started server process; ``stop()`` ends it (and only it) by PID. Idempotent."""

    def __init__(
        self, name: str, proc: subprocess.Popen[bytes], log_path: Path, stop_grace: float
    ) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path
        self.stop_grace = stop_grace
        self.startup_seconds = 0.0
        self._cleanup: list[Path] = []
        atexit.register(self.stop)  # last resort if the session dies without teardown

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the process group we created (pgid == our child's PID), then SIGKILL."""
        atexit.unregister(self.stop)
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_GRACE)
        # Anything the child forked into its group but left behind goes too.
        _signal_group(self.proc.pid, signal.SIGKILL)
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)
        self._cleanup.clear()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int, *, with_grpc_twin: bool) -> list[int]:
    """``count`` distinct free loopback ports; with ``with_grpc_twin`` port+10000 is free too."""
    rng = random.Random()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randint(PORT_LOW, PORT_HIGH)
        needed = [port, port + GRPC_OFFSET] if with_grpc_twin else [port]
        if taken.intersection(needed) or not all(_port_free(p) for p in needed):
            continue
        chosen.append(port)
        taken.update(needed)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"could not find {count} free ports in {PORT_LOW}-{PORT_HIGH}")


def _find_binary(name: str) -> str:
    """The venv's own copy first (next to sys.executable), then PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name!r} not found next to {sys.executable} or on PATH")
    return found


def boto3_client(
    info: ServerInfo,
    *,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    total_attempts: int = 1,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    addressing_style: str = "path",
    signature_version: str | None = None,
) -> Any:
    """A boto3 S3 client for ``info`` (path style, no retries, no proxies from the env).
    ``signature_version="s3"`` signs with SigV2.

    ``total_attempts`` counts the first try: botocore's ``max_attempts`` counts only
    retries, so ``{"max_attempts": 1}`` still retries once.

    Close it (``client.close()``) when done: its pooled sockets would otherwise raise
    ResourceWarning, which the test settings turn into errors.
    """
    import boto3  # test-only dependency; imported lazily so this module stays light
    from botocore.config import Config

    config = Config(
        region_name=info.region,
        s3={"addressing_style": addressing_style},
        signature_version=signature_version,
        retries={"total_max_attempts": total_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        proxies={},  # an HTTP(S)_PROXY in the environment must not capture 127.0.0.1
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or info.endpoint_url,
        aws_access_key_id=access_key or info.access_key,
        aws_secret_access_key=secret_key or info.secret_key,
        config=config,
    )


def s3_client(info: ServerInfo, *, endpoint_url: str | None = None, **options: Any) -> Any:
    """An ``S3Client`` for ``info`` (or for ``endpoint_url``, e.g. a fault proxy in
    front of it); ``options`` go to ``S3Client`` as given."""
    from s3_asyncio_client import S3Client

    return S3Client(
        access_key=info.access_key,
        secret_key=info.secret_key,
        endpoint_url=endpoint_url or info.endpoint_url,
        **{"region": info.region, **options},
    )


def _spawn(
    name: str, argv: list[str], root: Path, env: dict[str, str], stop_grace: float = STOP_GRACE
) -> ServerProcess:
    log_path = root / f"{name}.log"
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServerProcess(name, proc, log_path, stop_grace)


def _wait_ready(server: ServerProcess, info: ServerInfo, deadline: float) -> None:
    """Poll an authenticated ListBuckets until it works, else raise with the log's tail."""
    from botocore.exceptions import BotoCoreError, ClientError

    started = time.monotonic()
    last_error: Exception | None = None
    client = boto3_client(info, connect_timeout=1.0, read_timeout=5.0)
    try:
        while time.monotonic() - started < deadline and server.proc.poll() is None:
            try:
                client.list_buckets()
            except (BotoCoreError, ClientError) as exc:
                last_error = exc
            else:
                server.startup_seconds = time.monotonic() - started
                return
            time.sleep(0.2)
    finally:
        client.close()
    code = server.proc.poll()
    state = f"exited with {code}" if code is not None else f"not ready after {deadline:.0f} s"
    raise RuntimeError(
        f"{info.name} {state}; last probe error: {last_error!r}\n"
        f"--- tail of {server.log_path} ---\n{server.log_tail()}"
    )


def _launch(
    make: Callable[[], tuple[list[str], ServerInfo]],
    root: Path,
    env: dict[str, str],
    stop_grace: float,
    deadline: float,
) -> tuple[ServerInfo, ServerProcess]:
    """Spawn and wait; retry with fresh ports if the process dies at once.

    Other test sessions on the machine pick ports too: one may take ours between the
    free-port check and the server's bind.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        argv, info = make()
        server = _spawn(info.name, argv, root, env, stop_grace)
        try:
            _wait_ready(server, info, deadline)
        except Exception:
            died = server.proc.poll() is not None
            server.stop()
            if died and attempt < START_ATTEMPTS:
                continue
            raise
        except BaseException:  # KeyboardInterrupt: leave nothing behind
            server.stop()
            raise
        return info, server
    raise AssertionError("unreachable")


def _child_env() -> dict[str, str]:
    """The environment minus AWS settings that could change how the server behaves."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}


def _write_identities(path: Path) -> None:
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    identities = [
        {"name": name, "credentials": [{"accessKey": ak, "secretKey": sk}], "actions": actions}
        for name, ak, sk in (
            ("s3aio-test", TEST_ACCESS_KEY, TEST_SECRET_KEY),
            ("docs-example", DOC_ACCESS_KEY, DOC_SECRET_KEY),
        )
    ]
    path.write_text(json.dumps({"identities": identities}, indent=2))


def start_seaweedfs(
    root: Path, *, deadline: float = STARTUP_DEADLINE
) -> tuple[ServerInfo, ServerProcess]:
    """Start ``weed server`` (master, volume, filer, S3) with data and log under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    identities = root / "identities.json"
    _write_identities(identities)

    def make() -> tuple[list[str], ServerInfo]:
        shutil.rmtree(data, ignore_errors=True)  # a failed attempt may have left state
        data.mkdir()
        # One volume per new collection instead of 7 (weed reads master.toml from its cwd).
        (root / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
        master, volume, filer, s3 = pick_ports(4, with_grpc_twin=True)
        argv = [
            _find_binary("weed"),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",  # the default is not loopback
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.localSocket={root / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={identities}",
            f"-s3.localSocket={root / 's3.sock'}",
            "-s3.port.iceberg=0",  # these two would open extra listeners
            "-s3.port.lance=0",
            "-master.telemetry=false",  # it would try to reach the internet
            "-master.resumeState=false",  # else a restart waits ~20 s for a leader election
            "-master.volumeSizeLimitMB=256",  # do not pre-allocate gigabytes
            # Every bucket is a collection with volumes of its own: the default limit
            # (free disk / volume size) runs out after a few dozen test buckets, then
            # every write fails with "No writable volumes" (500 InternalError).
            "-volume.max=4000",
            "-volume.preStopSeconds=0",  # default 10 s of lingering on SIGTERM
        ]
        info = ServerInfo(
            name="seaweedfs",
            endpoint_url=f"http://127.0.0.1:{s3}",
            access_key=TEST_ACCESS_KEY,
            secret_key=TEST_SECRET_KEY,
            checks_signatures=True,
            min_part_size=5 * MIB,
        )
        return argv, info

    return _launch(make, root, _child_env(), WEED_STOP_GRACE, deadline)


def start_moto(
    root: Path | None = None, *, deadline: float = STARTUP_DEADLINE
) -> tuple[ServerInfo, ServerProcess]:
    """Start ``moto_server`` on a free port; without ``root`` its log goes to a temp dir."""
    own_root = root is None
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="moto-"))
    root.mkdir(parents=True, exist_ok=True)
    min_part_size = 5 * MIB
    env = _child_env()
    env["S3_UPLOAD_PART_MIN_SIZE"] = str(min_part_size)  # moto's own default, made explicit

    def make() -> tuple[list[str], ServerInfo]:
        (port,) = pick_ports(1, with_grpc_twin=False)
        argv = [_find_binary("moto_server"), "-H", "127.0.0.1", "-p", str(port)]
        info = ServerInfo(
            name="moto",
            endpoint_url=f"http://127.0.0.1:{port}",
            access_key=TEST_ACCESS_KEY,
            secret_key=TEST_SECRET_KEY,
            checks_signatures=False,
            min_part_size=min_part_size,
        )
        return argv, info

    try:
        info, server = _launch(make, root, env, STOP_GRACE, deadline)
    except BaseException:
        if own_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    if own_root:
        server._cleanup.append(root)
    return info, server


@contextlib.contextmanager
def seaweedfs(root: Path) -> Iterator[ServerInfo]:
    """``with seaweedfs(root) as info:`` a running SeaweedFS, stopped on exit."""
    info, server = start_seaweedfs(root)
    try:
        yield info
    finally:
        server.stop()


@contextlib.contextmanager
def moto_server(root: Path | None = None) -> Iterator[ServerInfo]:
    """``with moto_server() as info:`` a running moto S3 server, stopped on exit."""
    info, server = start_moto(root)
    try:
        yield info
    finally:
        server.stop()
