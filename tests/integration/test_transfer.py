"""upload_file / download_file on real servers: sizes, sources, faults, resume,
cancellation, integrity."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo

from s3_asyncio_client import RetryConfig, S3Client, S3ServerError, TransferConfig

MiB = 1024 * 1024
PART = 5 * MiB
UPLOAD_PART = matching("PUT", query_has="partNumber")
FAST_RETRY = RetryConfig(max_attempts=6, base_delay=0.01, throttle_delay=0.01)


def config(tmp_path: Path, **options: object) -> TransferConfig:
    values: dict[str, object] = {
        "part_size": PART,
        "multipart_threshold": PART,
        "max_concurrency": 3,
        "journal_dir": str(tmp_path / "journal"),
    }
    values.update(options)
    return TransferConfig(**values)  # type: ignore[arg-type]


def make_client(info: ServerInfo, endpoint: str | None = None, **options: object) -> S3Client:
    return S3Client(
        access_key=info.access_key,
        secret_key=info.secret_key,
        endpoint_url=endpoint or info.endpoint_url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(s3_server: ServerInfo) -> AsyncIterator[S3Client]:
    async with make_client(s3_server) as c:
        yield c


@pytest.fixture
async def bucket(client: S3Client, bucket_name: str) -> str:
    await client.create_bucket(bucket_name)
    return bucket_name


async def odd_chunks(data: bytes) -> AsyncIterator[bytes]:
    sizes = [1, 7, 65536, 999_983, 3]
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        yield data[position : position + size]
        position, turn = position + size, turn + 1


@pytest.mark.parametrize("size", [0, 1, PART - 1, PART, PART + 1, 3 * PART + 7])
@pytest.mark.parametrize("kind", ["path", "fileobj", "stream"])
async def test_round_trip(
    client: S3Client, bucket: str, tmp_path: Path, size: int, kind: str
) -> None:
    data = os.urandom(size)
    source_path = tmp_path / "source.bin"
    source_path.write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    cfg = config(tmp_path)

    def progress(done: int, total: int | None) -> None:
        seen.append((done, total))

    if kind == "path":
        result = await client.upload_file(bucket, "obj", source_path, config=cfg, progress=progress)
    elif kind == "fileobj":
        with source_path.open("rb") as file:
            result = await client.upload_file(bucket, "obj", file, config=cfg, progress=progress)
    else:
        result = await client.upload_file(
            bucket, "obj", odd_chunks(data), config=cfg, progress=progress
        )
    assert result["size"] == size
    assert result["parts_count"] == (0 if size <= PART else -(-size // PART))
    if size:
        assert seen[-1][0] == size
        assert all(done <= size for done, _ in seen)
    target = tmp_path / "back.bin"
    downloaded = await client.download_file(bucket, "obj", target, config=cfg)
    assert downloaded["size"] == size
    assert target.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir() if "s3aio-part" in p.name] == []
    assert (
        not list((tmp_path / "journal").glob("*.json")) if (tmp_path / "journal").exists() else True
    )


async def test_download_missing_key_leaves_nothing(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    from s3_asyncio_client import S3NoSuchKeyError

    with pytest.raises(S3NoSuchKeyError):
        await client.download_file(bucket, "nope", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def proxy(seaweedfs: ServerInfo) -> Iterator[FaultProxy]:
    with FaultProxy(seaweedfs.endpoint_url, seed=3) as p:
        yield p


async def test_uploads_and_downloads_survive_faults(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path
) -> None:
    """Resets, 500s, SlowDowns, stalls and cut-off bodies on a share of requests."""
    data = os.urandom(8 * PART + 123)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    ranged_get = matching("GET", path_contains="/obj")
    proxy.set_rules(
        [
            FaultRule("reset", match=UPLOAD_PART, probability=0.15),
            FaultRule("status500", match=UPLOAD_PART, probability=0.15),
            FaultRule("status503slowdown", probability=0.1),
            FaultRule("stall", match=UPLOAD_PART, probability=0.05, stall_seconds=2),
            FaultRule("truncate", match=ranged_get, probability=0.3),
            FaultRule("reset", match=ranged_get, probability=0.1),
        ]
    )
    from s3_asyncio_client import Timeouts

    async with make_client(
        seaweedfs, proxy.url, retry=FAST_RETRY, timeouts=Timeouts(connect=5, read=1)
    ) as c:
        await c.create_bucket(bucket_name)
        await c.upload_file(bucket_name, "obj", source, config=config(tmp_path))
        target = tmp_path / "back.bin"
        await c.download_file(bucket_name, "obj", target, config=config(tmp_path))
    assert target.read_bytes() == data
    faults = proxy.stats.faults
    assert faults["truncate"] > 0
    assert faults["reset"] + faults["status500"] + faults["status503slowdown"] > 0


async def test_corrupted_parts_are_sent_again(
    s3_server: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """A bit flipped on the way: SeaweedFS refuses the checksum (BadDigest), moto
    ignores checksums so the ETag check catches it; either way the part goes again."""
    data = os.urandom(3 * PART)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    with FaultProxy(s3_server.endpoint_url) as proxy:
        proxy.set_rules([FaultRule("corrupt", match=UPLOAD_PART, times=2)])
        async with make_client(s3_server, proxy.url, retry=FAST_RETRY) as c:
            await c.create_bucket(bucket_name)
            await c.upload_file(bucket_name, "obj", source, config=config(tmp_path))
            assert (await c.get_object(bucket_name, "obj"))["body"] == data
        assert proxy.stats.faults["corrupt"] == 2
        assert proxy.stats.requests >= 3 + 2 + 2  # create, 3 parts, 2 re-sends, complete


async def test_resume_after_failure_sends_only_the_rest(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path
) -> None:
    data = os.urandom(6 * PART + 1)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    part_5 = matching("PUT", query_has="partNumber")
    proxy.set_rules(
        [FaultRule("status500", match=lambda m, p: part_5(m, p) and "partNumber=5&" in p)]
    )
    cfg = config(tmp_path, max_concurrency=1)
    async with make_client(seaweedfs, proxy.url, retry=FAST_RETRY) as c:
        await c.create_bucket(bucket_name)
        with pytest.raises(S3ServerError):
            await c.upload_file(bucket_name, "obj", source, config=cfg)
        assert len(list((tmp_path / "journal").glob("*.json"))) == 1
        uploads = [u async for u in c.iter_multipart_uploads(bucket_name)]
        assert len(uploads) == 1  # kept for the resume
        proxy.set_rules([])
        proxy.reset_stats()
        result = await c.upload_file(bucket_name, "obj", source, config=cfg)
        assert result["skipped_bytes"] == 4 * PART
        assert (await c.get_object(bucket_name, "obj"))["body"] == data
        assert [u async for u in c.iter_multipart_uploads(bucket_name)] == []
    assert proxy.stats.request_bytes_forwarded < len(data) - 3 * PART
    assert list((tmp_path / "journal").glob("*.json")) == []


async def upload_afresh(
    client: S3Client, bucket: str, source: Path, cfg: TransferConfig, expected: bytes
) -> None:
    """The same call again: nothing is skipped (the journal no longer matches the
    file), the object is the file's new bytes, no upload is left open."""
    result = await client.upload_file(bucket, "obj", source, config=cfg)
    assert result["skipped_bytes"] == 0
    assert (await client.get_object(bucket, "obj"))["body"] == expected
    assert [u async for u in client.iter_multipart_uploads(bucket)] == []


