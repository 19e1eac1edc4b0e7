"""Our client against its peers, side by side in one run, as ratios (peer / ours).

    python benchmarks/run.py [--size-mib 1024] [--rounds 3] [--small 2000] [--big-mib 4096]
        [--clients ours,ours-sync,boto3,aiobotocore,obstore,minio,s5cmd]
        [--servers seaweedfs,local] [--quick]

For each server (started here on 127.0.0.1, stopped by PID at the end) and each round,
every client in turn (order reversed on odd rounds) does: upload a random file
(--size-mib, made once and reused), download it back (size and SHA-256 checked after
the clock stops), --small PUTs then GETs of 4 KiB objects (32 in flight), and an upload
of a --big-mib file for its peak memory. Every operation runs in a process of its own
(benchmarks/clients.py): its wall time and CPU are those of the operation alone, peak
RSS and "process CPU" those of the whole process. Before the timed runs each client
goes once through a recording proxy, which shows its payload and checksum mode.
Medians over the rounds go to benchmarks/results/ as markdown (and the samples as JSON)
and are printed. --quick is a smoke test: 32 MiB, 1 round, 100 small, 64 MiB big.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import probe
from clients import CLIENTS, FLOOR_OPERATIONS, MiB, Spec
from report import (
    CONCURRENCY,
    PART_SIZE,
    SMALL_CONCURRENCY,
    Plan,
    Results,
    Sample,
    active_operations,
    machine_line,
    operation_label,
    package_version,
    report,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUCKET = "bench"
PROBE_MIB = 24  # three 8 MiB parts: multipart for every client
VOLUME_MIB = 256  # tests/servers.py starts weed with -master.volumeSizeLimitMB=256
SERVERS = ("seaweedfs", "local")

# --- servers -------------------------------------------------------------------------------


def load_test_servers() -> ModuleType:
    """tests/servers.py under its own name (benchmarks/ has a servers.py too)."""
    spec = importlib.util.spec_from_file_location("s3aio_test_servers", ROOT / "tests/servers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SERVERS_MODULE = load_test_servers()


@dataclass
class Running:
    name: str
    info: Any  # tests/servers.py ServerInfo
    stop: Callable[[], None]
    vacuum: Callable[[], None] = lambda: None
    prepare: Callable[[int], None] = lambda mib: None  # room for mib MiB of writes
    version: str = ""


def start_seaweedfs(root: Path) -> Running:
    info, process = SERVERS_MODULE.start_seaweedfs(root)
    argv = [str(a) for a in process.proc.args]
    master = next(a.split("=", 1)[1] for a in argv if a.startswith("-master.port="))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    master_url = f"http://127.0.0.1:{master}"

    def master_call(path: str) -> None:
        with contextlib.suppress(OSError), opener.open(master_url + path, timeout=600) as reply:
            reply.read()

    def prepare(mib: int) -> None:
        """Grow the bucket's volumes before the writes: weed otherwise grows one
        (of -master.volumeSizeLimitMB=256) when the last fills up, which stalls a
        write for seconds, whichever client happens to make it."""
        master_call(f"/vol/grow?collection={BUCKET}&count={mib // VOLUME_MIB + 2}")

    def vacuum() -> None:
        """Reclaim the space of deleted objects now, not in 15 minutes. The filer
        deletes chunks in the background: give it a moment first."""
        time.sleep(2)
        master_call("/vol/vacuum?garbageThreshold=0.0001")

    version = subprocess.run(
        [argv[0], "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    version = version.splitlines()[0].removeprefix("version ") if version else "?"
    return Running("seaweedfs", info, process.stop, vacuum, prepare, f"weed {version}")


def start_local(root: Path) -> Running:
    """``python -m s3_asyncio_client.server`` as a child process on a free port."""
    servers = SERVERS_MODULE
    root.mkdir(parents=True, exist_ok=True)
    log = root / "local.log"
    env = {**child_env(), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "s3_asyncio_client.server", "--root", str(root / "data"),
                "--port", "0", "--access-key", servers.TEST_ACCESS_KEY,
                "--secret-key", servers.TEST_SECRET_KEY,
            ],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )  # fmt: skip

    def stop() -> None:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=15)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("LocalS3 serving ") and " at http://" in line:
                info = servers.ServerInfo(
                    name="local",
                    endpoint_url=line.rsplit(" at ", 1)[1].strip(),
                    access_key=servers.TEST_ACCESS_KEY,
                    secret_key=servers.TEST_SECRET_KEY,
                    checks_signatures=True,
                    min_part_size=0,
                )
                version = f"s3_asyncio_client.server {package_version('s3-asyncio-client')}"
                return Running("local", info, stop, version=version)
        time.sleep(0.05)
    stop()
    raise RuntimeError(f"the embedded server did not start:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def running(name: str, root: Path) -> Iterator[Running]:
    server = start_seaweedfs(root) if name == "seaweedfs" else start_local(root)
    try:
        yield server
    finally:
        server.stop()


# --- one measured run ------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """This environment without proxies (obstore and boto3 would use them even for
    127.0.0.1) and without AWS settings that could change a client's behaviour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_client(client: str, operation: str, spec: Spec, timeout: float) -> Sample:
    """Run ``clients.py`` in a new process (its own session, so a stuck one is killed
    with everything it started) and measure it."""
    work = Path(spec.work)
    out_path, err_path = work / f"{client}.out", work / f"{client}.err"
    # Flush what earlier operations wrote: else the kernel's writeback of their
    # dirty pages is charged to whichever client writes next (measured: the same
    # 1 GiB download took 0.65 s or 4-5 s of system time depending on its turn).
    os.sync()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "clients.py"),
                client,
                operation,
                json.dumps(asdict(spec)),
            ],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=child_env(),
            start_new_session=True,
        )
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:  # Ctrl-C: leave nothing running behind
        kill()
        process.wait()
        raise
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        why = f"killed after {timeout:.0f} s" if killed.is_set() else f"exit {process.returncode}"
        tail = err_path.read_text(errors="replace").strip().splitlines()[-12:]
        raise RuntimeError(f"{client} {operation}: {why}\n    " + "\n    ".join(tail))
    report = json.loads(out_path.read_text().strip().splitlines()[-1])
    return Sample(
        wall=report["wall"],
        cpu=report["cpu"],
        process_cpu=usage.ru_utime + usage.ru_stime,
        peak_rss=report["peak_rss"],
    )


