"""What resuming an upload costs: an upload of ``--size-mib`` stopped at 90%, then resumed.

    python benchmarks/resume.py [--size-mib 1024] [--rounds 3] [--cold] [--endpoint-url URL]

The embedded server runs as a child process on 127.0.0.1 (stopped by PID at the end),
or ``--endpoint-url`` names one already running on loopback, with the keys of
tests/servers.py (e.g. to measure two versions of the client against one server:
run this script once with each on ``PYTHONPATH``). Each round uploads the random
file with one part in flight and cancels it once 90% of its bytes were sent
(8 MiB parts: 115 of 128 stored), then
times the resume (``upload_file`` again, defaults otherwise): wall seconds and this
process's CPU seconds (user + system), with the bytes it skipped. A resume reads
every part it skips once, to check it against the checksum stored for it; ``--cold``
drops the file from the page cache first, so those reads come from the disk. The
object is compared with the file by size and ETag, then deleted. Prints the median
of each column. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # its servers.py, not the one beside this file

from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY  # noqa: E402
from sync_overhead import local_server  # noqa: E402

from s3_asyncio_client import S3Client, TransferConfig  # noqa: E402

MiB = 1024 * 1024
PART = 8 * MiB
BUCKET = "resume-bench"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drop_from_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


async def interrupt_at_90(
    client: S3Client, key: str, source: Path, size: int, journal: Path
) -> None:
    """Upload ``source`` one part at a time and cancel it at 90% of its bytes."""
    config = TransferConfig(part_size=PART, max_concurrency=1, journal_dir=str(journal))
    task: asyncio.Task[object] | None = None

    def progress(done: int, total: int | None) -> None:
        if task is not None and done >= size * 9 // 10 and not task.cancelling():
            task.cancel()

    task = asyncio.create_task(
        client.upload_file(BUCKET, key, source, config=config, progress=progress)
    )
    try:
        await task
    except asyncio.CancelledError:
        return
    raise RuntimeError("the upload finished before it could be interrupted")


async def one_round(
    client: S3Client, key: str, source: Path, size: int, journal: Path, cold: bool
) -> tuple[float, float, int]:
    await interrupt_at_90(client, key, source, size, journal)
    if cold:
        drop_from_cache(source)
    config = TransferConfig(part_size=PART, journal_dir=str(journal))
    cpu, began = cpu_seconds(), time.perf_counter()
    result = await client.upload_file(BUCKET, key, source, config=config)
    wall, used = time.perf_counter() - began, cpu_seconds() - cpu
    head = await client.head_object(BUCKET, key)
    if (head["content_length"], head["etag"]) != (size, result["etag"]):
        raise RuntimeError(f"the object is not the file: {head}")
    await client.delete_object(BUCKET, key)
    return wall, used, result["skipped_bytes"]


async def measure(endpoint_url: str, source: Path, size: int, rounds: int, cold: bool) -> None:
    async with S3Client(
        endpoint_url=endpoint_url, access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY
    ) as client:
        await client.create_bucket(BUCKET, exist_ok=True)
        rows = []
        with tempfile.TemporaryDirectory() as journal:
            for number in range(rounds):
                row = await one_round(client, f"obj-{number}", source, size, Path(journal), cold)
                rows.append(row)
                print(f"round {number + 1}: {row[0]:.2f} s wall, {row[1]:.2f} s CPU, "
                      f"{row[2] / MiB:.0f} MiB skipped", flush=True)  # fmt: skip
    wall, used, skipped = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"median resume: {wall:.2f} s wall, {used:.2f} s CPU, {skipped / MiB:.0f} MiB skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="resume from the disk, not the cache")
    parser.add_argument("--endpoint-url", help="a server already running on 127.0.0.1")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20 or not 16 <= args.size_mib <= 16 * 1024:
        parser.error("--rounds from 1 to 20, --size-mib from 16 to 16384")
    if args.endpoint_url and "//127.0.0.1:" not in args.endpoint_url:
        parser.error("--endpoint-url must be a server on 127.0.0.1")
    with tempfile.TemporaryDirectory() as root:
        source = Path(root) / "random.bin"
        with open(source, "wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MiB))
        running = nullcontext() if args.endpoint_url else local_server(Path(root))
        with running as info:
            url = args.endpoint_url or info.endpoint_url  # type: ignore[union-attr]
            print(f"{sys.version.split()[0]}, {args.size_mib} MiB, endpoint {url}", flush=True)
            asyncio.run(measure(url, source, args.size_mib * MiB, args.rounds, args.cold))


if __name__ == "__main__":
    main()
