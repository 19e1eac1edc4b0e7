"""A real multi-process SeaweedFS cluster (tests/cluster.py) losing a process mid-transfer.

Each scenario ends byte-exact, or in a clean typed failure that running the same call
again resumes to byte-exact; never in a corrupt object. Sizes are bounded for the
default run; ``S3AIO_CLUSTER_MIB=1024`` runs the transfers at 1 GiB. Each test prints
its row of the failure table (scenario, outcome, bytes re-sent or re-fetched).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cluster import SeaweedCluster, seaweedfs_cluster
from servers import s3_client

from s3_asyncio_client import RetryConfig, S3Client, TransferConfig
from s3_asyncio_client.exceptions import S3Error, S3NoSuchKeyError

MiB = 1024 * 1024
SIZE = int(os.environ.get("S3AIO_CLUSTER_MIB", "96")) * MiB
PART = 8 * MiB


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedCluster]:
    with seaweedfs_cluster(tmp_path_factory.mktemp("weed-cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("cluster-data") / "source.bin"
    with path.open("wb") as out:
        for _ in range(SIZE // MiB):
            out.write(os.urandom(MiB))
    return path, _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


class Sent:
    """A progress callback counting every byte sent, re-sends included (``done`` goes
    down when a part is retried), that runs ``action`` once ``at`` bytes are done and
    ``ready()`` says so."""

    def __init__(
        self, at: int, action: Callable[[], None], ready: Callable[[], bool] = lambda: True
    ) -> None:
        self.total, self._last, self._at = 0, 0, at
        self._action: Callable[[], None] | None = action
        self._ready = ready

    def __call__(self, done: int, _total: int | None) -> None:
        self.total += max(0, done - self._last)
        self._last = done
        if self._action is not None and done >= self._at and self._ready():
            action, self._action = self._action, None
            action()


def _journaled(tmp_path: Path) -> int:
    """Parts the upload's journal records as stored (so a kill now leaves some behind)."""
    return sum(len(p.read_text().splitlines()) - 1 for p in (tmp_path / "j").glob("*.json"))


def _config(tmp_path: Path) -> TransferConfig:
    return TransferConfig(part_size=PART, max_concurrency=4, journal_dir=str(tmp_path / "j"))


async def _bucket(client: S3Client, cluster: SeaweedCluster, name: str) -> list[str]:
    """Create ``name`` and give it its volume; the volume servers holding it."""
    await client.create_bucket(name, exist_ok=True)
    await client.put_object(name, "seed", os.urandom(256 * 1024))  # not inlined in the filer
    holders = cluster.holders(name)
    assert len(holders) == 2, holders  # replication 001: two copies
    return holders


async def _upload(
    client: S3Client, bucket: str, path: Path, tmp_path: Path, sent: Sent
) -> tuple[str, int]:
    """Upload; on a typed failure run the same call again. (outcome, skipped bytes)."""
    try:
        await client.upload_file(bucket, "big", path, config=_config(tmp_path), progress=sent)
        return "completed (retried)", 0
    except S3Error as error:
        failure = type(error).__name__
    result = await client.upload_file(bucket, "big", path, config=_config(tmp_path), progress=sent)
    assert result["skipped_bytes"] > 0  # resumed, not started over
    return f"failed typed ({failure}); the rerun resumed", result["skipped_bytes"]


async def _check_stored(client: S3Client, bucket: str, digest: str, tmp_path: Path) -> None:
    back = tmp_path / "back.bin"
    await client.download_file(bucket, "big", back, config=_config(tmp_path))  # verified
    assert _sha256(back) == digest


def _row(scenario: str, outcome: str, extra: str) -> None:
    print(f"\n| {scenario} | {outcome} | {extra} |")


