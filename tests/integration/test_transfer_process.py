"""Transfers in their own processes: killed with SIGKILL and resumed; peak memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from faultproxy import FaultProxy, FaultRule, matching
from polling import wait_until
from servers import ServerInfo, boto3_client

MiB = 1024 * 1024

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from s3_asyncio_client import S3Client, TransferConfig

    endpoint, access, secret, bucket, source, target, journal, part, conc, least = sys.argv[1:11]
    config = TransferConfig(part_size=int(part), max_concurrency=int(conc),
                            multipart_threshold=int(part), journal_dir=journal)

    async def main():
        async with S3Client(access_key=access, secret_key=secret, endpoint_url=endpoint,
                            min_part_size=int(least)) as c:
            up = await c.upload_file(bucket, "obj", source, config=config)
            if target != "-":
                await c.download_file(bucket, "obj", target, config=config)
            return up

    result = asyncio.run(main())
    # VmHWM, not ru_maxrss: after fork+exec, ru_maxrss may still hold the peak of
    # the parent (pytest) the child was forked from.
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    peak = int(hwm.split()[1]) * 1024
    print(json.dumps({"result": result, "peak_rss": peak}))
    """
)


def run_transfer(
    info: ServerInfo,
    endpoint: str,
    bucket: str,
    source: Path,
    target: str,
    journal: Path,
    part: int,
    concurrency: int,
    min_part_size: int = 5 * MiB,
) -> subprocess.Popen[str]:
    args = [endpoint, info.access_key, info.secret_key, bucket, str(source), target,
            str(journal), str(part), str(concurrency), str(min_part_size)]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _create_bucket(info: ServerInfo, bucket: str) -> None:
    s3 = boto3_client(info)
    try:
        s3.create_bucket(Bucket=bucket)
    finally:
        s3.close()


