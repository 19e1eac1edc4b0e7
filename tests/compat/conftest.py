"""The client compatibility matrix: each third-party client runs one user's scenario
against the embedded server (the session's ``local`` fixture) and the result is
checked with boto3 and by bytes. Shared helpers live in compatkit.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from compatkit import tool_env
from servers import ServerInfo, boto3_client


@pytest.fixture
def s3(local: ServerInfo) -> Iterator[Any]:
    """A boto3 client on the embedded server, to check what a client stored."""
    client = boto3_client(local)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def bucket(s3: Any, bucket_name: str) -> str:
    """A fresh, empty bucket."""
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name


@pytest.fixture
def env(local: ServerInfo, tmp_path: Path) -> dict[str, str]:
    """The environment for a command-line client, with a scratch home of its own."""
    return tool_env(local, tmp_path / "home")
