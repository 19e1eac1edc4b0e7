"""Many keys: objects/s for PUT, LIST and DELETE at 100k and 1M keys, with peak RSS.

    python benchmarks/scale.py [--runs local:100000,seaweedfs:100000,local:1000000]
                               [--puts 20000] [--body-bytes 1024] [--concurrency 8]

Each run starts its server fresh as its own process (``servers.start``: the embedded
server as ``python -m s3_asyncio_client.server``, SeaweedFS through tests/servers.py)
and then, on one bucket of KEYS keys named ``dNNNNN/kNNNNNNN`` (100 per "folder"):

1. fill: the embedded server gets KEYS - PUTS empty objects stored through its index
   (tests/manykeys.py) before it starts, in this process (rate = rows/s); SeaweedFS
   has no such door, so there every key is PUT;
2. PUT: ``--puts`` (or, on SeaweedFS, KEYS) PUTs of ``--body-bytes`` bytes, 32 in flight;
3. LIST: ``S3Client.iter_objects`` over the whole bucket (1,000 a page); the page rate
   of the first and the last tenth of the pages shows whether paging stays steady;
4. LIST /: the same with delimiter "/" (KEYS / 100 common prefixes);
5. ls -r: ``s3aio ls -r`` as a subprocess, its output thrown away (its peak RSS
   polled from /proc);
6. DELETE: ``S3Client.delete_keys`` fed by a listing, ``--concurrency`` DeleteObjects
   batches of 1,000 in flight; the bucket is checked empty afterwards.

Client peak RSS is this process's VmHWM (reset before each phase through clear_refs,
so it includes the interpreter, ~30 MiB), except for ls -r (its own process); server
peak RSS and CPU as in servers.py. One run, not a statistic. The table goes to
results/scale.md (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # "servers" is tests/servers.py from here on

from clirunner import S3AIO, cli_env  # noqa: E402
from manykeys import key_names, seed_objects  # noqa: E402
from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY, ServerInfo  # noqa: E402

from s3_asyncio_client import S3Client  # noqa: E402


def _load_measuring() -> ModuleType:
    """benchmarks/servers.py (starting servers, their CPU and peak RSS), under its own
    name: tests/servers.py holds "servers"."""
    spec = importlib.util.spec_from_file_location(
        "s3aio_bench_servers", Path(__file__).parent / "servers.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


measuring = _load_measuring()
Running = measuring.Running

BUCKET = "scale"
HEADER = [
    "server", "keys", "operation", "count", "wall s", "objects/s",
    "client peak RSS MiB", "server peak RSS MiB", "server CPU s", "notes",
]  # fmt: skip


@dataclass
class Measured:
    count: int
    notes: str = ""
    client_rss: float | None = None  # a phase run in another process says its own


def own_peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_own_peak() -> None:
    with contextlib.suppress(OSError):  # not permitted everywhere: peak since start
        Path("/proc/self/clear_refs").write_text("5")


async def phase(
    server: Running, keys: int, rows: list[list[str]], label: str,
    work: Callable[[], Awaitable[Measured]],
) -> None:  # fmt: skip
    measuring.reset_peak_rss(server.pid)
    reset_own_peak()
    cpu = measuring.cpu_seconds(server.pid)
    began = time.perf_counter()
    done = await work()
    wall = time.perf_counter() - began
    client = done.client_rss if done.client_rss is not None else own_peak_mib()
    row = [
        server.name, f"{keys:,}", label, f"{done.count:,}", f"{wall:.1f}",
        f"{done.count / wall:,.0f}", f"{client:.0f}", f"{measuring.peak_rss_mib(server.pid):.0f}",
        f"{measuring.cpu_seconds(server.pid) - cpu:.1f}", done.notes,
    ]  # fmt: skip
    rows.append(row)
    print(" | ".join(row), flush=True)


def steadiness(stamps: list[float]) -> str:
    """Pages/s over the first and the last tenth of a listing's pages."""
    tenth = max(len(stamps) // 10, 1)
    if len(stamps) < 2 * tenth + 1:
        return ""
    first = tenth / (stamps[tenth] - stamps[0])
    last = tenth / (stamps[-1] - stamps[-1 - tenth])
    return f"pages/s first 10% {first:,.0f}, last 10% {last:,.0f}"


def s3aio_ls_recursive(server: Running) -> float:
    """Run ``s3aio ls -r`` on the bucket, output discarded; its peak RSS in MiB (VmHWM,
    read every 20 ms until it exits)."""
    info = ServerInfo(
        name=server.name, endpoint_url=server.endpoint_url, access_key=TEST_ACCESS_KEY,
        secret_key=TEST_SECRET_KEY, checks_signatures=True, min_part_size=0,
    )  # fmt: skip
    argv = [*S3AIO, "--endpoint-url", server.endpoint_url, "ls", "-r", f"s3://{BUCKET}"]
    peak = 0.0
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, env=cli_env(info))
        # Polled: wait4's ru_maxrss would count this process's memory too (a child
        # keeps the high-water mark of the memory it was forked with across exec).
        while proc.poll() is None:
            peak = max(peak, measuring.peak_rss_mib(proc.pid))
            time.sleep(0.02)
    assert proc.returncode == 0, proc.returncode
    return peak


