"""What the sync facade costs over the async client: sequential small PUTs, both ways.

    python benchmarks/sync_overhead.py [--count 1000] [--size 1024] [--rounds 3]
                                       [--server local|seaweedfs] [--read-mib 0]
                                       [--threads 32]

One server on 127.0.0.1 (the embedded server as a child process, or SeaweedFS via
tests/servers.py), stopped by PID at the end. Each round times ``--count`` sequential
``Object.put_content`` calls of ``--size`` bytes through ``Client`` (each a portal
round trip from this thread to the loop thread), and the same count of sequential
``await S3Client.put_object`` in ``asyncio.run``; the order alternates between rounds,
and each side warms up (connection, first request) untimed. Both send the same
requests (UNSIGNED-PAYLOAD with a CRC32C/CRC32 checksum header: loopback). Prints the
median wall times, their ratio (sync / async), the extra time per call, and the bare
portal round trip (a no-op coroutine) for scale.

With ``--threads N`` (0 skips) it also times ``--count`` small PUTs spread over N
threads sharing one ``Client`` (``Object.put_content``) against the same count spread
over N tasks of one ``S3Client`` (``put_object``) on the same kind of loop as the
facade's (uvloop when installed), alternating, medians; wall and process CPU.

With ``--read-mib N`` (0 skips) it also times one streamed read of an N MiB object,
both ways, alternating: ``for chunk in Object.get_reader()`` through the portal, and
``S3Client.open_object`` + ``read_chunk()`` on the same kind of loop as the
facade's (uvloop when installed); wall and process CPU (all threads), medians.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY, ServerInfo, seaweedfs  # noqa: E402

from s3_asyncio_client import Client, S3Client  # noqa: E402
from s3_asyncio_client.sync.loops import new_event_loop  # noqa: E402

BUCKET = "sync-overhead"
WARMUP = 50
Cost = tuple[float, float]  # wall seconds, process CPU seconds


@contextmanager
def local_server(root: Path) -> Iterator[ServerInfo]:
    """``python -m s3_asyncio_client.server`` in a child process (its own GIL)."""
    log = root / "local.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "s3_asyncio_client.server", "--root", str(root / "data"),
                "--port", "0", "--access-key", TEST_ACCESS_KEY, "--secret-key", TEST_SECRET_KEY,
            ],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            lines = log.read_text(errors="replace").splitlines()
            urls = [line.rsplit(" at ", 1)[1] for line in lines if " at http://" in line]
            if urls:
                yield ServerInfo(
                    name="local",
                    endpoint_url=urls[0].strip(),
                    access_key=TEST_ACCESS_KEY,
                    secret_key=TEST_SECRET_KEY,
                    checks_signatures=True,
                    min_part_size=0,
                )
                return
            time.sleep(0.05)
        raise RuntimeError(f"the embedded server did not start:\n{log.read_text()}")
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def time_sync(info: ServerInfo, count: int, body: bytes, tag: str) -> tuple[float, float]:
    """Seconds for ``count`` sync puts, and for one bare portal round trip."""
    with Client(
        info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:
        bucket = client.bucket(BUCKET)
        for i in range(WARMUP):
            bucket.object(f"warm/sync-{i}").put_content(body)
        started = time.perf_counter()
        for i in range(count):
            bucket.object(f"{tag}/sync-{i}").put_content(body)
        elapsed = time.perf_counter() - started

        async def nothing() -> None:
            return None

        portal = client._runner.portal
        started = time.perf_counter()
        for _ in range(count):
            portal.call(nothing)
        round_trip = (time.perf_counter() - started) / count
    return elapsed, round_trip


async def time_async(info: ServerInfo, count: int, body: bytes, tag: str) -> float:
    async with S3Client(
        endpoint_url=info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:
        for i in range(WARMUP):
            await client.put_object(BUCKET, f"warm/async-{i}", body)
        started = time.perf_counter()
        for i in range(count):
            await client.put_object(BUCKET, f"{tag}/async-{i}", body)
        return time.perf_counter() - started


def concurrent_sync(info: ServerInfo, count: int, body: bytes, tag: str, threads: int) -> Cost:
    """Wall and CPU seconds of ``count`` puts from ``threads`` threads sharing a Client."""
    with Client(
        info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:
        bucket = client.bucket(BUCKET)

        def work(lane: int, total: int, prefix: str) -> None:
            for i in range(lane, total, threads):
                bucket.object(f"{prefix}/sync-{i}").put_content(body)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads), [WARMUP] * threads, ["warm"] * threads))
            started, cpu = time.perf_counter(), _cpu()
            list(pool.map(work, range(threads), [count] * threads, [tag] * threads))
            return time.perf_counter() - started, _cpu() - cpu


async def concurrent_async(info: ServerInfo, count: int, body: bytes, tag: str, tasks: int) -> Cost:
    """Wall and CPU seconds of ``count`` puts from ``tasks`` tasks sharing an S3Client."""
    async with S3Client(
        endpoint_url=info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:

        async def work(lane: int, total: int, prefix: str) -> None:
            for i in range(lane, total, tasks):
                await client.put_object(BUCKET, f"{prefix}/async-{i}", body)

        await asyncio.gather(*(work(lane, WARMUP, "warm") for lane in range(tasks)))
        started, cpu = time.perf_counter(), _cpu()
        await asyncio.gather(*(work(lane, count, tag) for lane in range(tasks)))
        return time.perf_counter() - started, _cpu() - cpu


def measure_concurrent(info: ServerInfo, count: int, size: int, rounds: int, lanes: int) -> None:
    body = os.urandom(size)
    results: dict[str, list[Cost]] = {"sync": [], "async": []}
    for n in range(rounds):
        for side in ["sync", "async"] if n % 2 == 0 else ["async", "sync"]:
            if side == "sync":
                results[side].append(concurrent_sync(info, count, body, f"t{n}", lanes))
            else:
                with asyncio.Runner(loop_factory=new_event_loop) as runner:
                    cost = runner.run(concurrent_async(info, count, body, f"t{n}", lanes))
                results[side].append(cost)
    walls = {side: statistics.median(w for w, _ in got) for side, got in results.items()}
    print(f"{count} PUTs of {size} B from {lanes} threads / tasks, median of {rounds} rounds")
    names = {
        "async": f"async {lanes} tasks, put_object",
        "sync": f"sync  {lanes} threads, put_content",
    }
    for side, got in sorted(results.items()):
        cpu = statistics.median(c for _, c in got)
        print(f"  {names[side]:32}: {walls[side]:7.3f} s wall {cpu:6.3f} s CPU")
    print(f"  ratio sync / async (wall)       : {walls['sync'] / walls['async']:7.3f}")
    for side, got in sorted(results.items()):
        print(f"  samples {side:5} (wall/CPU): {', '.join(f'{w:.3f}/{c:.3f}' for w, c in got)}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_sync(info: ServerInfo, key: str) -> tuple[float, float, int]:
    """Wall and CPU seconds and bytes of ``for chunk in get_reader()`` over ``key``."""
    with Client(
        info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:
        obj = client.bucket(BUCKET).object(key)
        obj.head()  # connection and loop thread up, untimed
        started, cpu, received = time.perf_counter(), _cpu(), 0
        for chunk in obj.get_reader():
            received += len(chunk)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    return elapsed, cpu, received


async def read_async(info: ServerInfo, key: str) -> tuple[float, float, int]:
    """Wall and CPU seconds and bytes of ``open_object`` + ``read_chunk()`` over ``key``."""
    async with S3Client(
        endpoint_url=info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        region=info.region,
    ) as client:
        await client.head_object(BUCKET, key)  # connection up, untimed
        started, cpu, received = time.perf_counter(), _cpu(), 0
        async with client.open_object(BUCKET, key) as stream:
            while piece := await stream.read_chunk():
                received += len(piece)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    return elapsed, cpu, received


def measure_read(info: ServerInfo, mib: int, rounds: int, scratch: Path) -> None:
    source = scratch / "read.bin"
    with open(source, "wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1024 * 1024))
    with Client(
        info.endpoint_url, access_key=info.access_key, secret_key=info.secret_key
    ) as client:
        client.bucket(BUCKET).create(exist_ok=True).object("read.bin").get_writer().put_file(source)
    results: dict[str, list[tuple[float, float]]] = {"sync": [], "async": []}
    for n in range(rounds):
        for side in ["sync", "async"] if n % 2 == 0 else ["async", "sync"]:
            if side == "sync":
                wall, cpu, received = read_sync(info, "read.bin")
            else:
                with asyncio.Runner(loop_factory=new_event_loop) as runner:
                    wall, cpu, received = runner.run(read_async(info, "read.bin"))
            assert received == mib * 1024 * 1024, f"{side} read {received} bytes"
            results[side].append((wall, cpu))
    walls = {side: statistics.median(w for w, _ in got) for side, got in results.items()}
    print(f"one streamed GET of {mib} MiB, median of {rounds} rounds (order alternating)")
    names = {"async": "async open_object + read_chunk", "sync": "sync  for chunk in get_reader()"}
    for side, got in sorted(results.items()):
        cpu = statistics.median(c for _, c in got)
        print(f"  {names[side]:32}: {walls[side]:7.3f} s wall {cpu:6.3f} s CPU")
    print(f"  ratio sync / async (wall)       : {walls['sync'] / walls['async']:7.3f}")
    for side, got in sorted(results.items()):
        print(f"  samples {side:5} (wall/CPU): {', '.join(f'{w:.3f}/{c:.3f}' for w, c in got)}")


def measure(info: ServerInfo, count: int, size: int, rounds: int) -> None:
    body = os.urandom(size)
    with Client(
        info.endpoint_url, access_key=info.access_key, secret_key=info.secret_key
    ) as client:
        client.bucket(BUCKET).create(exist_ok=True)
        s3 = client._runner._s3
        mode = "signed SHA-256" if s3.transport.signs_payload else "UNSIGNED-PAYLOAD"
        checksum = s3.checksum
    sync_times: list[float] = []
    async_times: list[float] = []
    trips: list[float] = []
    for n in range(rounds):
        sides = ["sync", "async"] if n % 2 == 0 else ["async", "sync"]
        for side in sides:
            if side == "sync":
                elapsed, trip = time_sync(info, count, body, f"r{n}")
                sync_times.append(elapsed)
                trips.append(trip)
            else:
                async_times.append(asyncio.run(time_async(info, count, body, f"r{n}")))
    sync_s, async_s = statistics.median(sync_times), statistics.median(async_times)
    print(f"server: {info.name} at {info.endpoint_url}; payload {mode}, checksum {checksum}")
    print(f"{count} sequential PUTs of {size} B, median of {rounds} rounds (order alternating)")
    print(f"  async S3Client.put_object : {async_s:7.3f} s  ({async_s / count * 1e6:6.0f} us/op)")
    print(f"  sync  Object.put_content  : {sync_s:7.3f} s  ({sync_s / count * 1e6:6.0f} us/op)")
    print(f"  ratio sync / async        : {sync_s / async_s:7.3f}")
    print(f"  extra per sync call       : {(sync_s - async_s) / count * 1e6:7.0f} us")
    print(f"  bare portal round trip    : {statistics.median(trips) * 1e6:7.0f} us")
    print(f"  samples sync  : {', '.join(f'{t:.3f}' for t in sync_times)}")
    print(f"  samples async : {', '.join(f'{t:.3f}' for t in async_times)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["local", "seaweedfs"], default="local")
    parser.add_argument("--read-mib", type=int, default=0, help="streamed read; 0 skips")
    parser.add_argument("--threads", type=int, default=32, help="concurrent PUTs; 0 skips")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sync-overhead-") as scratch:
        root = Path(scratch)
        start = local_server if args.server == "local" else seaweedfs
        with start(root) as info:
            if args.count:
                measure(info, args.count, args.size, args.rounds)
            if args.count and args.threads:
                measure_concurrent(info, args.count, args.size, args.rounds, args.threads)
            if args.read_mib:
                measure_read(info, args.read_mib, args.rounds, root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
