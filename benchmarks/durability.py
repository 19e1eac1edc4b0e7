"""What durability costs on this machine: the embedded server in its default, durable
mode (fsync of each blob, its folder and the index's WAL before a write is answered)
against ``--no-fsync``.

    python benchmarks/durability.py [--count 2000] [--size-kib 4] [--large-mib 1024]
                                    [--dir DIR] [--rounds 1]

For each mode, the server runs as a child process on 127.0.0.1 (``python -m
s3_asyncio_client.server``) with its root under ``--dir`` (the disk to measure; the
system temp folder by default), stopped by PID at the end. Timed: ``--count``
sequential ``put_object`` of ``--size-kib`` KiB (one PUT's latency: each waits for its
own fsyncs), the same count with 32 in flight (concurrent fsyncs overlap), and one
``upload_file`` of a ``--large-mib`` MiB file (8 MiB parts, 8 in flight; the file is
written once under ``--dir`` and removed at the end). Prints each mode's times and
what durability adds per PUT and per GiB. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serveprocess import ServeProcess  # noqa: E402
from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY  # noqa: E402

from s3_asyncio_client import S3Client, TransferConfig  # noqa: E402

MiB = 1024 * 1024
BUCKET = "durability"
IN_FLIGHT = 32


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as out:
        for offset in range(0, size, MiB):
            out.write(offset.to_bytes(8, "little") + block[8 : min(MiB, size - offset)])


async def measure(url: str, count: int, body: bytes, large: Path) -> dict[str, float]:
    times: dict[str, float] = {}
    async with S3Client(
        endpoint_url=url, access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY
    ) as client:
        await client.create_bucket(BUCKET)
        for i in range(20):  # warm-up: connections, first requests
            await client.put_object(BUCKET, f"warm/{i}", body)
        started = time.perf_counter()
        for i in range(count):
            await client.put_object(BUCKET, f"seq/{i}", body)
        times["sequential"] = time.perf_counter() - started

        queue = iter(range(count))

        async def worker() -> None:
            for i in queue:
                await client.put_object(BUCKET, f"par/{i}", body)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        times["concurrent"] = time.perf_counter() - started

        config = TransferConfig(part_size=8 * MiB, max_concurrency=8, resume=False)
        started = time.perf_counter()
        await client.upload_file(BUCKET, "large", large, config=config)
        times["large"] = time.perf_counter() - started
    return times


def run_mode(
    scratch: Path, durable: bool, args: argparse.Namespace, large: Path
) -> dict[str, float]:
    root = scratch / ("durable" if durable else "no-fsync")
    server = ServeProcess(
        ["--root", str(root), "--port", "0", "--access-key", TEST_ACCESS_KEY,
         "--secret-key", TEST_SECRET_KEY, *([] if durable else ["--no-fsync"])],
        scratch / f"{root.name}.log",
    )  # fmt: skip
    try:
        body = os.urandom(args.size_kib * 1024)
        return asyncio.run(measure(server.endpoint_url, args.count, body, large))
    finally:
        server.terminate()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size-kib", type=int, default=4)
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="the disk to measure")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="s3aio-durability-", dir=args.dir))
    try:
        large = scratch / "large.bin"
        make_file(large, args.large_mib * MiB)
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for n in range(args.rounds):
            for durable in (True, False) if n % 2 == 0 else (False, True):
                results[durable].append(run_mode(scratch, durable, args, large))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def best(durable: bool, phase: str) -> float:
        return min(r[phase] for r in results[durable])

    gib = args.large_mib / 1024
    print(f"{args.count} PUTs of {args.size_kib} KiB, one {args.large_mib} MiB upload, "
          f"root under {args.dir}, best of {args.rounds}")  # fmt: skip
    print(f"{'':28}{'durable':>12}{'--no-fsync':>12}{'cost':>14}")
    for phase, label in (
        ("sequential", "sequential, per PUT"),
        ("concurrent", "32 in flight, per PUT"),
    ):
        on, off = best(True, phase) / args.count, best(False, phase) / args.count
        print(f"{label:28}{on * 1e3:>10.3f}ms{off * 1e3:>10.3f}ms{(on - off) * 1e3:>+12.3f}ms")
    on, off = best(True, "large") / gib, best(False, "large") / gib
    print(f"{'large upload, per GiB':28}{on:>11.2f}s{off:>11.2f}s{on - off:>+13.2f}s")


if __name__ == "__main__":
    main()
