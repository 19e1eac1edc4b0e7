"""The times a signed request carries, and S3's replies when they are off.

Shared by SigV4 (auth.py), SigV2 (sigv2.py) and POST policies (postform.py): a
header signature must be dated within ``MAX_SKEW`` of the server clock; a presigned
URL or a policy is refused once its expiry has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..protocol.limits import MAX_PRESIGN_EXPIRES
from .errors import S3Fault
from .integers import decimal

__all__ = [
    "MAX_SKEW",
    "amz_datetime",
    "expired",
    "format_amz",
    "http_datetime",
    "iso_seconds",
    "presigned_lifetime",
    "skewed",
]

MAX_SKEW = 15 * 60


def amz_datetime(value: str) -> datetime | None:
    """``20240101T000000Z`` (SigV4's X-Amz-Date); None if it is not that."""
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def http_datetime(value: str) -> datetime | None:
    """An HTTP date (``Date``, SigV2's ``x-amz-date``); None if it is not one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_amz(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def iso_seconds(moment: datetime) -> str:
    """The time format of S3's ``Expires`` and ``ServerTime`` error elements."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def skewed(sent: str, moment: datetime, now: datetime) -> S3Fault | None:
    """RequestTimeTooSkewed if ``moment`` (as ``sent``) is too far from ``now``."""
    if abs((now - moment).total_seconds()) <= MAX_SKEW:
        return None
    return S3Fault(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        extra={
            "RequestTime": sent,
            "ServerTime": iso_seconds(now),
            "MaxAllowedSkewMilliseconds": str(MAX_SKEW * 1000),
        },
    )


def expired(deadline: datetime, now: datetime, extra: dict[str, str] | None = None) -> S3Fault:
    """S3's reply to a presigned URL past its deadline (``extra`` comes first)."""
    return S3Fault(
        "AccessDenied",
        "Request has expired",
        extra={**(extra or {}), "Expires": iso_seconds(deadline), "ServerTime": iso_seconds(now)},
    )


def presigned_lifetime(text: str) -> int:
    """X-Amz-Expires as S3 reads it: whole seconds, 0..604800, else S3's message."""
    value = decimal(text.removeprefix("-"))
    if value is None:
        message = "X-Amz-Expires should be a number"
    elif text.startswith("-"):
        message = "X-Amz-Expires must be non-negative"
    elif value > MAX_PRESIGN_EXPIRES:
        message = (
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds"
        )
    else:
        return value
    # 403, not the 400 this code has elsewhere: what S3 answers (and s3-tests expect).
    raise S3Fault("AuthorizationQueryParametersError", message, status=403)