async def measure(
    server: Running, keys: int, seeded: int, args: argparse.Namespace, rows: list[list[str]]
) -> None:
    async with S3Client(
        endpoint_url=server.endpoint_url,
        access_key=TEST_ACCESS_KEY,
        secret_key=TEST_SECRET_KEY,
        region="us-east-1",
        max_connections=32,
    ) as client:
        await client.create_bucket(BUCKET, exist_ok=True)
        body = os.urandom(args.body_bytes)

        async def put() -> Measured:
            limit = asyncio.Semaphore(32)

            async def one(key: str) -> None:
                async with limit:
                    await client.put_object(BUCKET, key, body)

            # In slices: a million pending tasks would be the memory measured.
            names = key_names(keys - seeded, start=seeded)
            while chunk := [name for _, name in zip(range(10_000), names, strict=False)]:
                await asyncio.gather(*(one(name) for name in chunk))
            return Measured(keys - seeded, f"{args.body_bytes} B each, 32 in flight")

        async def listing() -> Measured:
            count, stamps = 0, [time.perf_counter()]
            async for page in client.iter_object_pages(BUCKET):
                count += len(page["contents"])
                stamps.append(time.perf_counter())
            assert count == keys, (count, keys)
            return Measured(count, steadiness(stamps))

        async def folders() -> Measured:
            count = 0
            async for page in client.iter_object_pages(BUCKET, delimiter="/"):
                count += len(page["common_prefixes"])
            assert count == -(-keys // 100), count
            return Measured(count, "common prefixes")

        async def ls_recursive() -> Measured:
            peak = await asyncio.to_thread(s3aio_ls_recursive, server)
            return Measured(keys, "s3aio subprocess, output discarded", peak)

        async def delete() -> Measured:
            listed = (item["key"] async for item in client.iter_objects(BUCKET))
            deleted = 0
            batches = client.delete_keys(BUCKET, listed, concurrency=args.concurrency)
            async for batch in batches:
                assert not batch.errors, batch.errors[:3]
                deleted += batch.succeeded
            assert deleted == keys, (deleted, keys)
            assert not [item async for item in client.iter_objects(BUCKET)]
            return Measured(deleted, f"batches of 1,000, {args.concurrency} in flight")

        await phase(server, keys, rows, "PUT", put)
        await phase(server, keys, rows, "LIST", listing)
        await phase(server, keys, rows, "LIST delimiter /", folders)
        await phase(server, keys, rows, "s3aio ls -r", ls_recursive)
        await phase(server, keys, rows, "DELETE", delete)


def run_one(name: str, keys: int, args: argparse.Namespace, rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{name}-") as scratch:
        seeded = 0
        if name == "local":
            seeded = max(keys - args.puts, 0)
            began = time.perf_counter()
            seed_objects(Path(scratch) / "data", BUCKET, key_names(seeded))
            wall = time.perf_counter() - began
            row = [name, f"{keys:,}", "fill (index)", f"{seeded:,}", f"{wall:.1f}",
                   f"{seeded / wall:,.0f}" if wall else "-", f"{own_peak_mib():.0f}", "-", "-",
                   "empty objects written through the index, server stopped"]  # fmt: skip
            rows.append(row)
            print(" | ".join(row), flush=True)
            began = time.perf_counter()
            server = measuring.start_local(Path(scratch))
            startup = time.perf_counter() - began
            row = [name, f"{keys:,}", "server start", f"{seeded:,}", f"{startup:.1f}", "-", "-",
                   f"{measuring.peak_rss_mib(server.pid):.0f}", "-",
                   "process start to serving, with the filled index"]  # fmt: skip
            rows.append(row)
            print(" | ".join(row), flush=True)
        else:
            server = measuring.start(name, Path(scratch))
        try:
            asyncio.run(measure(server, keys, seeded, args, rows))
        finally:
            server.stop()


def report(args: argparse.Namespace, rows: list[list[str]]) -> None:
    lines = [
        f"# Scale: {args.runs}",
        "",
        f"`python benchmarks/scale.py --runs {args.runs} --puts {args.puts} --body-bytes "
        f"{args.body_bytes} --concurrency {args.concurrency}`. One run, this machine "
        f"({os.cpu_count()} CPUs). Client: s3_asyncio_client in the benchmark process "
        "(peak RSS = its VmHWM reset before each phase, interpreter included); ls -r: the "
        "s3aio process (VmHWM polled). Server CPU = utime+stime of the server's process "
        "tree; server peak RSS = VmHWM reset before each phase. Keys `dNNNNN/kNNNNNNN`, "
        "100 a folder.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="local:100000,seaweedfs:100000,local:1000000",
                        help="server:keys,... (servers: local, seaweedfs)")  # fmt: skip
    parser.add_argument("--puts", type=int, default=20_000, help="PUTs on the embedded server")
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=8, help="DeleteObjects in flight")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.md")
    args = parser.parse_args()
    runs = [(spec.split(":")[0], int(spec.split(":")[1])) for spec in args.runs.split(",")]
    rows: list[list[str]] = []
    print(" | ".join(HEADER), flush=True)
    for name, keys in runs:
        run_one(name, keys, args, rows)
        report(args, rows)  # after each run: a later failure keeps the earlier rows
    print(args.out.read_text())


if __name__ == "__main__":
    main()
