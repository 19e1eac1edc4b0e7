"""Client CPU per GiB of upload and download with each checksum algorithm.

    python benchmarks/checksums.py [--size-mib 256] [--dir DIR]

The embedded server runs as its own process on 127.0.0.1 (``s3aio serve --no-fsync``),
so the CPU counted (user+sys of this process, all its threads, from getrusage) is the
client's alone. One file of ``--size-mib`` MiB is uploaded with ``upload_file`` and
each ``checksum`` (8 MiB parts, the store's default type), then downloaded with
``download_file`` (verified against what the server keeps; fsync off), one run each.
boto3's upload (its default CRC32, and CRC64NVME through awscrt when installed) and
``download_file`` (which checks no checksum on ranged parts) are measured the same
way for comparison. Prints a Markdown table. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from s3_asyncio_client import S3Client, TransferConfig

MiB = 1024 * 1024
ACCESS, SECRET = "bench-access", "bench-secret-0123456789"
ALGORITHMS = ["crc32c", "crc64nvme", "crc32", "sha256", "sha1", None]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def server(root: Path) -> Iterator[str]:
    """``s3aio serve`` on a free port; stopped (by its own PID) on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "s3_asyncio_client.cli", "serve", "--root", str(root)]
    argv += ["--port", str(port), "--access-key", ACCESS, "--secret-key", SECRET, "--no-fsync"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def measured(rows: list[list[str]], label: list[str], size: int) -> Iterator[None]:
    """Add a row: ``label[0]`` (the block may refine it), client CPU s per GiB, GiB/s."""
    start_cpu, start = cpu(), time.perf_counter()
    yield
    used, wall, gib = cpu() - start_cpu, time.perf_counter() - start, size / 1024**3
    rows.append([label[0], f"{used / gib:.2f}", f"{gib / wall:.2f}"])


async def ours(endpoint: str, work: Path, size: int, rows: list[list[str]]) -> None:
    source, back = work / "source.bin", work / "back.bin"
    config = TransferConfig(part_size=8 * MiB, resume=False, fsync=False)
    async with S3Client(access_key=ACCESS, secret_key=SECRET, endpoint_url=endpoint) as client:
        await client.create_bucket("bench", exist_ok=True)
        for algorithm in ALGORITHMS:
            name = algorithm or "none"
            key = f"ours-{name}"
            with measured(rows, [f"ours upload {name}"], size):
                await client.upload_file("bench", key, source, config=config, checksum=algorithm)
            label = ["ours download"]
            with measured(rows, label, size):
                result = await client.download_file("bench", key, back, config=config)
                label[0] += f" ({result.get('checksum', 'unverified').split()[0]})"
            if back.stat().st_size != size:
                raise RuntimeError(f"{key}: downloaded {back.stat().st_size} bytes")


def boto3_runs(endpoint: str, work: Path, size: int, rows: list[list[str]]) -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig as Boto3Config
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        config=Config(region_name="us-east-1", s3={"addressing_style": "path"}, proxies={}),
    )
    config = Boto3Config(multipart_chunksize=8 * MiB, max_concurrency=8)
    source, back = str(work / "source.bin"), str(work / "back.bin")
    try:
        choices: list[tuple[str, dict[str, str]]] = [("default (crc32)", {})]
        try:
            import awscrt  # noqa: F401 - botocore computes CRC64NVME only with it

            choices.append(("crc64nvme", {"ChecksumAlgorithm": "CRC64NVME"}))
        except ImportError:
            pass
        for name, extra in choices:
            key = f"boto3-{name.split()[0]}"
            with measured(rows, [f"boto3 upload {name}"], size):
                client.upload_file(source, "bench", key, ExtraArgs=extra, Config=config)
            with measured(rows, ["boto3 download (unverified)"], size):
                client.download_file("bench", key, back, Config=config)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        work = Path(folder)
        with (work / "source.bin").open("wb") as out:
            for _ in range(0, size, 16 * MiB):
                out.write(os.urandom(16 * MiB))
        (work / "server").mkdir()
        rows: list[list[str]] = []
        with server(work / "server") as endpoint:
            asyncio.run(ours(endpoint, work, size, rows))
            boto3_runs(endpoint, work, size, rows)
    print(f"{args.size_mib} MiB, one run, client CPU only (server in its own process)\n")
    print("| transfer | CPU s per GiB | GiB/s |")
    print("|---|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
