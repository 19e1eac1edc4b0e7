"""S3's limits, and the part plan that keeps an upload within them.

Part sizes: at least 5 MiB (except the last part), at most 5 GiB, at most 10,000
parts; so the largest object multipart can carry is 10,000 x 5 GiB, and an object of
size S needs parts of at least ceil(S / 10,000). ``plan_part_size`` raises a requested
part size to that, rounded up to a whole MiB, and never below 5 MiB.
"""

from __future__ import annotations

from .errors import LocalProtocolError

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_OBJECT_SIZE",
    "MAX_PARTS",
    "MAX_PART_NUMBER",
    "MAX_PART_SIZE",
    "MAX_PRESIGN_EXPIRES",
    "MAX_PUT_SIZE",
    "MIN_PART_SIZE",
    "check_bucket",
    "check_int",
    "check_key",
    "check_part_number",
    "check_text",
    "part_count",
    "plan_part_size",
]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_PART_NUMBER = 10_000
MAX_PUT_SIZE = 5 * GiB
MAX_OBJECT_SIZE = MAX_PARTS * MAX_PART_SIZE
MAX_KEY_BYTES = 1024
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_BUCKET = "InvalidBucketName"


def check_bucket(bucket: object) -> str:
    """Refuse a bucket name no S3 server would accept, naming it."""
    if not isinstance(bucket, str) or not bucket:
        raise LocalProtocolError(
            f"bucket must be a non-empty string, got {bucket!r}", value=bucket, code=_BUCKET
        )
    if "/" in bucket or len(bucket) > 255 or not bucket.isprintable() or " " in bucket:
        raise LocalProtocolError(
            f"invalid bucket name {bucket!r}", value=bucket, code=_BUCKET, bucket=bucket
        )
    return bucket


def check_key(key: object, bucket: str | None = None) -> str:
    """Refuse an empty key or one over 1,024 UTF-8 bytes, naming it."""
    if not isinstance(key, str) or not key:
        raise LocalProtocolError(
            f"key must be a non-empty string, got {key!r}", value=key, bucket=bucket
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise LocalProtocolError(
            f"key is not valid UTF-8 (lone surrogate): {key!r}", value=key, bucket=bucket
        ) from None
    if size > MAX_KEY_BYTES:
        raise LocalProtocolError(
            f"key is {size} bytes long; S3 allows at most {MAX_KEY_BYTES}: {key[:40]!r}...",
            value=key,
            code="KeyTooLongError",
            bucket=bucket,
        )
    return key


def check_int(value: object, name: str, low: int, high: int | None = None) -> int:
    """Refuse anything but an int in ``low..high``, naming it."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise LocalProtocolError(f"{name} must be an int {bounds}, got {value!r}", value=value)
    return value


def check_text(value: object, name: str) -> str:
    """Refuse anything but a non-empty string, naming it."""
    if not isinstance(value, str) or not value:
        raise LocalProtocolError(f"{name} must be a non-empty string, got {value!r}", value=value)
    return value


def check_part_number(part_number: object) -> int:
    """Refuse a part number outside 1..10,000, naming it."""
    if (
        not isinstance(part_number, int)
        or isinstance(part_number, bool)
        or not 1 <= part_number <= MAX_PART_NUMBER
    ):
        raise LocalProtocolError(
            f"part number must be an int from 1 to {MAX_PART_NUMBER}, got {part_number!r}",
            value=part_number,
            code="InvalidArgument",
        )
    return part_number


def part_count(size: int, part_size: int) -> int:
    """Parts needed for ``size`` bytes; an empty object is still one (empty) part."""
    return max(1, -(-size // part_size))


def plan_part_size(size: int, part_size: int | None = None, *, max_parts: int = MAX_PARTS) -> int:
    """The part size to use for ``size`` bytes: ``part_size`` raised if it must be,
    so that ``max_parts`` parts hold them.

    With ``part_size=None`` it picks 8 MiB, or more for very large objects.
    """
    if size < 0:
        raise LocalProtocolError(f"size must be >= 0, got {size}", value=size)
    largest = max_parts * MAX_PART_SIZE
    if size > largest:
        raise LocalProtocolError(
            f"object of {size} bytes exceeds the multipart limit of {largest} bytes",
            value=size,
            code="EntityTooLarge",
        )
    if part_size is not None and not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise LocalProtocolError(
            f"part size {part_size} is not supported: it must be from "
            f"{MIN_PART_SIZE} (5 MiB) to {MAX_PART_SIZE} (5 GiB)",
            value=part_size,
        )
    wanted = part_size or 8 * MiB
    needed = -(-size // max_parts)
    if needed > wanted:
        wanted = -(-needed // MiB) * MiB
    return min(max(wanted, MIN_PART_SIZE), MAX_PART_SIZE)
