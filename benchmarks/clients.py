"""One benchmark operation by one client, in this process; prints one JSON line.

    python benchmarks/clients.py CLIENT OPERATION SPEC

run.py starts this once per measurement; SPEC is a JSON object (see ``Spec``).
OPERATION is one of:

- ``upload``: the file ``path`` to ``key`` (``part_size`` parts, ``concurrency`` at once)
- ``download``: ``key`` to the file ``path`` (run.py checks size and SHA-256 afterwards)
- ``put_small``: ``count`` objects of 4 KiB under ``prefix``, ``small_concurrency`` at once
  (asyncio tasks for async clients, threads for sync ones, ``s5cmd run`` for s5cmd)
- ``get_small``: the same objects back, compared with what was sent once the clock stops

Only the operation itself is timed: building the client, making test data and checking
results are not. Printed: ``wall`` (seconds), ``cpu`` (user+sys seconds of this process,
all its threads, plus the children it waited for, during the operation) and ``peak_rss``
(bytes: this process's VmHWM; for s5cmd, the s5cmd process's own peak, from wait4).
run.py adds the whole process's CPU (interpreter start and imports included) from wait4.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
SMALL_SIZE = 4096


@dataclass(frozen=True, kw_only=True)
class Spec:
    """Everything one run needs; run.py writes it as JSON."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    bucket: str
    key: str = ""
    path: str = ""
    prefix: str = ""
    count: int = 0
    seed: int = 0
    part_size: int = 8 * MiB
    concurrency: int = 8
    small_concurrency: int = 32
    loop: str = "uvloop"
    work: str = ""
    size: int = 0  # bytes to write (the floor's download, which has no object to read)


class Meter:
    """``with meter:`` around the operation: wall time and CPU of this process (all
    threads) plus the children it reaped meanwhile."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.peak_rss: int | None = None  # set by clients whose work runs elsewhere (s5cmd)
        self._t0 = self._c0 = 0.0

    @staticmethod
    def _cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self) -> Meter:
        self._c0 = self._cpu()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall = time.perf_counter() - self._t0
        self.cpu = self._cpu() - self._c0


class Bodies:
    """``count`` distinct 4 KiB bodies, as overlapping slices of one small random pool,
    so that making them costs no memory and next to no CPU."""

    STEP = 16

    def __init__(self, seed: int, count: int) -> None:
        self.count = count
        self.pool = random.Random(seed).randbytes(SMALL_SIZE + self.STEP * count)

    def __getitem__(self, index: int) -> bytes:
        start = index * self.STEP
        return self.pool[start : start + SMALL_SIZE]

    def key(self, prefix: str, index: int) -> str:
        return f"{prefix}{index:05d}"

    def check(self, got: list[bytes | None]) -> None:
        bad = [i for i, body in enumerate(got) if body != self[i]]
        if bad:
            raise AssertionError(f"{len(bad)} of {self.count} small objects differ, e.g. #{bad[0]}")


def run_async(main: Coroutine[Any, Any, None], spec: Spec) -> None:
    if spec.loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


async def each_async(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """``one(i)`` for every i, ``concurrency`` tasks at a time."""
    indexes = iter(range(count))

    async def worker() -> None:
        for index in indexes:
            await one(index)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())


def each_thread(count: int, concurrency: int, one: Callable[[int], None]) -> None:
    """``one(i)`` for every i on a pool of ``concurrency`` threads."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(one, range(count)):
            pass


def part_ranges(size: int, part_size: int) -> Iterator[tuple[int, int, int]]:
    """(part number from 1, offset, length) for every part of ``size`` bytes."""
    for number, offset in enumerate(range(0, size, part_size), start=1):
        yield number, offset, min(part_size, size - offset)


# --- ours, async -------------------------------------------------------------------------


