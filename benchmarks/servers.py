"""The embedded server against moto's server and SeaweedFS, with one client for all.

    python benchmarks/servers.py [--size-mib 1024] [--small 2000] [--servers local,moto,seaweedfs]

For each server (started fresh, each as its own process): PUT of one large random file
(``S3Client.upload_file_multipart``, 8 MiB parts, 8 in flight), GET of it (streamed,
counted), then PUT and GET of ``--small`` 4-KiB objects (32 in flight). Reported per
phase: wall time, the server's CPU seconds (utime+stime from /proc of the server
process and its descendants) and its peak RSS (VmHWM, reset before each phase through
/proc/<pid>/clear_refs where permitted). One run, not a statistic; the client runs in
this process and is the same for every server (UNSIGNED-PAYLOAD with a CRC32C per
part on loopback, see DESIGN.md 1.1). The table goes to results/servers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY, start_moto, start_seaweedfs  # noqa: E402

from s3_asyncio_client import S3Client  # noqa: E402

MiB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")
DATA_FILE = Path(tempfile.gettempdir()) / "s3aio-bench" / "random.bin"


@dataclass
class Running:
    name: str
    endpoint_url: str
    pid: int
    stop: Callable[[], None]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc/*/stat parent links."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def peak_rss_mib(pid: int) -> float:
    total = 0
    for each in _descendants(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def reset_peak_rss(pid: int) -> None:
    for each in _descendants(pid):
        with contextlib.suppress(OSError):  # not permitted everywhere
            Path(f"/proc/{each}/clear_refs").write_text("5")


def start_local(root: Path) -> Running:
    log = root / "local.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "s3_asyncio_client.server", "--root", str(root / "data"),
                "--port", "0", "--access-key", TEST_ACCESS_KEY, "--secret-key", TEST_SECRET_KEY,
            ],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("LocalS3 serving ") and " at http://" in line:
                url = line.rsplit(" at ", 1)[1].strip()

                def stop() -> None:
                    proc.terminate()
                    proc.wait(timeout=30)

                return Running("local", url, proc.pid, stop)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"local server did not start:\n{log.read_text()}")


def start(name: str, root: Path) -> Running:
    if name == "local":
        return start_local(root)
    info, process = (start_moto if name == "moto" else start_seaweedfs)(root)
    return Running(name, info.endpoint_url, process.pid, process.stop)


def ensure_data(size: int) -> Path:
    """A random file of ``size`` bytes, created once and reused."""
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    if not DATA_FILE.exists() or DATA_FILE.stat().st_size != size:
        with open(DATA_FILE, "wb") as out:
            for _ in range(size // MiB):
                out.write(os.urandom(MiB))
            out.write(os.urandom(size % MiB))
    return DATA_FILE


async def phase(
    server: Running, rows: list[list[str]], label: str, amount: str,
    work: Callable[[], Awaitable[float]],
) -> None:  # fmt: skip
    reset_peak_rss(server.pid)
    cpu = cpu_seconds(server.pid)
    began = time.perf_counter()
    quantity = await work()
    wall = time.perf_counter() - began
    used = cpu_seconds(server.pid) - cpu
    rate = f"{quantity / wall:,.0f} {amount}"
    row = [
        server.name,
        label,
        f"{wall:.2f}",
        rate,
        f"{used:.2f}",
        f"{peak_rss_mib(server.pid):.0f}",
    ]
    rows.append(row)
    print(" | ".join(row), flush=True)


async def measure(server: Running, data: bytes, small: int, rows: list[list[str]]) -> None:
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=TEST_ACCESS_KEY,
        secret_key=TEST_SECRET_KEY,
        region="us-east-1",
        max_connections=32,
    ) as client:
        await client.create_bucket("bench", exist_ok=True)
        size_mib = len(data) / MiB

        async def put_large() -> float:
            await client.upload_file_multipart(
                "bench", "large", data, part_size=8 * MiB, max_concurrency=8
            )
            return size_mib

        async def get_large() -> float:
            received = 0
            async with client.open_object("bench", "large") as stream:
                async for chunk in stream:
                    received += len(chunk)
            assert received == len(data), received
            return size_mib

        body = os.urandom(4096)
        limit = asyncio.Semaphore(32)

        async def each(operation: Callable[[str], Awaitable[object]]) -> float:
            async def one(index: int) -> None:
                async with limit:
                    await operation(f"small/{index:05d}")

            await asyncio.gather(*(one(i) for i in range(small)))
            return small

        async def put_one(key: str) -> None:
            await client.put_object("bench", key, body)

        async def get_one(key: str) -> None:
            got = await client.get_object("bench", key)
            assert got["body"] == body

        await phase(server, rows, f"PUT {size_mib:.0f} MiB", "MiB/s", put_large)
        await phase(server, rows, f"GET {size_mib:.0f} MiB", "MiB/s", get_large)
        await phase(server, rows, f"PUT {small} x 4 KiB", "obj/s", lambda: each(put_one))
        await phase(server, rows, f"GET {small} x 4 KiB", "obj/s", lambda: each(get_one))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--servers", default="local,moto,seaweedfs")
    args = parser.parse_args()
    path = ensure_data(args.size_mib * MiB)
    data = path.read_bytes()
    rows: list[list[str]] = []
    header = ["server", "operation", "wall s", "rate", "server CPU s", "server peak RSS MiB"]
    print(" | ".join(header), flush=True)
    for name in args.servers.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch:
            server = start(name, Path(scratch))
            try:
                asyncio.run(measure(server, data, args.small, rows))
            finally:
                server.stop()
    lines = [
        f"# Servers: {args.size_mib} MiB object and {args.small} x 4 KiB objects",
        "",
        "Client: s3_asyncio_client (UNSIGNED-PAYLOAD + CRC32C per part, 8 MiB parts, 8 in "
        "flight; small objects 32 in flight), same for every server. One run, this "
        f"machine ({os.cpu_count()} CPUs). Server CPU = utime+stime of the server process "
        "tree during the phase; peak RSS = VmHWM reset before each phase.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "servers.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
