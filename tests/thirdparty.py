"""Third-party S3 stacks set up for a test server as their users set them up for a
custom endpoint, shared by the data-frame tests and the client compatibility matrix.
No pytest import here.
"""

from __future__ import annotations

from typing import Any

import pyarrow.fs as pafs
from servers import ServerInfo

__all__ = ["arrow_fs", "parts_of", "polars_options"]


def arrow_fs(server: ServerInfo, **options: Any) -> pafs.S3FileSystem:
    """pyarrow's S3FileSystem (aws-sdk-cpp) for ``server``, path style; ``options``
    go to S3FileSystem as given."""
    scheme, _, hostport = server.endpoint_url.partition("://")
    return pafs.S3FileSystem(
        access_key=server.access_key,
        secret_key=server.secret_key,
        endpoint_override=hostport,
        scheme=scheme,
        region=server.region,
        force_virtual_addressing=False,
        # One attempt: a refused request must fail the test, not be retried away.
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
        **options,
    )


def polars_options(server: ServerInfo) -> dict[str, str]:
    """``storage_options`` for polars (Rust object_store) on ``server``, path style."""
    return {
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        "aws_endpoint_url": server.endpoint_url,
        "aws_region": server.region,
        "aws_allow_http": "true",
        "aws_virtual_hosted_style_request": "false",
    }


def parts_of(s3: Any, bucket: str, key: str) -> int:
    """How many parts the object was uploaded in (0 for a single PUT), from its ETag."""
    etag: str = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    return int(etag.rpartition("-")[2]) if "-" in etag else 0