def ours(operation: str, spec: Spec, meter: Meter) -> None:
    from s3_asyncio_client import S3Client, TransferConfig

    config = TransferConfig(
        part_size=spec.part_size,
        max_concurrency=spec.concurrency,
        resume=False,
        fsync=False,  # no peer fsyncs a downloaded file
    )
    bodies = Bodies(spec.seed, spec.count)

    async def main() -> None:
        async with S3Client(
            access_key=spec.access_key,
            secret_key=spec.secret_key,
            region=spec.region,
            endpoint_url=spec.endpoint,
            max_connections=max(spec.small_concurrency, spec.concurrency),
        ) as s3:
            if operation == "upload":
                with meter:
                    await s3.upload_file(spec.bucket, spec.key, spec.path, config=config)
            elif operation == "download":
                with meter:
                    await s3.download_file(spec.bucket, spec.key, spec.path, config=config)
            elif operation == "put_small":

                async def put(i: int) -> None:
                    await s3.put_object(spec.bucket, bodies.key(spec.prefix, i), bodies[i])

                with meter:
                    await each_async(spec.count, spec.small_concurrency, put)
            else:
                got: list[bytes | None] = [None] * spec.count

                async def get(i: int) -> None:
                    got[i] = (await s3.get_object(spec.bucket, bodies.key(spec.prefix, i)))["body"]

                with meter:
                    await each_async(spec.count, spec.small_concurrency, get)
                bodies.check(got)

    run_async(main(), spec)


# --- ours, sync facade -------------------------------------------------------------------


def ours_sync(operation: str, spec: Spec, meter: Meter) -> None:
    import s3_asyncio_client
    from s3_asyncio_client import TransferConfig

    if spec.loop == "uvloop":  # the facade's loop thread then runs uvloop too, as `ours` does
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    config = TransferConfig(
        part_size=spec.part_size,
        max_concurrency=spec.concurrency,
        resume=False,
        fsync=False,  # no peer fsyncs a downloaded file
    )
    bodies = Bodies(spec.seed, spec.count)
    with s3_asyncio_client.Client(
        spec.endpoint,
        access_key=spec.access_key,
        secret_key=spec.secret_key,
        region=spec.region,
        max_connections=max(spec.small_concurrency, spec.concurrency),
        transfer_config=config,
    ) as client:
        bucket = client.bucket(spec.bucket)
        if operation == "upload":
            with meter:
                bucket.object(spec.key).get_writer().put_file(spec.path)
        elif operation == "download":
            with meter:
                bucket.object(spec.key).download_file(spec.path)
        elif operation == "put_small":

            def put(i: int) -> None:
                bucket.object(bodies.key(spec.prefix, i)).get_writer().put_content(bodies[i])

            with meter:
                each_thread(spec.count, spec.small_concurrency, put)
        else:
            got: list[bytes | None] = [None] * spec.count

            def get(i: int) -> None:
                got[i] = bucket.object(bodies.key(spec.prefix, i)).get_reader().read_all()

            with meter:
                each_thread(spec.count, spec.small_concurrency, get)
            bodies.check(got)


# --- boto3 / s3transfer ------------------------------------------------------------------


def boto3(operation: str, spec: Spec, meter: Meter) -> None:
    import boto3 as sdk
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    client = sdk.client(
        "s3",
        endpoint_url=spec.endpoint,
        aws_access_key_id=spec.access_key,
        aws_secret_access_key=spec.secret_key,
        region_name=spec.region,
        config=Config(
            s3={"addressing_style": "path"},
            max_pool_connections=max(spec.small_concurrency, spec.concurrency),
        ),
    )
    config = TransferConfig(
        multipart_threshold=spec.part_size,
        multipart_chunksize=spec.part_size,
        max_concurrency=spec.concurrency,
        use_threads=True,
        preferred_transfer_client="classic",  # s3transfer, not the CRT
    )
    bodies = Bodies(spec.seed, spec.count)
    if operation == "upload":
        with meter:
            client.upload_file(spec.path, spec.bucket, spec.key, Config=config)
    elif operation == "download":
        with meter:
            client.download_file(spec.bucket, spec.key, spec.path, Config=config)
    elif operation == "put_small":

        def put(i: int) -> None:
            client.put_object(Bucket=spec.bucket, Key=bodies.key(spec.prefix, i), Body=bodies[i])

        with meter:
            each_thread(spec.count, spec.small_concurrency, put)
    else:
        got: list[bytes | None] = [None] * spec.count

        def get(i: int) -> None:
            reply = client.get_object(Bucket=spec.bucket, Key=bodies.key(spec.prefix, i))
            got[i] = reply["Body"].read()

        with meter:
            each_thread(spec.count, spec.small_concurrency, get)
        bodies.check(got)
    client.close()


