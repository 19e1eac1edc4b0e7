"""What the fsync before a download's final rename costs on this machine.

    python benchmarks/download_fsync.py [--size-mib 1024] [--rounds 3] [--dir DIR]

An object of ``--size-mib`` MiB is stored in the embedded server (in-process, on
127.0.0.1, its root under ``--dir``: the disk to measure, the system temp folder by
default), then downloaded with ``download_file`` ``--rounds`` times as shipped (the
file fsynced before it is renamed into place) and as many times with that fsync
skipped (``os.fsync`` replaced by a no-op for the timed call only, which is why this
is a benchmark and not an option). The page cache is flushed (``sync``) before each
round. Prints each round and the median cost of the fsync. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from s3_asyncio_client import S3Client, TransferConfig
from s3_asyncio_client.server import LocalS3Server

MiB = 1024 * 1024
KEYS = {"bench-access": "bench-secret-0123456789"}


async def measure(endpoint: str, root: Path, size: int, rounds: int) -> dict[str, list[float]]:
    access, secret = next(iter(KEYS.items()))
    times: dict[str, list[float]] = {"fsync": [], "no fsync": []}
    async with S3Client(access_key=access, secret_key=secret, endpoint_url=endpoint) as client:
        await client.create_bucket("bench")
        source = root / "source.bin"
        with source.open("wb") as out:
            for _ in range(0, size, 16 * MiB):
                out.write(os.urandom(16 * MiB))
        await client.upload_file("bench", "object", source, config=TransferConfig())
        source.unlink()
        target = root / "download.bin"
        for _ in range(rounds):
            for mode in times:
                await asyncio.to_thread(os.sync)
                skip = mock.patch("os.fsync", return_value=None) if mode == "no fsync" else None
                started = time.perf_counter()
                with skip or contextlib.nullcontext():
                    await client.download_file("bench", "object", target, config=TransferConfig())
                times[mode].append(time.perf_counter() - started)
                print(f"{mode:>8}: {times[mode][-1]:.2f} s", flush=True)
                target.unlink()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        with LocalS3Server(root / "server", credentials=KEYS) as server:
            times = asyncio.run(measure(server.endpoint_url, root, size, args.rounds))
    with_fsync, without = (statistics.median(times[m]) for m in ("fsync", "no fsync"))
    print(
        f"{args.size_mib} MiB download, median of {args.rounds}: {with_fsync:.2f} s with "
        f"the fsync, {without:.2f} s without: the fsync costs {with_fsync - without:.2f} s "
        f"({(with_fsync - without) / (size / 1024**3):.2f} s per GiB)"
    )


if __name__ == "__main__":
    main()