async def test_changed_source_starts_over(client: S3Client, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(3 * PART))
    cfg = config(tmp_path)

    async def fail_midway() -> None:
        task = asyncio.create_task(client.upload_file(bucket, "obj", source, config=cfg))
        while not list((tmp_path / "journal").glob("*.json")) and not task.done():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    await fail_midway()
    new = os.urandom(3 * PART + 5)
    source.write_bytes(new)  # new size and mtime: the journal no longer applies
    await upload_afresh(client, bucket, source, cfg, new)


async def test_cancellation_without_resume_aborts_and_leaks_nothing(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(10 * PART))
    cfg = config(tmp_path, resume=False)
    tasks: list[asyncio.Task[object]] = []

    def cancel_midway(done: int, total: int | None) -> None:
        if done >= 2 * PART and not tasks[0].cancelling():
            tasks[0].cancel()

    tasks.append(
        asyncio.create_task(
            client.upload_file(bucket, "obj", source, config=cfg, progress=cancel_midway)
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert [u async for u in client.iter_multipart_uploads(bucket)] == []
    with pytest.raises(Exception, match=r"NoSuchKey|does not exist"):
        await client.head_object(bucket, "obj")


async def test_file_object_uploads_from_its_position(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    """Parts of a seekable file object are read at offsets from where it stood."""
    data = os.urandom(3 * PART + 11)
    cfg = config(tmp_path)
    for file in (io.BytesIO(), (tmp_path / "f.bin").open("w+b")):
        with file:
            file.write(data)
            file.seek(10)
            result = await client.upload_file(bucket, "obj", file, config=cfg)
            assert file.tell() == len(data)  # where reading it all leaves it
            file.write(b"more")  # a BytesIO is not left locked by the upload
        assert result["size"] == len(data) - 10
        assert (await client.get_object(bucket, "obj"))["body"] == data[10:]


async def test_compressed_file_objects_upload_what_they_read(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    """A GzipFile has a descriptor, but of its compressed bytes: what is uploaded is
    what reading it gives, read in order (a backward seek would decompress again)."""
    import gzip

    data = os.urandom(2 * PART) + bytes(PART)
    with gzip.open(tmp_path / "data.gz", "wb") as packed:
        packed.write(data)
    with gzip.open(tmp_path / "data.gz", "rb") as unpacked:
        result = await client.upload_file(bucket, "obj", unpacked, config=config(tmp_path))
    assert result["size"] == len(data)
    assert (await client.get_object(bucket, "obj"))["body"] == data


@pytest.mark.parametrize("resume", [False, True])
async def test_source_changed_during_upload_is_not_completed(
    client: S3Client, bucket: str, tmp_path: Path, resume: bool
) -> None:
    """A file modified in place while its parts go out (same size, new mtime) is
    refused before CompleteMultipartUpload; nothing half-old, half-new is stored."""
    from s3_asyncio_client import S3InvalidRequestError

    source = tmp_path / "data.bin"
    old = os.urandom(4 * PART)
    source.write_bytes(old)
    cfg = config(tmp_path, resume=resume, max_concurrency=1)
    touched = []

    def edit_midway(done: int, total: int | None) -> None:
        if done >= PART and not touched:
            touched.append(done)
            with source.open("r+b") as file:
                file.write(b"new!")
            stat = source.stat()
            os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    with pytest.raises(S3InvalidRequestError, match="changed during the upload"):
        await client.upload_file(bucket, "obj", source, config=cfg, progress=edit_midway)
    with pytest.raises(Exception, match=r"NoSuchKey|does not exist"):
        await client.head_object(bucket, "obj")
    left = [u async for u in client.iter_multipart_uploads(bucket)]
    assert len(left) == (1 if resume else 0)
    await upload_afresh(client, bucket, source, cfg, b"new!" + old[4:])


async def test_source_shrunk_during_upload_is_refused(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    from s3_asyncio_client import S3InvalidRequestError

    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(6 * PART))
    cfg = config(tmp_path, resume=False, max_concurrency=1)

    def truncate_midway(done: int, total: int | None) -> None:
        if done >= PART:
            os.truncate(source, 2 * PART)

    with pytest.raises(S3InvalidRequestError, match="shrank"):
        await client.upload_file(bucket, "obj", source, config=cfg, progress=truncate_midway)
    assert [u async for u in client.iter_multipart_uploads(bucket)] == []


async def test_region_shrunk_while_sent_is_refused_not_retried(
    client: S3Client, bucket: str, tmp_path: Path
) -> None:
    """The file shrinks between a region's checksum pass and its send: the body
    cannot be completed, and that is the source's fault, not a broken connection."""
    from s3_asyncio_client import S3InvalidRequestError
    from s3_asyncio_client.transport.file_region import CHUNK, FileRegion, RandomAccess

    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(3 * MiB))
    calls = []

    def truncate_after_first_chunk(count: int) -> None:
        calls.append(count)
        os.truncate(source, CHUNK)

    with source.open("rb") as file:
        region = FileRegion(RandomAccess(file.fileno()), 0, 3 * MiB)
        with pytest.raises(S3InvalidRequestError, match="shrank"):
            await client.put_object(bucket, "obj", region, on_sent=truncate_after_first_chunk)
    assert calls == [CHUNK, -CHUNK]  # one attempt (no retry), its bytes taken back
    with pytest.raises(Exception, match=r"NoSuchKey|does not exist"):
        await client.head_object(bucket, "obj")


async def test_downloads_are_verified_against_the_servers_checksum(
    client: S3Client, bucket: str, tmp_path: Path, s3_server: ServerInfo
) -> None:
    """The CRC32C the server keeps (whole object, or composite over the parts) is what
    the downloaded bytes give; the result says which checksum they matched."""
    small, big = os.urandom(PART // 2), os.urandom(3 * PART + 5)
    (tmp_path / "small").write_bytes(small)
    (tmp_path / "big").write_bytes(big)
    cfg = config(tmp_path)
    await client.upload_file(bucket, "small", tmp_path / "small", config=cfg)
    await client.upload_file(bucket, "big", tmp_path / "big", config=cfg)
    down_small = await client.download_file(bucket, "small", tmp_path / "s", config=cfg)
    down_big = await client.download_file(bucket, "big", tmp_path / "b", config=cfg)
    assert (tmp_path / "s").read_bytes() == small
    assert (tmp_path / "b").read_bytes() == big
    assert down_big["checksum"].startswith("crc32c ")
    if s3_server.name == "moto":  # moto keeps no checksum of a single PUT
        assert "checksum" not in down_small
    else:
        assert down_small["checksum"].startswith("crc32c ")
        assert down_big["checksum"].endswith("-4")


async def test_download_of_parts_of_different_sizes_is_verified(
    client: S3Client, bucket: str, tmp_path: Path, s3_server: ServerInfo
) -> None:
    """Parts of 6 MiB, 5 MiB + 3 and 2 MiB: the layout guessed from part 1 is wrong, so
    every part's size is asked for and the file's CRCs checked again, from disk."""
    bodies = [os.urandom(6 * MiB), os.urandom(5 * MiB + 3), os.urandom(2 * MiB)]
    upload = await client.create_multipart_upload(bucket, "uneven")
    for number, body in enumerate(bodies, 1):
        await upload.upload_part(number, body)
    await upload.complete()
    target = tmp_path / "uneven"
    result = await client.download_file(bucket, "uneven", target, config=config(tmp_path))
    assert target.read_bytes() == b"".join(bodies)
    assert result["checksum"].startswith("crc32c ")
    if s3_server.name != "moto":  # moto's HEAD leaves the "-N" of a composite out
        assert result["checksum"].endswith("-3")


async def test_a_download_damaged_in_transit_is_refused(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path
) -> None:
    """One bit flipped in one ranged GET's body: the checksum disagrees, the download
    fails with S3IntegrityError, and neither the target nor a temporary is left."""
    from s3_asyncio_client import S3IntegrityError

    data = os.urandom(3 * PART)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    async with make_client(seaweedfs, proxy.url) as c:
        await c.create_bucket(bucket_name)
        await c.upload_file(bucket_name, "obj", source, config=config(tmp_path))
        proxy.set_rules([FaultRule("corrupt_reply", match=matching("GET"), times=1)])
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(S3IntegrityError, match="do not match the object's checksum"):
            await c.download_file(bucket_name, "obj", out / "back.bin", config=config(tmp_path))
        assert proxy.stats.faults["corrupt_reply"] == 1
        assert list(out.iterdir()) == []
        proxy.set_rules([])
        await c.download_file(bucket_name, "obj", out / "back.bin", config=config(tmp_path))
        assert (out / "back.bin").read_bytes() == data


async def test_a_failed_part_head_does_not_pass_off_a_damaged_download(
    seaweedfs: ServerInfo, proxy: FaultProxy, bucket_name: str, tmp_path: Path
) -> None:
    """Uneven parts (so the layout guessed from part 1 is wrong and every part's HEAD
    is needed), one bit flipped in transit, and part 2's HEAD failing every time: the
    download fails; it is not returned as merely unverified."""
    bodies = [os.urandom(6 * MiB), os.urandom(5 * MiB + 3), os.urandom(2 * MiB)]
    async with make_client(seaweedfs, proxy.url, retry=FAST_RETRY) as c:
        await c.create_bucket(bucket_name)
        upload = await c.create_multipart_upload(bucket_name, "uneven")
        for number, body in enumerate(bodies, 1):
            await upload.upload_part(number, body)
        await upload.complete()
        proxy.set_rules(
            [
                FaultRule("corrupt_reply", match=matching("GET"), times=1),
                FaultRule("status500", match=lambda m, p: m == "HEAD" and "partNumber=2" in p),
            ]
        )
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(S3ServerError):
            await c.download_file(bucket_name, "uneven", out / "back", config=config(tmp_path))
        assert proxy.stats.faults["corrupt_reply"] == 1
        assert proxy.stats.faults["status500"] == FAST_RETRY.max_attempts
        assert list(out.iterdir()) == []


async def test_parts_sent_without_a_checksum_say_nothing_of_the_server(
    client: S3Client, bucket: str
) -> None:
    """An upload made with checksum=None sends no x-amz-checksum-*, so no echo is
    expected: the client must not conclude that the server ignores checksums (which
    would add an MD5 pass to every later upload)."""
    from s3_asyncio_client import MultipartUpload

    started = await client.create_multipart_upload(bucket, "plain")
    upload = MultipartUpload(client, bucket, "plain", started.upload_id, checksum=None)
    await upload.upload_part(1, b"x" * 1000)
    assert client.capabilities.checksums_ignored is False
    await upload.abort()  # created with a checksum: some servers refuse to complete it


async def test_a_small_file_takes_one_buffer(client: S3Client, bucket: str, tmp_path: Path) -> None:
    """A file that fits one chunk is checksummed and sent through the same single
    pooled buffer, upload after upload."""
    source = tmp_path / "small"
    source.write_bytes(os.urandom(1000))
    for i in range(5):
        await client.upload_file(bucket, f"small/{i}", source, config=config(tmp_path))
    assert (await client.get_object(bucket, "small/4"))["body"] == source.read_bytes()
    assert client.transport.buffers.made == 1


def test_part_buffers_are_reused_on_uvloop(local: ServerInfo, tmp_path: Path) -> None:
    """uvloop's transports are no asyncio.WriteTransport: the check that a chunk has
    left must work there too, or every chunk takes a fresh buffer (40 here)."""
    import uvloop

    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(8 * PART))
    concurrency = 2

    async def upload() -> int:
        async with make_client(local) as c:
            await c.create_bucket("uvloop-buffers")
            cfg = config(tmp_path, max_concurrency=concurrency, resume=False)
            await c.upload_file("uvloop-buffers", "obj", source, config=cfg)
            assert (await c.get_object("uvloop-buffers", "obj"))["body"] == source.read_bytes()
            return c.transport.buffers.made

    made = uvloop.run(upload())
    assert 0 < made <= 3 * concurrency  # two per part on the wire, one per digest


async def test_abort_stale_uploads(client: S3Client, bucket: str, s3_server: ServerInfo) -> None:
    old = await client.create_multipart_upload(bucket, "stale")
    if s3_server.name != "moto":  # moto reports every upload as initiated in 2010
        assert await client.abort_stale_uploads(bucket, older_than=timedelta(hours=1)) == []
    aborted = await client.abort_stale_uploads(bucket, older_than=timedelta(seconds=-60))
    assert [u["upload_id"] for u in aborted] == [old.upload_id]
    assert [u async for u in client.iter_multipart_uploads(bucket)] == []


async def test_bad_sources(client: S3Client, tmp_path: Path) -> None:
    from s3_asyncio_client import S3InvalidRequestError

    with pytest.raises(S3InvalidRequestError, match="no-such-file"):
        await client.upload_file("b", "k", tmp_path / "no-such-file")
    with pytest.raises(S3InvalidRequestError, match="int"):
        await client.upload_file("b", "k", 42)  # type: ignore[arg-type]
    with (
        open(tmp_path / "write-only", "wb") as write_only,
        pytest.raises(S3InvalidRequestError, match="not open for reading"),
    ):
        await client.upload_file("b", "k", write_only)
    with pytest.raises(S3InvalidRequestError, match="directory"):
        await client.download_file("b", "k", tmp_path)