# --- aiobotocore: no transfer manager, so the obvious user code ---------------------------


def aiobotocore(operation: str, spec: Spec, meter: Meter) -> None:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    bodies = Bodies(spec.seed, spec.count)

    async def upload(s3: Any, fd: int, size: int) -> None:
        """Multipart upload, ``concurrency`` parts in flight, each read from the file."""
        created = await s3.create_multipart_upload(Bucket=spec.bucket, Key=spec.key)
        upload_id = created["UploadId"]
        parts = iter(part_ranges(size, spec.part_size))
        etags: dict[int, str] = {}

        async def worker() -> None:
            for number, offset, length in parts:
                data = os.pread(fd, length, offset)
                reply = await s3.upload_part(
                    Bucket=spec.bucket,
                    Key=spec.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                )
                etags[number] = reply["ETag"]

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(spec.concurrency):
                    group.create_task(worker())
            await s3.complete_multipart_upload(
                Bucket=spec.bucket,
                Key=spec.key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
                },
            )
        except BaseException:
            await s3.abort_multipart_upload(Bucket=spec.bucket, Key=spec.key, UploadId=upload_id)
            raise

    async def download(s3: Any, fd: int) -> None:
        """HEAD for the size, then ranged GETs, ``concurrency`` at once, written in place."""
        size = (await s3.head_object(Bucket=spec.bucket, Key=spec.key))["ContentLength"]
        os.ftruncate(fd, size)
        parts = iter(part_ranges(size, spec.part_size))

        async def worker() -> None:
            for _, offset, length in parts:
                reply = await s3.get_object(
                    Bucket=spec.bucket, Key=spec.key, Range=f"bytes={offset}-{offset + length - 1}"
                )
                async with reply["Body"] as body:
                    data = await body.read()
                if len(data) != length:
                    raise AssertionError(f"range at {offset}: {len(data)} bytes, not {length}")
                os.pwrite(fd, data, offset)

        async with asyncio.TaskGroup() as group:
            for _ in range(spec.concurrency):
                group.create_task(worker())

    async def main() -> None:
        config = AioConfig(
            s3={"addressing_style": "path"},
            max_pool_connections=max(spec.small_concurrency, spec.concurrency),
        )
        async with get_session().create_client(
            "s3",
            endpoint_url=spec.endpoint,
            aws_access_key_id=spec.access_key,
            aws_secret_access_key=spec.secret_key,
            region_name=spec.region,
            config=config,
        ) as s3:
            if operation == "upload":
                fd = os.open(spec.path, os.O_RDONLY)
                try:
                    with meter:
                        await upload(s3, fd, os.fstat(fd).st_size)
                finally:
                    os.close(fd)
            elif operation == "download":
                fd = os.open(spec.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    with meter:
                        await download(s3, fd)
                finally:
                    os.close(fd)
            elif operation == "put_small":

                async def put(i: int) -> None:
                    await s3.put_object(
                        Bucket=spec.bucket, Key=bodies.key(spec.prefix, i), Body=bodies[i]
                    )

                with meter:
                    await each_async(spec.count, spec.small_concurrency, put)
            else:
                got: list[bytes | None] = [None] * spec.count

                async def get(i: int) -> None:
                    reply = await s3.get_object(Bucket=spec.bucket, Key=bodies.key(spec.prefix, i))
                    async with reply["Body"] as body:
                        got[i] = await body.read()

                with meter:
                    await each_async(spec.count, spec.small_concurrency, get)
                bodies.check(got)

    run_async(main(), spec)


# --- obstore (Rust object_store) ----------------------------------------------------------


def obstore(operation: str, spec: Spec, meter: Meter) -> None:
    import obstore as obs
    from obstore.store import S3Store

    store = S3Store(
        spec.bucket,
        endpoint=spec.endpoint,
        access_key_id=spec.access_key,
        secret_access_key=spec.secret_key,
        region=spec.region,
        virtual_hosted_style_request=False,
        client_options={
            "allow_http": True,
            "pool_max_idle_per_host": str(max(spec.small_concurrency, spec.concurrency)),
        },
    )
    bodies = Bodies(spec.seed, spec.count)

    async def download(fd: int) -> None:
        """obstore has no download-to-file: HEAD, then ranged GETs written in place,
        ``concurrency`` at once (the same plan as aiobotocore)."""
        size = (await obs.head_async(store, spec.key))["size"]
        os.ftruncate(fd, size)
        parts = iter(part_ranges(size, spec.part_size))

        async def worker() -> None:
            for _, offset, length in parts:
                data = await obs.get_range_async(store, spec.key, start=offset, length=length)
                if len(data) != length:
                    raise AssertionError(f"range at {offset}: {len(data)} bytes, not {length}")
                os.pwrite(fd, data, offset)

        async with asyncio.TaskGroup() as group:
            for _ in range(spec.concurrency):
                group.create_task(worker())

    async def main() -> None:
        if operation == "upload":
            source = Path(spec.path)
            with meter:
                await obs.put_async(
                    store,
                    spec.key,
                    source,
                    chunk_size=spec.part_size,
                    max_concurrency=spec.concurrency,
                )
        elif operation == "download":
            fd = os.open(spec.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                with meter:
                    await download(fd)
            finally:
                os.close(fd)
        elif operation == "put_small":

            async def put(i: int) -> None:
                await obs.put_async(store, bodies.key(spec.prefix, i), bodies[i])

            with meter:
                await each_async(spec.count, spec.small_concurrency, put)
        else:
            got: list[bytes | None] = [None] * spec.count

            async def get(i: int) -> None:
                reply = await obs.get_async(store, bodies.key(spec.prefix, i))
                got[i] = bytes(await reply.bytes_async())

            with meter:
                await each_async(spec.count, spec.small_concurrency, get)
            bodies.check(got)

    run_async(main(), spec)


# --- minio-py ----------------------------------------------------------------------------


def minio(operation: str, spec: Spec, meter: Meter) -> None:
    import io
    from urllib.parse import urlsplit

    import urllib3
    from minio import Minio

    # minio's own pool keeps 10 connections; 32 threads need 32.
    http = urllib3.PoolManager(
        maxsize=max(spec.small_concurrency, spec.concurrency),
        timeout=urllib3.Timeout(connect=60, read=300),
        retries=urllib3.Retry(total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    url = urlsplit(spec.endpoint)
    client = Minio(
        url.netloc,
        access_key=spec.access_key,
        secret_key=spec.secret_key,
        secure=url.scheme == "https",
        region=spec.region,
        http_client=http,
    )
    bodies = Bodies(spec.seed, spec.count)
    if operation == "upload":
        with meter:
            client.fput_object(
                spec.bucket,
                spec.key,
                spec.path,
                part_size=spec.part_size,
                num_parallel_uploads=spec.concurrency,
            )
    elif operation == "download":
        with meter:  # one GET, streamed: minio-py has no parallel download
            client.fget_object(spec.bucket, spec.key, spec.path)
    elif operation == "put_small":

        def put(i: int) -> None:
            body = bodies[i]
            client.put_object(spec.bucket, bodies.key(spec.prefix, i), io.BytesIO(body), len(body))

        with meter:
            each_thread(spec.count, spec.small_concurrency, put)
    else:
        got: list[bytes | None] = [None] * spec.count

        def get(i: int) -> None:
            reply = client.get_object(spec.bucket, bodies.key(spec.prefix, i))
            try:
                got[i] = reply.read()
            finally:
                reply.close()
                reply.release_conn()

        with meter:
            each_thread(spec.count, spec.small_concurrency, get)
        bodies.check(got)
    http.clear()


# --- s5cmd (Go, aws-sdk-go) ----------------------------------------------------------------


def s5cmd_binary() -> str:
    beside = Path(sys.executable).parent / "s5cmd"
    found = str(beside) if beside.is_file() else shutil.which("s5cmd")
    if found is None:
        raise FileNotFoundError("s5cmd not found next to the interpreter or on PATH")
    return found


def s5cmd(operation: str, spec: Spec, meter: Meter) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=spec.access_key,
        AWS_SECRET_ACCESS_KEY=spec.secret_key,
        AWS_REGION=spec.region,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
    )
    command = [s5cmd_binary(), "--endpoint-url", spec.endpoint, "--log", "error"]
    sizes = ["-p", str(spec.part_size // MiB), "-c", str(spec.concurrency)]
    remote = f"s3://{spec.bucket}/"
    bodies = Bodies(spec.seed, spec.count)
    work = Path(spec.work)
    if operation == "upload":
        command += ["cp", *sizes, spec.path, remote + spec.key]
    elif operation == "download":
        command += ["cp", *sizes, remote + spec.key, spec.path]
    else:
        local = work / "s5cmd-small"
        shutil.rmtree(local, ignore_errors=True)
        local.mkdir(parents=True)
        lines = []
        for i in range(spec.count):
            name = f"{i:05d}"
            if operation == "put_small":
                (local / name).write_bytes(bodies[i])
                lines.append(f"cp {local / name} {remote}{bodies.key(spec.prefix, i)}\n")
            else:
                lines.append(f"cp {remote}{bodies.key(spec.prefix, i)} {local / name}\n")
        commands = work / "s5cmd-commands.txt"
        commands.write_text("".join(lines))
        command += ["--numworkers", str(spec.small_concurrency), "run", str(commands)]
    errors = work / "s5cmd-stderr.txt"
    with open(errors, "wb") as stderr, meter:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    meter.peak_rss = usage.ru_maxrss * 1024
    if process.returncode != 0:
        raise RuntimeError(f"s5cmd exited with {process.returncode}: {errors.read_text()[-2000:]}")
    if operation == "get_small":
        local = work / "s5cmd-small"
        bodies.check([(local / f"{i:05d}").read_bytes() for i in range(spec.count)])
    if operation in ("put_small", "get_small"):
        shutil.rmtree(work / "s5cmd-small", ignore_errors=True)


# --- the machine's floor: no S3 at all -------------------------------------------------


def floor(operation: str, spec: Spec, meter: Meter) -> None:
    """What any client pays here at least, with no network: an upload reads the file
    (1 MiB preads, CRC32C of every byte); a download writes ``spec.size`` bytes into a
    new file (1 MiB writes). On this VM fresh page-cache pages are costly, so the
    download floor is far from zero."""
    from crc32c import crc32c

    buffer = bytearray(MiB)
    view = memoryview(buffer)
    if operation == "upload":
        fd = os.open(spec.path, os.O_RDONLY)
        try:
            with meter:
                checksum, offset = 0, 0
                while count := os.preadv(fd, [view], offset):
                    checksum = crc32c(view[:count], checksum)
                    offset += count
        finally:
            os.close(fd)
    elif operation == "download":
        buffer[:] = random.Random(spec.seed).randbytes(MiB)
        with meter:
            fd = os.open(spec.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                for offset in range(0, spec.size, MiB):
                    os.write(fd, view[: min(MiB, spec.size - offset)])
            finally:
                os.close(fd)
    else:
        raise SystemExit(f"the floor has no {operation}")


CLIENTS: dict[str, Callable[[str, Spec, Meter], None]] = {
    "ours": ours,
    "ours-sync": ours_sync,
    "boto3": boto3,
    "aiobotocore": aiobotocore,
    "obstore": obstore,
    "minio": minio,
    "s5cmd": s5cmd,
    "floor": floor,
}
FLOOR_OPERATIONS = ("upload", "download")
OPERATIONS = ("upload", "download", "put_small", "get_small")


def own_peak_rss() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def main() -> None:
    name, operation, raw = sys.argv[1:]
    if name not in CLIENTS or operation not in OPERATIONS:
        raise SystemExit(
            f"usage: clients.py {{{','.join(CLIENTS)}}} {{{','.join(OPERATIONS)}}} SPEC"
        )
    spec = Spec(**json.loads(raw))
    meter = Meter()
    CLIENTS[name](operation, spec, meter)
    peak = meter.peak_rss if meter.peak_rss is not None else own_peak_rss()
    print(json.dumps({"wall": meter.wall, "cpu": meter.cpu, "peak_rss": peak}), flush=True)


if __name__ == "__main__":
    main()
