"""Request latency when more tasks than connections share one client.

    python benchmarks/latency.py [--connections 32] [--factors 2,8] [--seconds 10]
                                 [--size 4096] [--clients ours,aiobotocore]

The embedded server runs as a child process on 127.0.0.1 (stopped by PID at the end).
For each client and each factor F, F x ``--connections`` tasks share one client whose
pool holds ``--connections`` connections; each task PUTs ``--size`` bytes to its own
key in a loop until ``--seconds`` have passed, then finishes the request it is in.
Latency is from the call to its return, waiting for a connection included, so a task
starved by an unfair pool shows in p99 and max; "per task" is the fewest and most
requests one task completed. Failed requests are counted, their latency kept.
aiobotocore (``max_pool_connections`` set to the same pool size) runs when installed.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_overhead import local_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import ServerInfo  # noqa: E402

from s3_asyncio_client import S3Client  # noqa: E402

BUCKET = "latency"
Put = Callable[[str, bytes], Awaitable[object]]


@dataclass
class Case:
    client: str
    connections: int
    tasks: int
    latencies: list[float] = field(default_factory=list)
    per_task: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0


@asynccontextmanager
async def ours(info: ServerInfo, connections: int) -> Any:
    async with S3Client(
        endpoint_url=info.endpoint_url,
        access_key=info.access_key,
        secret_key=info.secret_key,
        max_connections=connections,
    ) as client:
        await client.create_bucket(BUCKET, exist_ok=True)

        async def put(key: str, body: bytes) -> object:
            return await client.put_object(BUCKET, key, body)

        yield put


@asynccontextmanager
async def aiobotocore(info: ServerInfo, connections: int) -> Any:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(max_pool_connections=connections)
    async with get_session().create_client(
        "s3",
        endpoint_url=info.endpoint_url,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        region_name=info.region,
        config=config,
    ) as client:
        try:
            await client.create_bucket(Bucket=BUCKET)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass

        async def put(key: str, body: bytes) -> object:
            return await client.put_object(Bucket=BUCKET, Key=key, Body=body)

        yield put


CLIENTS: dict[str, Callable[[ServerInfo, int], AbstractAsyncContextManager[Put]]] = {
    "ours": ours,
    "aiobotocore": aiobotocore,
}


async def run_case(case: Case, put: Put, body: bytes, seconds: float) -> None:
    for n in range(case.connections):  # open the connections, untimed
        await put(f"warm/{n}", body)
    case.per_task = [0] * case.tasks
    deadline = time.perf_counter() + seconds

    async def worker(task: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await put(f"t/{task}", body)
            except Exception as exc:
                name = type(exc).__name__
                case.errors[name] = case.errors.get(name, 0) + 1
            else:
                case.per_task[task] += 1
            case.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for task in range(case.tasks):
            group.create_task(worker(task))
    case.wall = time.perf_counter() - started


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(case: Case) -> str:
    lat = case.latencies
    errors = ", ".join(f"{n} {name}" for name, n in sorted(case.errors.items())) or "0"
    return (
        f"| {case.client} | {case.connections} | {case.tasks} "
        f"({case.tasks // case.connections}x) | {len(lat)} | {len(lat) / case.wall:.0f} "
        f"| {quantile(lat, 0.5) * 1e3:.1f} | {quantile(lat, 0.99) * 1e3:.1f} "
        f"| {max(lat) * 1e3:.1f} | {min(case.per_task)} / {max(case.per_task)} | {errors} |"
    )


async def measure(info: ServerInfo, args: argparse.Namespace) -> list[Case]:
    body = os.urandom(args.size)
    cases = []
    for name in args.clients.split(","):
        for factor in (int(f) for f in args.factors.split(",")):
            case = Case(name, args.connections, factor * args.connections)
            try:
                async with CLIENTS[name](info, args.connections) as put:
                    await run_case(case, put, body, args.seconds)
            except ImportError as exc:
                print(f"{name}: skipped ({exc})")
                break
            print(row(case), flush=True)
            cases.append(case)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--factors", default="2,8")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--clients", default="ours,aiobotocore")
    args = parser.parse_args(argv)
    print(f"PUT {args.size} B in a loop for {args.seconds:.0f} s per case, embedded server")
    print("| client | connections | tasks | requests | req/s | p50 ms | p99 ms | max ms "
          "| per task min / max | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="latency-") as scratch, local_server(
        Path(scratch)
    ) as info:
        asyncio.run(measure(info, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
