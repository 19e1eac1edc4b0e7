"""Many keys for scale tests and benchmarks: how many, their names, and a fast way to
store them in an embedded server's root.

``S3AIO_SCALE_KEYS`` sets the count of the scale tests (default 20,000: a few seconds
on two cores); set it to 1000000 for the full run.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from s3_asyncio_client.server.index import ObjectRecord
from s3_asyncio_client.server.storage import Storage

__all__ = ["EMPTY_ETAG", "FOLDER_SIZE", "key_name", "key_names", "scale_keys", "seed_objects"]

EMPTY_ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'  # MD5 of no bytes, as a PUT stores it
FOLDER_SIZE = 100  # keys per "folder": a delimiter listing sees count / 100 prefixes
_CHUNK = 20_000  # rows per transaction: the WAL stays small


def scale_keys(default: int = 20_000) -> int:
    """The key count for scale tests: ``S3AIO_SCALE_KEYS`` or ``default``."""
    value = os.environ.get("S3AIO_SCALE_KEYS", "")
    return int(value) if value.strip() else default


def key_name(number: int) -> str:
    """Key ``number``: ``d00012/k0001234``, in key order as numbers go up."""
    return f"d{number // FOLDER_SIZE:05d}/k{number:07d}"


def key_names(count: int, start: int = 0) -> Iterator[str]:
    return (key_name(number) for number in range(start, start + count))


def seed_objects(root: Path, bucket: str, keys: Iterable[str]) -> int:
    """Store an empty object under each key of ``keys`` in ``bucket`` (created if
    missing) of the server root ``root``, whose server must not be running (the root's
    lock says so). Rows go in through the index, many per transaction; an empty object
    has no segments, so no row names a blob at all. The count stored."""
    storage = Storage(root, durable=False)
    try:
        now = time.time()
        storage.index.create_bucket(bucket, now)
        count = 0
        for chunk in _chunks(keys):
            records = (
                ObjectRecord(bucket, key, (), 0, EMPTY_ETAG, now, "binary/octet-stream")
                for key in chunk
            )
            storage.blobs.remove(storage.index.put_objects(records))
            count += len(chunk)
        return count
    finally:
        storage.close()


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    it = iter(keys)
    while chunk := list(itertools.islice(it, _CHUNK)):
        yield chunk
