"""Session-wide S3 servers for the tests; the logic lives in servers.py.

``s3_server`` runs a test once per server, so an integration test written once is
checked against SeaweedFS (verifies SigV4), moto (does not) and our own embedded
server (verifies SigV4, keeps keys byte-exact, allows small parts).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from servers import (
    DOC_ACCESS_KEY,
    DOC_SECRET_KEY,
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    ServerInfo,
    start_moto,
    start_seaweedfs,
)

from s3_asyncio_client.server import LocalS3Server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    info, server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield info
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    info, server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield info
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    """The embedded server, in-process (its own thread); the documentation's example
    keys are a second identity, as on the SeaweedFS test server."""
    with LocalS3Server(
        tmp_path_factory.mktemp("local-s3"),
        credentials={TEST_ACCESS_KEY: TEST_SECRET_KEY, DOC_ACCESS_KEY: DOC_SECRET_KEY},
    ) as server:
        yield ServerInfo(
            name="local",
            endpoint_url=server.endpoint_url,
            access_key=TEST_ACCESS_KEY,
            secret_key=TEST_SECRET_KEY,
            checks_signatures=True,
            min_part_size=0,
        )


@pytest.fixture(
    scope="session", params=["seaweedfs", "moto", "local"], ids=["seaweedfs", "moto", "local"]
)
def s3_server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


@pytest.fixture
def bucket_name() -> str:
    """A fresh bucket name (not created: that is the test's job)."""
    return "t-" + uuid.uuid4().hex[:12]