def test_kill_9_mid_upload_then_resume(
    seaweedfs: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    part, size = 5 * MiB, 40 * MiB + 3
    data = os.urandom(size)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    journal = tmp_path / "journal"
    _create_bucket(seaweedfs, bucket_name)
    late_parts = matching("PUT", query_has="partNumber")
    with FaultProxy(seaweedfs.endpoint_url) as proxy:
        # Parts 4 and up hang, so the process is surely mid-upload when killed.
        proxy.set_rules(
            [
                FaultRule(
                    "stall",
                    match=lambda m, p: (
                        late_parts(m, p) and int(p.split("partNumber=")[1].split("&")[0]) >= 4
                    ),
                    stall_seconds=60,
                )
            ]
        )
        first = run_transfer(seaweedfs, proxy.url, bucket_name, source, "-", journal, part, 2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = sum(len(p.read_text().splitlines()) for p in journal.glob("*.json"))
            if lines >= 4:  # header + parts 1..3
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("the upload made no progress")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        sent_first = proxy.stats.request_bytes_forwarded

        proxy.set_rules([])
        proxy.reset_stats()
        second = run_transfer(seaweedfs, proxy.url, bucket_name, source, "-", journal, part, 2)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        sent_second = proxy.stats.request_bytes_forwarded
    result = json.loads(out)["result"]
    assert result["skipped_bytes"] >= 3 * part
    assert sent_second <= size - 3 * part + 64 * 1024  # + the small XML requests
    assert sent_first > 0
    s3 = boto3_client(seaweedfs)
    try:
        assert s3.get_object(Bucket=bucket_name, Key="obj")["Body"].read() == data
        assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []
    finally:
        s3.close()
    print(f"kill -9 resume: first run sent {sent_first} bytes before the kill, "
          f"second run sent {sent_second} of {size}")  # fmt: skip


def journaled_parts(journal: Path) -> int:
    """Parts the upload journals under ``journal`` record (a line each, after a header)."""
    return sum(len(p.read_text().splitlines()) - 1 for p in journal.glob("*.json"))


def test_ten_thousand_parts_killed_and_resumed(
    local: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """An upload of exactly 10,000 parts (4 KiB each: the embedded server takes small
    parts when not strict) killed with SIGKILL after a quarter of them, then resumed:
    the server's ListParts is read past its first page of 1,000 (every part stored
    before the kill is kept, not re-sent), the journal and the Complete body hold
    10,000 entries, and the memory of the resumed run stays flat."""
    part, count = 4096, 10_000
    data = os.urandom(part * count)
    source = tmp_path / "parts.bin"
    source.write_bytes(data)
    journal = tmp_path / "journal"
    _create_bucket(local, bucket_name)
    url = local.endpoint_url
    first = run_transfer(local, url, bucket_name, source, "-", journal, part, 16, 0)
    wait_until(
        lambda: first.poll() is None and journaled_parts(journal) >= 2500,
        "2,500 parts journaled",
        bound=120,
    )
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    kept = journaled_parts(journal)
    assert 2500 <= kept < count

    started = time.monotonic()
    second = run_transfer(local, url, bucket_name, source, "-", journal, part, 16, 0)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    report = json.loads(out)
    result = report["result"]
    assert result["parts_count"] == count
    assert result["size"] == len(data)
    assert result["skipped_bytes"] >= kept * part > 1000 * part  # past ListParts' first page
    assert report["peak_rss"] < 120 * MiB
    s3 = boto3_client(local)
    try:
        head = s3.head_object(Bucket=bucket_name, Key="obj")
        assert head["ETag"].endswith(f'-{count}"')
        assert s3.get_object(Bucket=bucket_name, Key="obj")["Body"].read() == data
        assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []
    finally:
        s3.close()
    seconds = time.monotonic() - started
    print(f"10,000 parts: {kept} kept through the kill; the resumed run sent "
          f"{count - result['skipped_bytes'] // part} parts in {seconds:.1f} s, "
          f"peak RSS {report['peak_rss'] / MiB:.0f} MiB")  # fmt: skip


def _peak_rss(
    info: ServerInfo,
    bucket: str,
    tmp_path: Path,
    size: int,
    part: int,
    concurrency: int,
    *,
    download: bool,
) -> tuple[int, Path, Path]:
    """Upload a random file of ``size`` (and download it back) in a process of its own;
    its peak RSS, the source and the downloaded copy."""  # fmt: skip
    source, target = tmp_path / "big.bin", tmp_path / "back.bin"
    with source.open("wb") as file:
        for _ in range(size // MiB):
            file.write(os.urandom(MiB))
    _create_bucket(info, bucket)
    process = run_transfer(info, info.endpoint_url, bucket, source,
                           str(target) if download else "-", tmp_path / "journal", part,
                           concurrency)  # fmt: skip
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)["peak_rss"], source, target


def test_memory_stays_bounded(seaweedfs: ServerInfo, bucket_name: str, tmp_path: Path) -> None:
    """A file 10 x (concurrency x part size) up and down: peak RSS under
    (concurrency + 2) x part size + 64 MiB."""
    part, concurrency = 5 * MiB, 2
    size = 10 * concurrency * part
    peak, source, target = _peak_rss(
        seaweedfs, bucket_name, tmp_path, size, part, concurrency, download=True
    )
    bound = (concurrency + 2) * part + 64 * MiB
    print(f"peak RSS {peak / MiB:.1f} MiB for a {size // MiB} MiB file (bound {bound / MiB} MiB)")
    assert peak < bound
    assert target.stat().st_size == size
    assert target.read_bytes() == source.read_bytes()


def test_file_upload_memory_does_not_grow_with_part_size(
    seaweedfs: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """Parts of a file are streamed from it, not buffered: 32 MiB parts, 4 at once,
    take a few MiB, not 4-5 x 32 MiB."""
    part, concurrency = 32 * MiB, 4
    size = 2 * concurrency * part
    peak, _, _ = _peak_rss(
        seaweedfs, bucket_name, tmp_path, size, part, concurrency, download=False
    )
    print(f"peak RSS {peak / MiB:.1f} MiB uploading {size // MiB} MiB in {part // MiB} MiB parts")
    assert peak < 64 * MiB + part  # buffering would need (concurrency + 1) x part = 160 MiB
    s3 = boto3_client(seaweedfs)
    try:
        assert s3.head_object(Bucket=bucket_name, Key="obj")["ContentLength"] == size
    finally:
        s3.close()
