"""The S3 error a boto3 call failed with, for assertions. No pytest import here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest
    from botocore.exceptions import ClientError

__all__ = ["error_of"]


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    """(S3 error code, HTTP status) of the ClientError ``caught``."""
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
