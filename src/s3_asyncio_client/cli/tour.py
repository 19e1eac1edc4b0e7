"""What ``s3aio demo`` does: the embedded server, a large verified transfer through it,
and the synchronous Client's multipart workflow. Imported when the command runs.
"""

from __future__ import annotations

import asyncio
import filecmp
import os
import time
from pathlib import Path

import click

from . import Settings
from .progress import Reporter, human_size

__all__ = ["tour"]


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as file:
        for offset in range(0, size, len(block)):
            # A different block each MiB, cheaply: no two parts are alike.
            stamp = offset.to_bytes(8, "little")
            file.write((stamp + block[8:])[: min(len(block), size - offset)])


def _notebook_workflow(endpoint: str, access_key: str, secret_key: str) -> None:
    """The seed notebook's multipart workflow, through the synchronous Client."""
    from ..sync import Client

    with Client(endpoint, access_key=access_key, secret_key=secret_key) as client:
        bucket = client.bucket("multipart-demo-bck").create(exist_ok=True)
        obj = bucket.object("out-of-order-object")
        mpu = obj.multipart_upload().create()
        parts = {
            3: b"This should be third. ",
            1: b"This should be first. ",
            2: b"This should be second. ",
        }
        for number in (3, 1, 2):
            mpu.add_part(number).put_content(parts[number])
        click.echo(f"notebook: parts uploaded in order {mpu.parts}")
        response = mpu.complete()
        content = obj.get_reader().read_all().decode()
        click.echo(f"notebook: complete -> {response.status_code}; content {content!r}")
        assert content == "This should be first. This should be second. This should be third. "


async def tour(settings: Settings, size: int, work: Path) -> None:
    from ..client import S3Client
    from ..config import TransferConfig
    from ..server import LocalS3Server

    with LocalS3Server(work / "server") as server:
        click.echo(f"embedded S3 server at {server.endpoint_url} (data in {server.root})")
        source, back = work / "demo.bin", work / "demo.back.bin"
        click.echo(f"making a {human_size(size)} file of random bytes ...")
        await asyncio.to_thread(_make_file, source, size)
        config = TransferConfig(resume=False)
        reporter = Reporter(settings.progress)
        async with S3Client(
            endpoint_url=server.endpoint_url,
            access_key=server.access_key,
            secret_key=server.secret_key,
            region=server.region,
        ) as client:
            await client.create_bucket("demo")
            start = time.perf_counter()
            with reporter.session(), reporter.file("upload", size) as progress:
                result = await client.upload_file(
                    "demo", "demo.bin", source, config=config, progress=progress
                )
            up = time.perf_counter() - start
            click.echo(
                f"uploaded: {result['parts_count']} parts in parallel, ETag {result['etag']}"
            )
            async for item in client.iter_objects("demo"):
                click.echo(f"listed: s3://demo/{item['key']}  {item['size']} bytes")
            start = time.perf_counter()
            with reporter.session(), reporter.file("download", size) as progress:
                await client.download_file(
                    "demo", "demo.bin", back, config=config, progress=progress
                )
            down = time.perf_counter() - start
        same = await asyncio.to_thread(filecmp.cmp, source, back, False)
        if not same:
            raise click.ClickException("the downloaded file differs from the original")
        click.echo("verified: the downloaded file is byte-for-byte the original")
        await asyncio.to_thread(
            _notebook_workflow, server.endpoint_url, server.access_key, server.secret_key
        )
        click.echo(
            f"throughput: upload {human_size(size / up)}/s ({up:.2f} s), "
            f"download {human_size(size / down)}/s ({down:.2f} s)"
        )
