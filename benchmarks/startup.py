"""Start-up and one-shot command lines: what a process pays before and around one request.

    python benchmarks/startup.py [--rounds 5] [--out benchmarks/results/startup.md]

Three tables, each a fresh process per measurement (wall from spawn to exit,
user + sys CPU from ``os.wait4``, peak RSS from GNU time), every client in turn and
the order reversed on odd rounds, medians over ``--rounds``:

1. imports: ``python -c "import X"`` for our package alone, for ``S3Client`` (what an
   async program needs) and ``Client`` (the sync facade), for aiohttp, and for each
   peer's client module (boto3, aiobotocore, minio, obstore); ``python -c pass`` is
   the interpreter's own floor;
2. CLI start-up: ``s3aio --help`` and ``s3aio --version`` against ``aws --version``
   and ``s5cmd version``;
3. CLI one-shot: one 4 KiB file copied up (``cp FILE s3://...``) and back down, as a
   process, by ``s3aio``, ``aws s3`` and ``s5cmd``, against the embedded server in a
   child process on 127.0.0.1 (started and stopped here, by PID).

Ratios are peer / ours (above 1.00 ours is faster or smaller); the "ours" row of a
table is marked. Results go to ``--out`` (markdown) and the samples next to it as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from clients import s5cmd_binary
from report import machine_line, package_version
from run import ROOT, child_env, running

BIN = Path(sys.executable).parent
PY = sys.executable
BUCKET = "startup"
SMALL = 4096
TIME = "/usr/bin/time"  # GNU time, for peak RSS (see ``measure``)


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, spawn to exit
    cpu: float  # user + sys seconds of the process and its children
    peak_rss: int  # bytes


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    ours: bool = False
    base: bool = False  # the row of ours the peers are compared with


def measure(argv: list[str], env: dict[str, str]) -> Sample:
    """One process, start to exit; it must succeed. Its peak RSS comes from GNU time
    (``/usr/bin/time -f %M``), a small parent: a child's ``ru_maxrss`` also counts the
    memory of the process that forked it, before the exec (this one is a Python with
    the benchmark loaded)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [TIME, "-f", "%M", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {process.returncode}\n{errors[-2000:]}")
    peak_kib = int(errors.strip().splitlines()[-1])
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak_kib * 1024)


def rounds_of(cases: list[Case], rounds: int, env: dict[str, str]) -> dict[str, list[Sample]]:
    """Every case once per round, the order reversed on odd rounds; one untimed warm-up
    each first (byte-code caches, the page cache)."""
    for case in cases:
        measure(case.argv, env)
    samples: dict[str, list[Sample]] = {case.name: [] for case in cases}
    for number in range(rounds):
        for case in cases if number % 2 == 0 else cases[::-1]:
            samples[case.name].append(measure(case.argv, env))
    return samples


def import_cases() -> list[Case]:
    def python(code: str) -> list[str]:
        return [PY, "-c", code]

    return [
        Case("python -c pass (floor)", python("pass")),
        Case("import s3_asyncio_client", python("import s3_asyncio_client"), ours=True),
        Case(
            "from s3_asyncio_client import S3Client",
            python("from s3_asyncio_client import S3Client"),
            ours=True,
            base=True,
        ),
        Case(
            "from s3_asyncio_client import Client (sync)",
            python("from s3_asyncio_client import Client"),
            ours=True,
        ),
        Case("import aiohttp", python("import aiohttp")),
        Case("import boto3", python("import boto3")),
        Case("import aiobotocore.session", python("import aiobotocore.session")),
        Case("import minio", python("import minio")),
        Case("import obstore.store", python("import obstore.store")),
    ]


def cli_cases() -> list[Case]:
    return [
        Case("s3aio --help", [str(BIN / "s3aio"), "--help"], ours=True, base=True),
        Case("s3aio --version", [str(BIN / "s3aio"), "--version"], ours=True),
        Case("aws --version", [str(BIN / "aws"), "--version"]),
        Case("s5cmd version", [s5cmd_binary(), "version"]),
    ]


def one_shot_cases(endpoint: str, source: Path, target: Path) -> list[Case]:
    url = f"s3://{BUCKET}"
    ours = [str(BIN / "s3aio"), "--endpoint-url", endpoint, "cp"]
    aws = [str(BIN / "aws"), "--endpoint-url", endpoint, "s3", "cp", "--only-show-errors"]
    s5 = [s5cmd_binary(), "--endpoint-url", endpoint, "cp"]
    return [
        Case("s3aio cp up", [*ours, str(source), f"{url}/s3aio"], ours=True, base=True),
        Case("aws s3 cp up", [*aws, str(source), f"{url}/aws"]),
        Case("s5cmd cp up", [*s5, str(source), f"{url}/s5cmd"]),
        Case("s3aio cp down", [*ours, f"{url}/s3aio", str(target / "s3aio")], ours=True, base=True),
        Case("aws s3 cp down", [*aws, f"{url}/aws", str(target / "aws")]),
        Case("s5cmd cp down", [*s5, f"{url}/s5cmd", str(target / "s5cmd")]),
    ]


