"""Deleting many keys: DeleteObjects batches of 1,000, several in flight.

Keys are read from any iterable, sync or async (a listing, a file of names), only as
fast as batches leave: memory holds the batches in flight and their replies, never
every key. ``delete_keys`` yields one ``DeleteBatch`` per request as it finishes;
``delete_objects`` is the whole-list form behind ``S3Client.delete_objects``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..exceptions import S3InvalidRequestError
from ..protocol import requests as build
from ..protocol import responses as parse
from ..protocol.responses import DeleteObjectsResult
from ..transport.errors import maps_protocol_errors

if TYPE_CHECKING:
    from .s3client import S3Client

__all__ = ["BATCH", "CONCURRENCY", "DeleteBatch", "Keys", "delete_keys", "delete_objects"]

BATCH = 1000  # S3's limit per DeleteObjects request
CONCURRENCY = 8  # requests in flight by default

Keys = Iterable[str] | AsyncIterable[str]


@dataclass(frozen=True, slots=True)
class DeleteBatch:
    """One DeleteObjects request's outcome: ``number`` counts batches from 0 in the
    order their keys were read; ``deleted`` are the keys sent that are not in
    ``errors`` (quiet replies name only failures), or, not quiet, the keys the server
    listed as deleted (S3 lists a key that was not there as deleted)."""

    number: int
    sent: int
    deleted: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return len(self.deleted)


async def _batches(keys: Keys) -> AsyncGenerator[list[str], None]:
    batch: list[str] = []
    if isinstance(keys, AsyncIterable):
        async for key in keys:
            batch.append(key)
            if len(batch) == BATCH:
                yield batch
                batch = []
    else:
        for key in keys:
            batch.append(key)
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


@maps_protocol_errors  # iterated past S3Client's protocol_edge
async def delete_keys(
    client: S3Client, bucket: str, keys: Keys, *, concurrency: int = CONCURRENCY, quiet: bool = True
) -> AsyncGenerator[DeleteBatch, None]:
    """Delete every key of ``keys``, ``concurrency`` requests in flight; yield each
    batch as its reply arrives (not necessarily in key order). Quiet requests (the
    default) get small replies, naming only failures. A request that fails as a whole
    stops the rest: batches in flight are cancelled and its error is raised."""
    if isinstance(keys, str | bytes):
        raise S3InvalidRequestError(f"keys must be an iterable of keys, got the string {keys!r}")
    if concurrency < 1:
        raise S3InvalidRequestError(f"concurrency must be at least 1, got {concurrency}")

    async def send(number: int, batch: list[str]) -> DeleteBatch:
        request = build.build_delete_objects(client.endpoint, bucket, batch, quiet=quiet)
        reply = parse.parse_delete_objects(await client._send(request, bucket))
        errors = reply["errors"]
        if quiet:
            failed = {error["key"] for error in errors}
            return DeleteBatch(number, len(batch), [k for k in batch if k not in failed], errors)
        return DeleteBatch(number, len(batch), reply["deleted"], errors)

    running: set[asyncio.Task[DeleteBatch]] = set()
    batches = _batches(keys)
    try:
        number = 0
        async for batch in batches:
            running.add(asyncio.ensure_future(send(number, batch)))
            number += 1
            if len(running) >= concurrency:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for result in _results(done):
                    yield result
        while running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for result in _results(done):
                yield result
    finally:
        for task in running:
            task.cancel()
        # Wait for them: no request outlives the generator.
        await asyncio.gather(*running, return_exceptions=True)
        await batches.aclose()


def _results(done: set[asyncio.Task[DeleteBatch]]) -> list[DeleteBatch]:
    """The finished batches; the first failure raised (every one is retrieved, so none
    is reported again as never retrieved)."""
    failures = [error for task in done if (error := task.exception()) is not None]
    if failures:
        raise failures[0]
    return sorted((task.result() for task in done), key=lambda batch: batch.number)


async def delete_objects(
    client: S3Client, bucket: str, keys: Keys, *, concurrency: int = CONCURRENCY
) -> DeleteObjectsResult:
    """Every key deleted and every failure, each list in the order the keys came."""
    done: list[DeleteBatch] = []
    async with contextlib.aclosing(
        delete_keys(client, bucket, keys, concurrency=concurrency, quiet=False)
    ) as batches:
        async for batch in batches:
            done.append(batch)
    done.sort(key=lambda batch: batch.number)
    return DeleteObjectsResult(
        deleted=[key for batch in done for key in batch.deleted],
        errors=[error for batch in done for error in batch.errors],
    )
