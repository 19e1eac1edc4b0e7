"""Upload and download a large file with each client against a local SeaweedFS,
alternating clients, several rounds; report medians and ratios (peer / ours).

    python benchmarks/run.py [--size-mib 1024] [--rounds 3] [--clients ours,boto3]

Each operation runs in its own process. Wall time is the operation's own; CPU is the
client process's user+sys time (os.wait4); peak RSS is the process's VmHWM. SeaweedFS
does the server's work in its own processes, so its CPU is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import boto3_client, seaweedfs  # noqa: E402

MiB = 1024 * 1024
PAYLOAD_MODE = {
    "ours": "UNSIGNED-PAYLOAD + CRC32C per part (loopback default)",
    "boto3": "botocore default for http: SHA-256 signed payload + CRC32",
}


def run_once(client: str, operation: str, args: list[str]) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "clients.py"), client, operation, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{client} {operation} failed: {err.decode()[-2000:]}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "wall": report["wall"],
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": report["peak_rss"] / MiB,
    }


def table(
    results: dict[tuple[str, str], list[dict[str, float]]], clients: list[str], size_mib: int
) -> str:
    lines = [
        "| client | operation | wall s | MB/s | client CPU s | peak RSS MiB | "
        "wall ratio (peer/ours) | CPU ratio (peer/ours) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for operation in ("upload", "download"):
        base = {
            k: statistics.median(r[k] for r in results[("ours", operation)])
            for k in ("wall", "cpu", "peak_mib")
        }
        for client in clients:
            runs = results[(client, operation)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "peak_mib")}
            lines.append(
                f"| {client} | {operation} | {med['wall']:.2f} "
                f"| {size_mib * MiB / med['wall'] / 1e6:.0f} "
                f"| {med['cpu']:.2f} | {med['peak_mib']:.0f} | {med['wall'] / base['wall']:.2f} "
                f"| {med['cpu'] / base['cpu']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="ours,boto3")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "transfer.md"))
    options = parser.parse_args()
    clients = options.clients.split(",")
    with tempfile.TemporaryDirectory(prefix="s3aio-bench-") as scratch:
        work = Path(scratch)
        source = work / "source.bin"
        with source.open("wb") as file:
            for _ in range(options.size_mib):
                file.write(os.urandom(MiB))
        with seaweedfs(work / "seaweedfs") as info:
            s3 = boto3_client(info)
            s3.create_bucket(Bucket="bench")
            s3.close()
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for round_number in range(options.rounds):
                for client in clients if round_number % 2 == 0 else reversed(clients):
                    for operation in ("upload", "download"):
                        target = source if operation == "upload" else work / f"out-{client}.bin"
                        args = [
                            info.endpoint_url,
                            info.access_key,
                            info.secret_key,
                            "bench",
                            str(target),
                        ]
                        result = run_once(client, operation, args)
                        results.setdefault((client, operation), []).append(result)
                        print(
                            f"round {round_number + 1} {client:6} {operation:8} "
                            f"wall {result['wall']:.2f}s cpu {result['cpu']:.2f}s "
                            f"peak {result['peak_mib']:.0f} MiB",
                            flush=True,
                        )
                        if operation == "download":
                            assert target.stat().st_size == source.stat().st_size
                            target.unlink()
    report = (
        f"{options.size_mib} MiB file, SeaweedFS on 127.0.0.1, part size 8 MiB, concurrency 8, "
        f"medians of {options.rounds} rounds, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores.\n"
        + "".join(f"- {c}: {PAYLOAD_MODE.get(c, '')}\n" for c in clients)
        + "\n"
        + table(results, clients, options.size_mib)
        + "\n"
    )
    Path(options.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
