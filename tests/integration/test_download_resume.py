"""Downloads killed with SIGKILL half-way, in a process of their own, then run again:
only the ranges not recorded are fetched (counted by the fault proxy), the file is
byte-exact and verified; an object overwritten meanwhile starts over; ``s3aio cp``
says that it resumed."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from clirunner import S3AIO, cli_env
from faultproxy import FaultProxy, FaultRule
from polling import wait_until
from servers import ServerInfo, boto3_client

MiB = 1024 * 1024
SIZE = 160 * MiB + 3  # 21 ranges of 8 MiB, the last of 3 bytes
PASSED = 12  # GETs let through before the rest stall: 96 MiB, 64 MiB of it recorded
RECORDED = 8  # ranges in the first checkpoint (64 MiB, rangelog.CHECKPOINT)
SLACK = 64 * 1024

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from s3_asyncio_client import S3Client, TransferConfig

    endpoint, access, secret, bucket, key, target, journal = sys.argv[1:8]

    async def main():
        async with S3Client(access_key=access, secret_key=secret, endpoint_url=endpoint) as c:
            return await c.download_file(
                bucket, key, target, config=TransferConfig(journal_dir=journal)
            )

    started = time.monotonic()
    result = asyncio.run(main())
    print(json.dumps({"result": result, "seconds": time.monotonic() - started}))
    """
)


def _download(
    info: ServerInfo, endpoint: str, bucket: str, target: Path, journal: Path
) -> list[str]:
    return [sys.executable, "-c", SCRIPT, endpoint, info.access_key, info.secret_key, bucket,
            "obj", str(target), str(journal)]  # fmt: skip


def _put(info: ServerInfo, bucket: str, source: Path, *, create: bool) -> None:
    s3 = boto3_client(info)
    try:
        if create:
            s3.create_bucket(Bucket=bucket)
        s3.upload_file(str(source), bucket, "obj")
    finally:
        s3.close()


def _random_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes; its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for start in range(0, size, 8 * MiB):
            chunk = os.urandom(min(8 * MiB, size - start))
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(8 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def _stall_after(count: int) -> FaultRule:
    """GETs after the first ``count`` hang (a minute), so the download is surely
    half-way, its first checkpoint written, when it is killed."""
    gets = itertools.count()
    return FaultRule(
        "stall", match=lambda method, _: method == "GET" and next(gets) >= count, stall_seconds=60
    )


def _kill_when(process: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    wait_until(lambda: process.poll() is None and ready(), "the download half-way", bound=120)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _quiet(proxy: FaultProxy) -> None:
    """Once every reply to the killed process is over (all but the stalled ones,
    which send nothing to a client gone), counting starts again from zero."""

    def settled() -> bool:
        stats = proxy.stats
        return stats.handled + stats.faults["stall"] >= stats.requests

    wait_until(settled, "the killed download's replies ended")
    proxy.set_rules([])
    proxy.reset_stats()


def _recorded(directory: Path) -> int:
    """Lines in the download journals under ``directory`` (a header, then ranges)."""
    return sum(len(p.read_text().splitlines()) for p in directory.glob("*.download"))


def _partials(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.s3aio-part"))


@pytest.fixture(params=["local", "seaweedfs"])
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


def _killed_half_way(
    info: ServerInfo, proxy: FaultProxy, bucket: str, target: Path, journal: Path
) -> None:
    proxy.set_rules([_stall_after(PASSED)])
    first = subprocess.Popen(
        _download(info, proxy.url, bucket, target, journal),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _kill_when(first, lambda: _recorded(journal) >= 1 + RECORDED)
    assert not target.exists()  # only the final rename makes the target
    assert len(_partials(target.parent)) == 1
    _quiet(proxy)


def test_kill_9_mid_download_then_resume(
    server: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    source, target, journal = tmp_path / "source.bin", tmp_path / "out" / "big.bin", tmp_path / "j"
    target.parent.mkdir()
    digest = _random_file(source, SIZE)
    _put(server, bucket_name, source, create=True)
    with FaultProxy(server.endpoint_url) as proxy:
        _killed_half_way(server, proxy, bucket_name, target, journal)
        second = subprocess.run(_download(server, proxy.url, bucket_name, target, journal),
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert second.returncode == 0, second.stderr
        fetched = proxy.stats.response_bytes
    report = json.loads(second.stdout)
    result = report["result"]
    skipped = result["skipped_bytes"]
    assert skipped >= RECORDED * 8 * MiB
    assert fetched <= SIZE - skipped + SLACK, (fetched, skipped)
    assert "restarted" not in result
    assert _sha256(target) == digest
    assert _partials(target.parent) == []
    assert _recorded(journal) == 0
    print(f"{server.name}: kill -9 half-way through {SIZE} bytes; the rerun skipped "
          f"{skipped}, re-fetched {fetched} in {report['seconds']:.2f} s "
          f"(checksum {result.get('checksum', 'none')})")  # fmt: skip


def test_an_object_overwritten_between_runs_starts_over(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    source, target, journal = tmp_path / "source.bin", tmp_path / "big.bin", tmp_path / "j"
    _random_file(source, SIZE)
    _put(local, bucket_name, source, create=True)
    with FaultProxy(local.endpoint_url) as proxy:
        _killed_half_way(local, proxy, bucket_name, target, journal)
        digest = _random_file(source, SIZE)  # the same size, other bytes: another ETag
        _put(local, bucket_name, source, create=False)
        second = subprocess.run(_download(local, proxy.url, bucket_name, target, journal),
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert second.returncode == 0, second.stderr
        fetched = proxy.stats.response_bytes
    result = json.loads(second.stdout)["result"]
    assert result["restarted"] is True
    assert result["skipped_bytes"] == 0
    assert fetched >= SIZE
    assert _sha256(target) == digest
    assert _partials(tmp_path) == []


def test_cp_of_a_killed_download_resumes(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    source, target = tmp_path / "source.bin", tmp_path / "big.bin"
    digest = _random_file(source, SIZE)
    _put(local, bucket_name, source, create=True)
    env = cli_env(local, XDG_CACHE_HOME=str(tmp_path / "cache"))
    journal = tmp_path / "cache" / "s3-asyncio-client" / "downloads"
    with FaultProxy(local.endpoint_url) as proxy:
        proxy.set_rules([_stall_after(PASSED)])
        command = [
            *S3AIO,
            "--endpoint-url",
            proxy.url,
            "cp",
            f"s3://{bucket_name}/obj",
            str(target),
        ]
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env)  # fmt: skip
        _kill_when(first, lambda: _recorded(journal) >= 1 + RECORDED)
        _quiet(proxy)
        started = time.monotonic()
        second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        seconds = time.monotonic() - started
        fetched = proxy.stats.response_bytes
    assert second.returncode == 0, second.stderr
    assert f"{target}: resumed, 64.0 MiB of 160.0 MiB were already downloaded" in second.stdout
    assert fetched <= SIZE - RECORDED * 8 * MiB + SLACK
    assert _sha256(target) == digest
    print(f"s3aio cp resumed: re-fetched {fetched} of {SIZE} bytes in {seconds:.2f} s; "
          f"it said: {second.stdout.strip()!r}")  # fmt: skip
