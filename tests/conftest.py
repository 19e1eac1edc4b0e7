"""Session-wide S3 servers for the tests; the logic lives in servers.py.

``s3_server`` runs a test once per server, so an integration test written once is
checked against SeaweedFS (verifies SigV4) and moto (does not).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from servers import ServerInfo, start_moto, start_seaweedfs


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


@pytest.fixture(scope="session", params=["seaweedfs", "moto"], ids=["seaweedfs", "moto"])
def s3_server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


@pytest.fixture
def bucket_name() -> str:
    """A fresh bucket name (not created: that is the test's job)."""
    return "t-" + uuid.uuid4().hex[:12]