def table(title: str, cases: list[Case], samples: dict[str, list[Sample]]) -> list[str]:
    """Medians, each peer's ratio to our base row, and ours against the best peer."""
    med = {
        case.name: Sample(
            statistics.median(s.wall for s in samples[case.name]),
            statistics.median(s.cpu for s in samples[case.name]),
            int(statistics.median(s.peak_rss for s in samples[case.name])),
        )
        for case in cases
    }
    lines = [
        f"### {title}",
        "",
        "| process | wall ms | CPU ms | peak RSS MiB | wall peer/ours | CPU peer/ours |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    summary = []
    for group in _groups(cases):
        base = next(med[c.name] for c in group if c.base)
        peers = [c for c in group if not c.ours and "floor" not in c.name]
        for case in group:
            m = med[case.name]
            ratios = ["—", "—"]
            if case in peers:
                ratios = [f"{m.wall / base.wall:.2f}", f"{m.cpu / max(base.cpu, 1e-9):.2f}"]
            label = f"**{case.name}** (ours)" if case.ours else case.name
            lines.append(
                f"| {label} | {m.wall * 1000:.0f} | {m.cpu * 1000:.0f} | "
                f"{m.peak_rss / 2**20:.1f} | {ratios[0]} | {ratios[1]} |"
            )
        if peers:
            name = next(c.name for c in group if c.base)
            wall = min(peers, key=lambda c: med[c.name].wall)
            cpu = min(peers, key=lambda c: med[c.name].cpu)
            summary.append(
                f"{name}: wall {base.wall / med[wall.name].wall:.2f}x the best peer's "
                f"({wall.name}), CPU {base.cpu / max(med[cpu.name].cpu, 1e-9):.2f}x ({cpu.name})."
            )
    return [*lines, "", *summary, ""]


def _groups(cases: list[Case]) -> Iterator[list[Case]]:
    """The one-shot table compares uploads with uploads, downloads with downloads."""
    ups = [c for c in cases if c.name.endswith(" up")]
    downs = [c for c in cases if c.name.endswith(" down")]
    if ups or downs:
        yield ups
        yield downs
    else:
        # Imports: ours against the peers is S3Client's import (what a program needs).
        yield cases


def ensure_bucket(endpoint: str, env: dict[str, str]) -> None:
    measure([str(BIN / "s3aio"), "--endpoint-url", endpoint, "mb", f"s3://{BUCKET}"], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/startup.md")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    machine = machine_line()
    print(f"{started}; {machine}", flush=True)
    env = child_env()
    sections, raw = [], {}
    for title, cases in (("Imports", import_cases()), ("CLI start-up", cli_cases())):
        samples = rounds_of(cases, args.rounds, env)
        raw[title] = samples
        part = table(title, cases, samples)
        sections += part
        print("\n".join(part), flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="s3aio-bench-startup-") as tmp,
        running("local", Path(tmp) / "server") as server,
    ):
        info = server.info
        env = {
            **env,
            "AWS_ACCESS_KEY_ID": info.access_key,
            "AWS_SECRET_ACCESS_KEY": info.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # The upload journal and aws-cli's config stay in the scratch folder.
            "HOME": tmp,
        }
        ensure_bucket(info.endpoint_url, env)
        source, target = Path(tmp) / "small.bin", Path(tmp) / "back"
        source.write_bytes(os.urandom(SMALL))
        target.mkdir()
        cases = one_shot_cases(info.endpoint_url, source, target)
        samples = rounds_of(cases, args.rounds, env)
        for name in ("s3aio", "aws", "s5cmd"):
            if (target / name).read_bytes() != source.read_bytes():
                raise RuntimeError(f"{name}: the downloaded file differs from the source")
        raw["CLI one-shot"] = samples
        sections += table(f"CLI one-shot: one {SMALL // 1024} KiB file", cases, samples)
    names = ("s3-asyncio-client", "aiohttp", "boto3", "aiobotocore", "minio", "obstore", "awscli")
    versions = ", ".join(f"{n} {package_version(n)}" for n in names)
    text = "\n".join(
        [
            "# Start-up and one-shot CLI",
            "",
            f"{started}; {machine}; {args.rounds} rounds, medians; {versions}.",
            "Each row a fresh process (wall spawn to exit; CPU and peak RSS from wait4).",
            "",
            *sections,
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(
        json.dumps({t: {k: [asdict(s) for s in v] for k, v in d.items()} for t, d in raw.items()})
    )
    print(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
