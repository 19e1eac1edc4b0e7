"""One benchmark operation in this process, by one client; prints a JSON line.

    python benchmarks/clients.py CLIENT OPERATION ENDPOINT ACCESS SECRET BUCKET FILE

OPERATION is upload or download (FILE is the source or the target). Every client
gets the same part size and concurrency. The parent measures CPU time and peak
memory of this process; this process reports its own wall time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable

PART_SIZE = 8 * 1024 * 1024
CONCURRENCY = 8


def ours(operation: str, endpoint: str, access: str, secret: str, bucket: str, path: str) -> None:
    from s3_asyncio_client import S3Client, TransferConfig

    config = TransferConfig(part_size=PART_SIZE, max_concurrency=CONCURRENCY, resume=False)

    async def main() -> None:
        async with S3Client(access_key=access, secret_key=secret, endpoint_url=endpoint) as c:
            if operation == "upload":
                await c.upload_file(bucket, "bench.bin", path, config=config)
            else:
                await c.download_file(bucket, "bench.bin", path, config=config)

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def boto3(operation: str, endpoint: str, access: str, secret: str, bucket: str, path: str) -> None:
    import boto3 as sdk
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    client = sdk.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=CONCURRENCY),
    )
    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=CONCURRENCY,
        use_threads=True,
    )
    if operation == "upload":
        client.upload_file(path, bucket, "bench.bin", Config=config)
    else:
        client.download_file(bucket, "bench.bin", path, Config=config)


CLIENTS: dict[str, Callable[[str, str, str, str, str, str], None]] = {"ours": ours, "boto3": boto3}


def main() -> None:
    name, operation, *args = sys.argv[1:]
    start = time.perf_counter()
    CLIENTS[name](operation, *args)
    wall = time.perf_counter() - start
    with open("/proc/self/status") as status:  # VmHWM: this process's own peak
        peak = int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) * 1024
    print(json.dumps({"wall": wall, "peak_rss": peak}))


if __name__ == "__main__":
    main()
