"""A pytest plugin: a local S3 server and a client for it, as fixtures.

Installed with the package (``pytest11`` entry point), so any test suite can use:

    async def test_upload(s3_local_client):
        await s3_local_client.create_bucket("b")
        await s3_local_client.put_object("b", "k", b"data")

``s3_local_server`` (session scope) is a running ``LocalS3Server`` on 127.0.0.1 with a
temporary root and random keys; ``s3_local_client`` (per test) is an ``S3Client``
connected to it. Buckets persist for the session: use unique names. The server runs
with ``durable=False`` (no fsync): its data lives as long as the session, so a power
cut has nothing worth keeping, and tests should not wait on the disk.

After ``os.fork()`` (multiprocessing's "fork" start method, forking test runners) a
child may use both: the server goes on serving from the parent's thread, and the
client opens connections of its own in the child (in the child's event loop, e.g.
``asyncio.run``), leaving the parent's alone.

Importing this module stays cheap (pytest loads it in every run of anyone who installs
us): the server and client are imported only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from .client import S3Client
    from .server import LocalS3Server

__all__ = ["s3_local_client", "s3_local_server"]

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """pytest-asyncio's fixture decorator (needed in its strict mode), if installed."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - depends on the environment
        return cast(F, pytest.fixture(function))
    return cast(F, pytest_asyncio.fixture(function))


@pytest.fixture(scope="session")
def s3_local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server]:
    """A running local S3 server for the whole session."""
    from .server import LocalS3Server

    with LocalS3Server(tmp_path_factory.mktemp("s3-local"), durable=False) as server:
        yield server


@_async_fixture
async def s3_local_client(s3_local_server: LocalS3Server) -> AsyncIterator[S3Client]:
    """An S3Client for ``s3_local_server``, closed after the test."""
    from .client import S3Client

    async with S3Client(
        endpoint_url=s3_local_server.endpoint_url,
        access_key=s3_local_server.access_key,
        secret_key=s3_local_server.secret_key,
        region=s3_local_server.region,
    ) as client:
        yield client
