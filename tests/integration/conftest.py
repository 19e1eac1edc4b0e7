"""Fixtures shared by the integration tests: a boto3 client on the embedded server
(``local``) and a fresh bucket. A module may override ``s3`` (its own server); the
``bucket`` fixture then uses that client.

Every async test runs with ``loopcheck.forbid_blocking``: a blocking call that the
client makes on the event loop's thread (opening a file, a DNS lookup, ...) fails
the test. The tests' own file I/O is theirs, not the client's, and is not counted."""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import ServerInfo, boto3_client

import s3_asyncio_client
from s3_asyncio_client.loopcheck import forbid_blocking

CLIENT_CODE = str(Path(s3_asyncio_client.__file__).parent)
# A client made without a region reads ~/.aws/config for one when it is made (a
# documented blocking call: give the region, or make the client in a thread); these
# tests make their clients inside coroutines, so the region comes from here.
os.environ.setdefault("AWS_REGION", "us-east-1")


@pytest.fixture(autouse=True)
async def no_blocking_calls_on_the_loop(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if not inspect.iscoroutinefunction(request.function):
        yield
        return
    with forbid_blocking(within=CLIENT_CODE):
        yield


@pytest.fixture
def s3(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local)
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any, bucket_name: str) -> str:
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name
