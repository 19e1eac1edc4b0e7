"""The report of run.py: medians per (server, operation, client), ratios peer / ours,
the issue's targets checked against them, and the header stating machine and sizes.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from clients import FLOOR_OPERATIONS, MiB, s5cmd_binary

PART_SIZE = 8 * MiB
CONCURRENCY = 8
SMALL_CONCURRENCY = 32
OPERATIONS = ("upload", "download", "put_small", "get_small", "big_upload")
BASELINE = "ours"

WHAT = {
    "ours": (
        "S3Client.upload_file / download_file (TransferConfig: 8 MiB parts, 8 at once, "
        "resume off, fsync off; parts streamed from the file; downloads checked against the "
        "server's CRC32C); small: put_object / get_object on 32 asyncio tasks"
    ),
    "ours-sync": (
        "Client(...).bucket(b).object(k).get_writer().put_file(path) / "
        ".download_file(path) (the same engine as ours); small: "
        "put_content / get_reader().read_all() on 32 threads; the facade's loop thread "
        "runs the same event loop as the async clients (uvloop by default)"
    ),
    "boto3": (
        "client.upload_file / download_file (s3transfer, classic, 8 MiB chunks, "
        "max_concurrency 8); small: put_object / get_object on 32 threads"
    ),
    "aiobotocore": (
        "no transfer manager: create_multipart_upload + 8 tasks reading 8 MiB parts "
        "from the file (os.pread) + complete; HEAD then 8 tasks of ranged GETs written "
        "with os.pwrite; small: 32 asyncio tasks"
    ),
    "obstore": (
        "put_async(store, key, Path, chunk_size=8 MiB, max_concurrency=8); no "
        "download-to-file, so head_async then 8 tasks of get_range_async written with "
        "os.pwrite; small: put_async / get_async on 32 asyncio tasks"
    ),
    "minio": (
        "fput_object(part_size=8 MiB, num_parallel_uploads=8); fget_object (one "
        "streamed GET: no parallel download); small: put_object / get_object on 32 "
        "threads, urllib3 pool of 32"
    ),
    "s5cmd": (
        "s5cmd cp -p 8 -c 8 (a process per operation, so its start-up counts); small: "
        "s5cmd --numworkers 32 run FILE of 'cp' lines"
    ),
    "floor": (
        "no S3, no network: upload = read the file with 1 MiB preads and CRC32C every "
        "byte; download = write the file's size into a new file with 1 MiB writes. What "
        "any client pays on this machine at least (it leaves out sending and receiving)"
    ),
}


@dataclass
class Sample:
    wall: float
    cpu: float  # of the operation
    process_cpu: float  # of the whole process (wait4)
    peak_rss: int  # bytes


@dataclass
class Plan:
    clients: list[str]
    servers: list[str]
    size_mib: int
    rounds: int
    small: int
    big_mib: int
    loop: str
    quick: bool
    data_dir: Path
    out: Path


@dataclass
class Results:
    samples: dict[str, dict[str, dict[str, list[Sample]]]] = field(default_factory=dict)
    modes: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    def add(self, server: str, client: str, operation: str, sample: Sample) -> None:
        per_client = self.samples.setdefault(server, {}).setdefault(client, {})
        per_client.setdefault(operation, []).append(sample)


def operation_label(operation: str, plan: Plan) -> str:
    return {
        "upload": f"upload {plan.size_mib} MiB",
        "download": f"download {plan.size_mib} MiB",
        "put_small": f"PUT {plan.small} x 4 KiB",
        "get_small": f"GET {plan.small} x 4 KiB",
        "big_upload": f"upload {plan.big_mib} MiB",
    }[operation]


def active_operations(plan: Plan) -> list[str]:
    skip = set()
    if plan.small == 0:
        skip |= {"put_small", "get_small"}
    if plan.big_mib == 0:
        skip.add("big_upload")
    return [op for op in OPERATIONS if op not in skip]


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_line() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), {memory:.0f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}; "
        f"load average at start {load}"
    )


def peer_versions() -> str:
    names = [
        "s3-asyncio-client", "crc32c", "uvloop", "boto3", "botocore", "s3transfer",
        "aiobotocore", "obstore", "minio", "urllib3",
    ]  # fmt: skip
    parts = [f"{n} {package_version(n)}" for n in names]
    try:
        s5 = subprocess.run([s5cmd_binary(), "version"], capture_output=True, text=True)
        parts.append(f"s5cmd {s5.stdout.strip()}")
    except (OSError, FileNotFoundError):
        parts.append("s5cmd not found")
    return ", ".join(parts)


def median(samples: list[Sample], name: str) -> float:
    return statistics.median(getattr(s, name) for s in samples)


def ratio(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None or ours <= 0:
        return "—"
    return f"{peer / ours:.2f}"


def server_table(server: str, plan: Plan, results: Results) -> list[str]:
    samples = results.samples.get(server, {})
    modes = results.modes.get(server, {})
    mode_of = {"upload": "upload", "big_upload": "upload", "download": "download"}
    mode_of |= {"put_small": "put_small", "get_small": "get_small"}
    lines = [
        "| operation | client | on the wire (PUT: payload + checksum; GET: requests) "
        "| wall s | rate | "
        "CPU s | process CPU s | peak RSS MiB | wall peer/ours | CPU peer/ours |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for operation in active_operations(plan):
        base = samples.get(BASELINE, {}).get(operation)
        base_wall = median(base, "wall") if base else None
        base_cpu = median(base, "cpu") if base else None
        for client in plan.clients:
            if client == "floor" and operation not in FLOOR_OPERATIONS:
                continue
            runs = samples.get(client, {}).get(operation)
            mode = modes.get(client, {}).get(mode_of[operation], "?")
            if not runs:
                lines.append(
                    f"| {operation_label(operation, plan)} | {client} | {mode} "
                    "| failed | | | | | | |"
                )
                continue
            wall, cpu = median(runs, "wall"), median(runs, "cpu")
            if operation in ("put_small", "get_small"):
                rate = f"{plan.small / wall:,.0f} obj/s"
            else:
                mib = plan.big_mib if operation == "big_upload" else plan.size_mib
                rate = f"{mib / wall:,.0f} MiB/s"
            lines.append(
                f"| {operation_label(operation, plan)} | {client} | {mode} | {wall:.2f} "
                f"| {rate} | {cpu:.2f} | {median(runs, 'process_cpu'):.2f} "
                f"| {median(runs, 'peak_rss') / MiB:.0f} | {ratio(wall, base_wall)} "
                f"| {ratio(cpu, base_cpu)} |"
            )
    return lines


def targets(server: str, plan: Plan, results: Results) -> list[str]:
    """The issue's targets, checked against this run's medians (where both sides ran)."""
    samples = results.samples.get(server, {})

    def get(client: str, operation: str, name: str) -> float | None:
        runs = samples.get(client, {}).get(operation)
        return median(runs, name) if runs else None

    rows: list[tuple[str, str, bool]] = []
    gib = plan.size_mib / 1024
    peers = [c for c in plan.clients if c not in ("ours", "ours-sync", "floor")]
    for operation in ("upload", "download"):
        ours = get("ours", operation, "wall")
        best = min(
            ((w, c) for c in peers if (w := get(c, operation, "wall")) is not None), default=None
        )
        if ours is not None and best is not None:
            rows.append(
                (
                    f"{operation} {plan.size_mib} MiB wall ≤ best peer",
                    f"ours {ours:.2f} s, best peer {best[1]} {best[0]:.2f} s",
                    ours <= best[0],
                )
            )
    for operation in ("upload", "download"):
        cpu = get("ours", operation, "cpu")
        if cpu is not None and gib > 0:
            rows.append(
                (
                    f"{operation} CPU of the operation ≤ 1.0 s/GiB (CRC32C)",
                    f"{cpu / gib:.2f} s/GiB",
                    cpu / gib <= 1.0,
                )
            )
    for operation in ("upload", "download"):
        peak = get("ours", operation, "peak_rss")
        if peak is not None:
            rows.append(
                (
                    f"{operation} peak RSS < 100 MB (default part size and concurrency)",
                    f"{peak / 1e6:.0f} MB",
                    peak < 100e6,
                )
            )
    for operation in ("put_small", "get_small"):
        label = operation_label(operation, plan)
        ours_wall, s5_wall = get("ours", operation, "wall"), get("s5cmd", operation, "wall")
        if ours_wall is not None and s5_wall is not None:
            rows.append(
                (
                    f"{label} wall ≤ 0.9 × s5cmd",
                    f"ours {ours_wall:.2f} s, s5cmd {s5_wall:.2f} s ({ours_wall / s5_wall:.2f} ×)",
                    ours_wall <= 0.9 * s5_wall,
                )
            )
        ours_cpu, obs_cpu = get("ours", operation, "cpu"), get("obstore", operation, "cpu")
        if ours_cpu is not None and obs_cpu is not None:
            rows.append(
                (
                    f"{label} CPU ≤ obstore",
                    f"ours {ours_cpu:.2f} s, obstore {obs_cpu:.2f} s",
                    ours_cpu <= obs_cpu,
                )
            )
    bound = (CONCURRENCY + 2) * PART_SIZE + 64 * MiB
    for client in ("ours", "ours-sync"):
        peak = get(client, "big_upload", "peak_rss")
        if peak is not None:
            rows.append(
                (
                    f"{client} {operation_label('big_upload', plan)} peak RSS ≤ "
                    f"(8 + 2) × 8 MiB + 64 MiB = {bound // MiB} MiB",
                    f"{peak / MiB:.0f} MiB",
                    peak <= bound,
                )
            )
    for operation in active_operations(plan):
        ours, sync = get("ours", operation, "wall"), get("ours-sync", operation, "wall")
        if ours is not None and sync is not None:
            rows.append(
                (
                    f"sync facade within 10 % of async: {operation_label(operation, plan)}",
                    f"sync {sync:.2f} s, async {ours:.2f} s ({sync / ours:.2f} ×)",
                    sync <= 1.10 * ours,
                )
            )
    if not rows:
        return []
    return [
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {what} | {measured} | {'met' if ok else 'MISSED'} |" for what, measured, ok in rows),
    ]


def report(plan: Plan, results: Results, started: str, machine: str, seconds: float) -> str:
    bound = (CONCURRENCY + 2) * PART_SIZE + 64 * MiB
    lines = [
        f"# Client benchmark{' (QUICK smoke run: sizes too small to judge)' if plan.quick else ''}",
        "",
        f"{started}; {machine}. Sizes: {plan.size_mib} MiB file up and down, "
        f"{plan.small} × 4 KiB PUT then GET ({SMALL_CONCURRENCY} in flight), "
        f"{plan.big_mib} MiB upload for peak memory; {PART_SIZE // MiB} MiB parts, "
        f"{CONCURRENCY} in flight; medians of {plan.rounds} round(s); asyncio loop for async "
        f"clients: {plan.loop}; {seconds / 60:.1f} min in all.",
        "",
        f"Versions: {peer_versions()}.",
        "",
        "wall s: the operation alone (client set-up and checks excluded). CPU s: user+sys "
        "of the client process (all threads; for s5cmd the s5cmd process) during the "
        "operation. process CPU s: the whole process from start to exit (interpreter, "
        "imports, set-up included), from wait4. peak RSS: the client process's VmHWM (for "
        "s5cmd its own maxrss). Ratios: peer median / ours median (above 1: ours is "
        f"faster or cheaper). Memory bound for the big upload: {bound // MiB} MiB.",
    ]
    for server in plan.servers:
        if server not in results.samples and server not in results.modes:
            continue
        lines += [
            "",
            f"## {server} ({results.versions.get(server, '')}) on 127.0.0.1",
            "",
            *server_table(server, plan, results),
        ]
        checked = targets(server, plan, results)
        if checked:
            lines += ["", f"### Targets on {server}", "", *checked]
    lines += ["", "## What each client does", "", "| client | how |", "|---|---|"]
    lines += [f"| {client} | {WHAT[client]} |" for client in plan.clients]
    if results.failures:
        lines += ["", "## Failures", "", *(f"- {text}" for text in results.failures)]
    return "\n".join(lines) + "\n"
