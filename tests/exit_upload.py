"""A program that leaves while an upload runs, for tests of interpreter exit.

    python exit_upload.py MODE ENDPOINT ACCESS SECRET REGION BUCKET KEY PATH JOURNALS

MODE "sync-exit": the sync facade's ``put_file`` in a daemon thread, then
``sys.exit(0)`` once the journal holds two parts; "async-exit": the async client's
``upload_file`` in ``asyncio.run`` in a daemon thread, then the end of the module;
"finish": the same upload through the sync facade, to the end, printing
``skipped=N``. Parts are 5 MiB, two at a time. "stalled-thread": a single PUT of
48 MiB in a non-daemon thread (the interpreter waits for it at exit), with a stall
timeout of 1 s and two attempts, printing ``stalled: ERROR`` when it gives up.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

from s3_asyncio_client import (
    Client,
    RetryConfig,
    S3Client,
    S3TimeoutError,
    Timeouts,
    TransferConfig,
)

PART = 5 * 1024 * 1024
WAIT = 60.0  # for the first parts to be recorded


def parts_recorded(journals: Path) -> int:
    """Part lines in the journals under ``journals`` (a header line each not counted)."""
    lines = 0
    for path in journals.rglob("*"):
        if path.is_file() and not path.name.endswith(".tmp"):
            lines += max(len(path.read_bytes().splitlines()) - 1, 0)
    return lines


def main() -> None:
    mode, endpoint, access, secret, region, bucket, key, path, journals = sys.argv[1:]
    config = TransferConfig(part_size=PART, max_concurrency=2, journal_dir=journals)
    keys = {"access_key": access, "secret_key": secret, "region": region}
    if mode == "stalled-thread":
        stalled = Client(
            endpoint,
            timeouts=Timeouts(connect=5, read=1),
            retry=RetryConfig(max_attempts=2, base_delay=0.01),
            **keys,
        )

        def put() -> None:
            try:
                stalled.bucket(bucket).object(key).put_content(bytes(48 * 1024 * 1024))
            except S3TimeoutError as exc:
                print(f"stalled: {type(exc).__name__}", flush=True)

        threading.Thread(target=put).start()
        return  # the end of main: the interpreter waits for the thread
    if mode == "finish":
        with Client(endpoint, transfer_config=config, **keys) as client:
            result = client.bucket(bucket).object(key).put_file(path)
        print(f"skipped={result['skipped_bytes']}", flush=True)
        return
    if mode == "sync-exit":
        client = Client(endpoint, transfer_config=config, **keys)  # left open: closed at exit

        def run() -> None:
            client.bucket(bucket).object(key).put_file(path)

    else:

        async def upload() -> None:
            async with S3Client(endpoint_url=endpoint, **keys) as s3:
                await s3.upload_file(bucket, key, path, config=config)

        def run() -> None:
            asyncio.run(upload())

    threading.Thread(target=run, daemon=True).start()
    deadline = time.monotonic() + WAIT
    while parts_recorded(Path(journals)) < 2:
        if time.monotonic() > deadline:
            sys.exit("no part was recorded")
        time.sleep(0.05)
    print("leaving with the upload in flight", flush=True)
    if mode == "sync-exit":
        sys.exit(0)


if __name__ == "__main__":
    main()
