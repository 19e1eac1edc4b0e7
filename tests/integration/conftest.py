"""Fixtures shared by the integration tests: a boto3 client on the embedded server
(``local``) and a fresh bucket. A module may override ``s3`` (its own server); the
``bucket`` fixture then uses that client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from servers import ServerInfo, boto3_client


@pytest.fixture
def s3(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local)
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any, bucket_name: str) -> str:
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name
