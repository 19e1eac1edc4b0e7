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
    "STREAM_DOUBLING",
    "check_bucket",
    "check_int",
    "check_key",
    "check_part_number",
    "check_part_size",
    "check_text",
    "part_count",
    "plan_part_size",
    "stream_base",
    "stream_capacity",
    "stream_part_size",
]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_PART_NUMBER = 10_000
STREAM_DOUBLING = 2000  # parts of a stream of unknown length between doublings
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


def plan_part_size(
    size: int,
    part_size: int | None = None,
    *,
    max_parts: int = MAX_PARTS,
    min_part_size: int = MIN_PART_SIZE,
) -> int:
    """The part size to use for ``size`` bytes: ``part_size`` raised if it must be,
    so that ``max_parts`` parts hold them.

    With ``part_size=None`` it picks 8 MiB, or more for very large objects. A
    ``part_size`` under ``min_part_size`` (S3's 5 MiB; lower for servers that accept
    smaller parts) is refused, naming it.
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
    if part_size is not None:
        check_part_size(part_size, min_part_size)
    wanted = part_size or 8 * MiB
    needed = -(-size // max_parts)
    if needed > wanted:
        wanted = -(-needed // MiB) * MiB
    return min(max(wanted, min_part_size), MAX_PART_SIZE)


def check_part_size(part_size: int, min_part_size: int = MIN_PART_SIZE) -> int:
    """``part_size`` if a server whose smallest part is ``min_part_size`` takes it."""
    low = max(1, min_part_size)
    if not low <= part_size <= MAX_PART_SIZE:
        floor = "5 MiB" if low == MIN_PART_SIZE else f"{low} bytes"
        raise LocalProtocolError(
            f"part size {part_size} is not supported: it must be from {floor} to "
            f"{MAX_PART_SIZE} (5 GiB)"
            + ("" if low < MIN_PART_SIZE else "; S3Client(min_part_size=...) lowers the floor"),
            value=part_size,
        )
    return part_size


def stream_base(
    part_size: int | None, expected: int | None, max_parts: int, min_part_size: int
) -> int:
    """The first part size of a stream of unknown length: ``part_size``, or 8 MiB raised
    so that a stream of ``expected`` bytes fits; a ``part_size`` too small for
    ``expected`` is refused, naming the part size that would do."""
    least = 1 if expected is None else -(-expected // stream_capacity(1, max_parts))
    if part_size is None:
        return check_part_size(max(8 * MiB, least, min_part_size))
    check_part_size(part_size, min_part_size)
    if part_size < least:
        raise LocalProtocolError(
            f"a stream of {expected:,} bytes needs more than {max_parts:,} parts from "
            f"part_size={part_size}: use part_size={least} or more",
            value=part_size,
        )
    return part_size


def stream_capacity(part_size: int, max_parts: int = MAX_PARTS) -> int:
    """The most bytes a stream of unknown length can hold when its parts start at
    ``part_size`` and double every ``STREAM_DOUBLING`` parts (``stream_part_size``)."""
    return sum(stream_part_size(part_size, number) for number in range(1, max_parts + 1))


def stream_part_size(part_size: int, number: int) -> int:
    """Part ``number``'s size in a stream of unknown length: ``part_size``, doubled every
    ``STREAM_DOUBLING`` parts (8 MiB parts hold up to about 484 GiB), capped at 5 GiB."""
    return min(part_size << ((number - 1) // STREAM_DOUBLING), MAX_PART_SIZE)
