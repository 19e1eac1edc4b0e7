"""A program that exits while an upload is in flight (its later parts held by the
proxy): it exits (within the subprocess timeout: no deadlock at exit), and its
journal is intact: a rerun resumes, skipping the parts already stored, and the
object is byte-exact. A program whose main ends while a (non-daemon) thread
uploads to a server that stopped reading exits once the stall timeout gives up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo, s3_client

from s3_asyncio_client import S3NotFoundError

MiB = 1024 * 1024
PART = 5 * MiB
SIZE = 6 * PART + 3
SCRIPT = Path(__file__).parent.parent / "exit_upload.py"
BOUND = 90.0  # seconds for one run of the script


def later_parts(method: str, path_qs: str) -> bool:
    """UploadPart of part 3 on: parts 1 and 2 go through, the rest are held."""
    query = path_qs.partition("?")[2]
    numbers = [p.partition("=")[2] for p in query.split("&") if p.startswith("partNumber=")]
    return method == "PUT" and bool(numbers) and int(numbers[0]) >= 3


@pytest.fixture
def proxy(local: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(local.endpoint_url, shutdown_timeout=1.0) as proxy:
        yield proxy


def run(mode: str, local: ServerInfo, proxy: FaultProxy, *args: str, bound: float = BOUND) -> str:
    """The script's output; it must end by itself, with status 0."""
    command = [sys.executable, str(SCRIPT), mode, proxy.url, local.access_key]
    command += [local.secret_key, local.region, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=bound, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.timeout(4 * BOUND)
@pytest.mark.parametrize("mode", ["sync-exit", "async-exit"])
async def test_exit_with_an_upload_in_flight_keeps_its_journal(
    local: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path, mode: str
) -> None:
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
    data = os.urandom(SIZE)
    source, journals = tmp_path / "source", tmp_path / "journals"
    source.write_bytes(data)
    args = (bucket_name, "obj", str(source), str(journals))

    proxy.set_rules([FaultRule("stall", match=later_parts, stall_seconds=60)])
    assert "leaving" in run(mode, local, proxy, *args)
    assert proxy.stats.faults["stall"] >= 1  # a part was in flight at the exit
    assert [p for p in journals.rglob("*") if p.is_file()]  # the journal stayed

    proxy.set_rules([])
    out = run("finish", local, proxy, *args)
    skipped = int(out.strip().rpartition("skipped=")[2])
    assert skipped >= 2 * PART  # the parts stored before the exit were not sent again
    async with s3_client(local) as client:
        assert (await client.get_object(bucket_name, "obj"))["body"] == data
    assert not [p for p in journals.rglob("*") if p.is_file()]  # done: removed


@pytest.mark.timeout(BOUND)
async def test_main_ends_while_a_thread_uploads_to_a_stalled_server(
    local: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path
) -> None:
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
    proxy.set_rules(
        [FaultRule("stall", match=matching("PUT", path_contains="/obj"), stall_seconds=60)]
    )
    args = (bucket_name, "obj", str(tmp_path / "unused"), str(tmp_path / "journals"))
    # Under the proxy's 60 s stall: without a stall timeout the write would outlast it.
    out = run("stalled-thread", local, proxy, *args, bound=45.0)
    assert "stalled: S3TimeoutError" in out
    assert proxy.stats.faults["stall"] == 2
    async with s3_client(local) as client:
        with pytest.raises(S3NotFoundError):
            await client.head_object(bucket_name, "obj")