# --- data ---------------------------------------------------------------------------------------


def random_file(directory: Path, size_mib: int) -> Path:
    """A file of random bytes, made once and reused by later runs."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"random-{size_mib}MiB.bin"
    if not path.exists() or path.stat().st_size != size_mib * MiB:
        print(f"making {path} ({size_mib} MiB of random bytes)...", flush=True)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            for _ in range(size_mib):
                out.write(os.urandom(MiB))
        partial.rename(path)
    return path


def sha256_of(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def check_download(path: Path, size: int, digest: str) -> None:
    if not path.exists():
        raise AssertionError(f"{path.name} was not written")
    if path.stat().st_size != size:
        raise AssertionError(f"downloaded {path.stat().st_size} bytes, not {size}")
    if sha256_of(path) != digest:
        raise AssertionError("downloaded bytes differ from the source (SHA-256)")


# --- the run ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, plan: Plan, work: Path, results: Results) -> None:
        self.plan = plan
        self.work = work
        self.results = results
        self.source = random_file(plan.data_dir, plan.size_mib)
        self.big = random_file(plan.data_dir, plan.big_mib) if plan.big_mib else None
        self.probe_file = random_file(plan.data_dir, PROBE_MIB)
        print("hashing the source file...", flush=True)
        self.source_sha = sha256_of(self.source)
        self.probe_sha = sha256_of(self.probe_file)

    def spec(self, server: Running, endpoint: str | None = None, **fields: Any) -> Spec:
        info = server.info
        return Spec(
            endpoint=endpoint or info.endpoint_url,
            access_key=info.access_key,
            secret_key=info.secret_key,
            region=info.region,
            bucket=BUCKET,
            part_size=PART_SIZE,
            concurrency=CONCURRENCY,
            small_concurrency=SMALL_CONCURRENCY,
            loop=self.plan.loop,
            work=str(self.work),
            **fields,
        )

    def timeout(self, mib: int) -> float:
        return 600 + 2.0 * mib

    def probe(self, server: Running, admin: Any) -> None:
        """Each client once through the recording proxy: upload, download, 4 small PUTs."""
        modes = self.results.modes.setdefault(server.name, {})
        with probe.HeaderRecorder(server.info.endpoint_url) as proxy:
            for client in self.plan.clients:
                if client == "floor":
                    modes[client] = {"upload": "no S3: read + CRC32C", "download": "no S3: write"}
                    continue
                key = f"probe/{client}.bin"
                target = self.work / f"probe-{client}.bin"
                found: dict[str, str] = {}
                try:
                    proxy.take()
                    spec = self.spec(server, proxy.url, key=key, path=str(self.probe_file))
                    run_client(client, "upload", spec, self.timeout(PROBE_MIB))
                    found["upload"] = probe.put_mode(proxy.take())
                    spec = self.spec(server, proxy.url, key=key, path=str(target))
                    run_client(client, "download", spec, self.timeout(PROBE_MIB))
                    found["download"] = probe.get_mode(proxy.take(), key)
                    check_download(target, PROBE_MIB * MiB, self.probe_sha)
                    spec = self.spec(server, proxy.url, prefix=f"probe/{client}/", count=4, seed=7)
                    run_client(client, "put_small", spec, self.timeout(1))
                    found["put_small"] = probe.put_mode(proxy.take())
                    run_client(client, "get_small", spec, self.timeout(1))
                    found["get_small"] = probe.get_mode(proxy.take(), f"probe/{client}/00000")
                except Exception as exc:
                    self.fail(server.name, client, "probe", exc)
                finally:
                    target.unlink(missing_ok=True)
                    with contextlib.suppress(Exception):
                        admin.delete_object(Bucket=BUCKET, Key=key)
                modes[client] = found
                print(
                    f"[{server.name} probe] {client:11} upload: {found.get('upload', '?')}; "
                    f"small PUT: {found.get('put_small', '?')}; "
                    f"download: {found.get('download', '?')}",
                    flush=True,
                )

    def fail(self, server: str, client: str, what: str, exc: Exception) -> None:
        text = f"{server} / {client} / {what}: {exc}"
        self.results.failures.append(text)
        print(f"FAILED {text}", flush=True)

    def measure(self, server: Running, admin: Any, number: int, client: str) -> None:
        plan = self.plan
        key = f"big/{client}.bin"
        prefix = f"small/{client}/"
        target = self.work / f"download-{client}.bin"
        uploaded = False
        for operation in active_operations(plan):
            if client == "floor" and operation not in FLOOR_OPERATIONS:
                continue
            if operation == "download" and not uploaded:
                continue  # the upload failed: nothing to download
            if operation in ("upload", "download"):
                path = self.source if operation == "upload" else target
                spec = self.spec(server, key=key, path=str(path))
                mib = plan.size_mib
            elif operation == "big_upload":
                assert self.big is not None
                spec = self.spec(server, key=f"huge/{client}.bin", path=str(self.big))
                mib = plan.big_mib
            else:
                spec = self.spec(server, prefix=prefix, count=plan.small, seed=number)
                mib = plan.small * 4 // 1024
            child_operation = "upload" if operation == "big_upload" else operation
            if client == "floor":
                spec = replace(spec, size=self.source.stat().st_size)
            try:
                sample = run_client(client, child_operation, spec, self.timeout(mib))
                if client != "floor":
                    self.verify(admin, operation, spec, target)
            except Exception as exc:
                self.fail(server.name, client, f"round {number} {operation}", exc)
                continue
            finally:
                target.unlink(missing_ok=True)
            uploaded = uploaded or operation == "upload"
            self.results.add(server.name, client, operation, sample)
            print(
                f"[{server.name} {number}/{plan.rounds}] {client:11} "
                f"{operation_label(operation, plan):22} wall {sample.wall:7.2f} s  "
                f"cpu {sample.cpu:6.2f} s  (process {sample.process_cpu:6.2f} s)  "
                f"peak {sample.peak_rss / MiB:6.0f} MiB  ok",
                flush=True,
            )
        for stale in (key, f"huge/{client}.bin"):
            with contextlib.suppress(Exception):
                admin.delete_object(Bucket=BUCKET, Key=stale)
        server.vacuum()

    def verify(self, admin: Any, operation: str, spec: Spec, target: Path) -> None:
        """Outside the timed section: sizes of uploads, size and SHA-256 of downloads."""
        if operation in ("upload", "big_upload"):
            size = admin.head_object(Bucket=BUCKET, Key=spec.key)["ContentLength"]
            expected = Path(spec.path).stat().st_size
            if size != expected:
                raise AssertionError(f"stored {size} bytes, not {expected}")
        elif operation == "download":
            check_download(target, self.source.stat().st_size, self.source_sha)

    def run_server(self, name: str) -> None:
        plan = self.plan
        with running(name, self.work / f"server-{name}") as server:
            self.results.versions[name] = server.version
            print(f"[{name}] serving at {server.info.endpoint_url}", flush=True)
            admin = SERVERS_MODULE.boto3_client(server.info, read_timeout=600)
            try:
                admin.create_bucket(Bucket=BUCKET)
                server.prepare(len(plan.clients) * PROBE_MIB)
                self.probe(server, admin)
                for number in range(1, plan.rounds + 1):
                    order = plan.clients if number % 2 else plan.clients[::-1]
                    for client in order:
                        server.prepare(plan.size_mib + plan.big_mib + plan.small * 4 // 1024)
                        self.measure(server, admin, number, client)
            finally:
                admin.close()


# --- report ------------------------------------------------------------------------------------


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, help="file to upload and download (1024)")
    parser.add_argument("--rounds", type=int, help="rounds; medians are reported (3)")
    parser.add_argument("--small", type=int, help="4 KiB objects to PUT and GET; 0 skips (2000)")
    parser.add_argument("--big-mib", type=int, help="upload for peak memory; 0 skips (4096)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated")
    parser.add_argument("--servers", default=",".join(SERVERS), help="seaweedfs,local")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 32 MiB, 1 round, 100 small, 64 MiB big"
    )
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), help="event loop for the async clients"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "s3aio-bench-clients",
        help="where the random source files are made once and kept",
    )
    parser.add_argument("--out", type=Path, help="markdown report (results/clients.md)")
    args = parser.parse_args(argv)
    quick = {"size_mib": 32, "rounds": 1, "small": 100, "big_mib": 64}
    full = {"size_mib": 1024, "rounds": 3, "small": 2000, "big_mib": 4096}
    defaults = quick if args.quick else full
    sizes = {k: v if (v := getattr(args, k)) is not None else defaults[k] for k in full}
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for name in clients:
        if name not in CLIENTS:
            parser.error(f"unknown client {name!r}; known: {', '.join(CLIENTS)}")
    for name in servers:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    if sizes["size_mib"] < 1 or sizes["rounds"] < 1 or sizes["small"] < 0 or sizes["big_mib"] < 0:
        parser.error("sizes and rounds must be positive")
    loop = args.loop or ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    out = args.out or RESULTS / ("clients-quick.md" if args.quick else "clients.md")
    return Plan(
        clients=clients,
        servers=servers,
        loop=loop,
        quick=args.quick,
        data_dir=args.data_dir,
        out=out,
        **sizes,
    )


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    machine = machine_line()
    print(f"{started}; {machine}", flush=True)
    results = Results()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="s3aio-bench-run-", dir=plan.data_dir.parent) as tmp:
        bench = Bench(plan, Path(tmp), results)
        for server in plan.servers:
            try:
                bench.run_server(server)
            except Exception as exc:
                bench.fail(server, "-", "server", exc)
    text = report(plan, results, started, machine, time.monotonic() - began)
    plan.out.parent.mkdir(parents=True, exist_ok=True)
    plan.out.write_text(text)
    raw = {
        server: {
            client: {op: [asdict(s) for s in runs] for op, runs in per_client.items()}
            for client, per_client in per_server.items()
        }
        for server, per_server in results.samples.items()
    }
    plan.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "plan": {**asdict(plan), "data_dir": str(plan.data_dir), "out": str(plan.out)},
                "modes": results.modes,
                "samples": raw,
                "failures": results.failures,
            },
            indent=1,
        )
    )
    print()
    print(text)
    print(f"written to {plan.out} (samples in {plan.out.with_suffix('.json').name})")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