async def test_volume_server_killed_during_upload_and_download(
    cluster: SeaweedCluster, source: tuple[Path, str], bucket_name: str, tmp_path: Path
) -> None:
    path, digest = source
    async with s3_client(cluster.gateway(1)) as client:
        victim = (await _bucket(client, cluster, bucket_name))[0]
        sent = Sent(SIZE // 3, lambda: cluster.kill(victim), lambda: _journaled(tmp_path) >= 2)
        outcome, skipped = await _upload(client, bucket_name, path, tmp_path, sent)
        _row(f"kill -9 {victim} (a replica) at 1/3 of a {SIZE // MiB} MiB upload", outcome,
             f"{sent.total - SIZE + skipped} bytes re-sent")  # fmt: skip
        await _check_stored(client, bucket_name, digest, tmp_path)
        cluster.restart(victim)

        other = next(n for n in cluster.holders(bucket_name) if n != victim)
        fetched = Sent(SIZE // 3, lambda: cluster.kill(other))
        back = tmp_path / "down.bin"
        try:
            await client.download_file(
                bucket_name, "big", back, config=_config(tmp_path), progress=fetched
            )
            outcome = "completed (the other replica served)"
        except S3Error as error:
            outcome = f"failed typed ({type(error).__name__}); the rerun completed"
            assert not back.exists()  # nothing half-written under the target's name
            await client.download_file(bucket_name, "big", back, config=_config(tmp_path))
        assert _sha256(back) == digest
        _row(f"kill -9 {other} at 1/3 of a {SIZE // MiB} MiB download", outcome,
             f"{fetched.total} bytes fetched by the first call")  # fmt: skip
        cluster.restart(other)


async def test_gateway_killed_during_upload_then_restarted(
    cluster: SeaweedCluster, source: tuple[Path, str], bucket_name: str, tmp_path: Path
) -> None:
    """The gateway the client talks to dies; it comes back while the client retries or
    before the rerun, which resumes. The upload's state is in the filer, so the
    second gateway can list and finish the parts the first one took."""
    path, digest = source
    async with s3_client(cluster.gateway(1)) as client:
        await _bucket(client, cluster, bucket_name)
        sent = Sent(SIZE // 3, lambda: cluster.kill("s3-1"), lambda: _journaled(tmp_path) >= 2)
        try:
            await client.upload_file(
                bucket_name, "big", path, config=_config(tmp_path), progress=sent
            )
            outcome = "completed (retried)"
        except S3Error as error:
            outcome = f"failed typed ({type(error).__name__})"
        cluster.restart("s3-1")
        if outcome.startswith("failed"):
            result = await client.upload_file(
                bucket_name, "big", path, config=_config(tmp_path), progress=sent
            )
            assert result["skipped_bytes"] > 0
            outcome += "; the rerun after the restart resumed"
        _row(f"kill -9 gateway s3-1 at 1/3 of a {SIZE // MiB} MiB upload", outcome,
             f"{sent.total - SIZE} bytes sent beyond the file")  # fmt: skip
        await _check_stored(client, bucket_name, digest, tmp_path)


async def test_an_upload_begun_at_one_gateway_is_finished_at_the_other(
    cluster: SeaweedCluster, bucket_name: str
) -> None:
    parts = [os.urandom(5 * MiB) for _ in range(3)]
    async with s3_client(cluster.gateway(1)) as first:
        await _bucket(first, cluster, bucket_name)
        # No checksum algorithm: SeaweedFS's ListParts gives no part checksums, and it
        # wants every part's on Complete when the upload has one.
        upload = await first.create_multipart_upload(bucket_name, "split", checksum=None)
        await upload.upload_part(1, parts[0])
        await upload.upload_part(2, parts[1])
    cluster.kill("s3-1")
    try:
        async with s3_client(cluster.gateway(2)) as second:
            moved = second.attach_multipart_upload(
                bucket_name, "split", upload.upload_id, checksum=None
            )
            assert [p["part_number"] for p in await moved.list_parts()] == [1, 2]
            await moved.upload_part(3, parts[2])
            assert (await moved.complete())["parts_count"] == 3
            stored = await second.get_object(bucket_name, "split")
            assert stored["body"] == b"".join(parts)
    finally:
        cluster.restart("s3-1")


PATIENT = RetryConfig(max_attempts=8, budget=100_000)  # rides through a restart


@pytest.mark.parametrize("retry", [RetryConfig(), PATIENT], ids=["default-retries", "patient"])
async def test_filer_restarted_during_small_puts(
    cluster: SeaweedCluster, bucket_name: str, retry: RetryConfig
) -> None:
    """2,000 PUTs of 4 KiB, 32 in flight, the filer killed and restarted a third of the
    way: every PUT acknowledged is readable afterwards, with its bytes. With the
    default retries (3 attempts, a budget of 500 tokens per client, as the AWS SDKs)
    the PUTs sent while the filer is down fail, typed; with more attempts and budget
    none does."""
    count = 2000
    acknowledged: dict[str, bytes] = {}
    failed: dict[str, bytes] = {}
    async with s3_client(cluster.gateway(1), max_connections=32, retry=retry) as client:
        await _bucket(client, cluster, bucket_name)
        slots = asyncio.Semaphore(32)
        restarted = asyncio.Event()

        async def put(number: int) -> None:
            key, body = f"small/{number:05d}", os.urandom(4096)
            async with slots:
                if number == count // 3 and not restarted.is_set():
                    restarted.set()
                    await asyncio.to_thread(cluster.kill, "filer")
                    await asyncio.to_thread(cluster.restart, "filer")
                try:
                    await client.put_object(bucket_name, key, body)
                except S3Error:
                    failed[key] = body
                else:
                    acknowledged[key] = body

        await asyncio.gather(*(put(n) for n in range(count)))
        for key, body in acknowledged.items():
            assert (await client.get_object(bucket_name, key))["body"] == body, key
        for key, body in failed.items():  # not acknowledged: absent, or whole if stored
            try:
                stored = (await client.get_object(bucket_name, key))["body"]
            except S3NoSuchKeyError:
                continue
            assert stored == body, key
    assert len(acknowledged) + len(failed) == count
    assert count // 3 <= len(acknowledged)  # the PUTs before the restart at least
    if retry is PATIENT:
        assert failed == {}
    _row(f"filer kill -9 + restart during 2,000 small PUTs (32 in flight), {retry}",
         f"{len(acknowledged)} acknowledged, all readable; {len(failed)} failed typed",
         "0 lost")  # fmt: skip
