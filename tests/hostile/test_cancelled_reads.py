"""A cancelled upload must not close its source under a read still queued or running
in a worker thread: the descriptor's number would be reused by the next file opened,
and that read would take the wrong file's bytes (or fail with EBADF)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from servers import ServerInfo

from s3_asyncio_client import S3Client, S3NoSuchKeyError, TransferConfig

MiB = 1024 * 1024


def descriptors_of(path: Path) -> int:
    """How many descriptors of this process are open on ``path``."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own)
            count += os.readlink(f"/proc/self/fd/{name}") == str(path)
    return count


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache, so the next read of it goes to a
    worker thread (a read on the event loop takes only what is cached)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="reads on the loop need RWF_NOWAIT")
@pytest.mark.parametrize("kind", ["path", "fileobj"])
async def test_a_cancelled_put_keeps_its_source_open_until_the_last_read(
    local: ServerInfo, bucket_name: str, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(4 * MiB))  # one PUT, several chunks
    evict(source)
    loop = asyncio.get_running_loop()
    # One worker, which the test holds busy: the upload's next read waits in its queue.
    workers = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(workers)
    gate = threading.Event()
    upload: list[asyncio.Task[object]] = []

    def after_first_chunk(done: int, total: int | None) -> None:
        if done and not upload[0].cancelling():
            evict(source)
            workers.submit(gate.wait)
            upload[0].cancel()  # lands while the body is half sent, before any reply

    config = TransferConfig(journal_dir=str(tmp_path / "journal"))
    async with S3Client(
        access_key=local.access_key, secret_key=local.secret_key, endpoint_url=local.endpoint_url
    ) as client:
        await client.create_bucket(bucket_name)
        with contextlib.ExitStack() as stack:
            what = stack.enter_context(source.open("rb")) if kind == "fileobj" else source
            upload.append(
                asyncio.create_task(
                    client.upload_file(
                        bucket_name, "obj", what, config=config, progress=after_first_chunk
                    )
                )
            )
            try:
                with pytest.raises(asyncio.CancelledError):
                    await upload[0]
                # The read of the second chunk is still queued: its descriptor stays
                # open (the caller's own file object aside).
                assert descriptors_of(source) == 1 + (kind == "fileobj")
            finally:
                gate.set()
        other = tmp_path / "other.bin"
        other.write_bytes(b"x" * MiB)
        with other.open("rb"):  # takes the lowest free number
            await loop.run_in_executor(workers, lambda: None)  # the queued read ran
            for _ in range(200):  # the upload's writer task ends on the loop
                if not descriptors_of(source):
                    break
                await asyncio.sleep(0.01)
        assert descriptors_of(source) == 0  # and then none is left open
        with pytest.raises(S3NoSuchKeyError):
            await client.head_object(bucket_name, "obj")
    workers.shutdown()
