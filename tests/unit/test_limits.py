"""S3's size limits and the multipart part plan.

hypothesis is not installed in the venv, so the invariants are checked over a fixed
grid of boundary sizes plus a seeded random sample.
"""

from __future__ import annotations

import random
import re

import pytest

from s3_asyncio_client.protocol.errors import LocalProtocolError
from s3_asyncio_client.protocol.limits import (
    MAX_OBJECT_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    check_int,
    check_part_size,
    check_text,
    part_count,
    plan_part_size,
    stream_base,
    stream_capacity,
    stream_part_size,
)

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB
MAX = 10_000 * 5 * GiB


def test_constants() -> None:
    assert MAX_OBJECT_SIZE == MAX == 53_687_091_200_000


@pytest.mark.parametrize(
    ("size", "plan", "parts"),
    [
        (0, 8 * MiB, 1),
        (1, 8 * MiB, 1),
        (5 * MiB, 8 * MiB, 1),
        (8 * MiB, 8 * MiB, 1),
        (8 * MiB + 1, 8 * MiB, 2),
        (10_000 * 8 * MiB, 8 * MiB, 10_000),
        (10_000 * 8 * MiB + 1, 9 * MiB, 8_889),
        (80 * GiB, 9 * MiB, 9_103),
        (100 * GiB, 11 * MiB, 9_310),
        (1 * TiB, 105 * MiB, 9_987),
        (5 * TiB, 525 * MiB, 9_987),
        (int(48.8 * TiB), 5118 * MiB, 9_999),
        (MAX - 1, 5 * GiB, 10_000),
        (MAX, 5 * GiB, 10_000),
    ],
)
def test_default_plan(size: int, plan: int, parts: int) -> None:
    assert plan_part_size(size) == plan
    assert part_count(size, plan) == parts


@pytest.mark.parametrize(
    ("size", "requested", "plan"),
    [
        (1 * GiB, 16 * MiB, 16 * MiB),
        (0, 5 * MiB, 5 * MiB),
        (100, 5 * MiB + 1, 5 * MiB + 1),  # kept as asked when it fits
        (100 * GiB, 5 * MiB, 11 * MiB),  # raised to a whole MiB
        (100 * GiB, 10 * MiB, 11 * MiB),
        (100 * GiB, 11 * MiB - 1, 11 * MiB - 1),  # already big enough: kept
        (1 * TiB, 5 * GiB, 5 * GiB),
        (MAX, 5 * MiB, 5 * GiB),
    ],
)
def test_requested_part_size_is_raised_only_when_needed(
    size: int, requested: int, plan: int
) -> None:
    assert plan_part_size(size, requested) == plan


@pytest.mark.parametrize("requested", [0, 1, 5 * MiB - 1, 5 * GiB + 1, -5 * MiB])
def test_unsupported_part_size_is_refused_naming_it(requested: int) -> None:
    with pytest.raises(LocalProtocolError, match=rf"part size {re.escape(str(requested))} "):
        plan_part_size(1024, requested)


@pytest.mark.parametrize("size", [MAX + 1, 60 * TiB])
def test_object_beyond_the_multipart_limit_is_refused(size: int) -> None:
    with pytest.raises(LocalProtocolError, match=f"object of {size} bytes exceeds"):
        plan_part_size(size)


def test_negative_size_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="size must be >= 0, got -1"):
        plan_part_size(-1)


def _sizes() -> list[int]:
    boundaries = [
        5 * MiB,
        8 * MiB,
        10_000 * 5 * MiB,
        10_000 * 8 * MiB,
        80 * GiB,
        100 * GiB,
        TiB,
        5 * TiB,
        10 * TiB,
        int(48.8 * TiB),
        MAX,
    ]
    sizes = {0, 1, 2}
    for boundary in boundaries:
        sizes.update(s for s in (boundary - 1, boundary, boundary + 1) if 0 <= s <= MAX)
    rng = random.Random(20240601)
    sizes.update(rng.randint(0, MAX) for _ in range(300))
    sizes.update(rng.randint(0, 100 * GiB) for _ in range(100))
    return sorted(sizes)


@pytest.mark.parametrize("requested", [None, 5 * MiB, 5 * MiB + 123, 64 * MiB, 5 * GiB])
def test_plan_invariants(requested: int | None) -> None:
    asked = requested or 8 * MiB
    for size in _sizes():
        plan = plan_part_size(size, requested)
        assert 5 * MiB <= plan <= 5 * GiB, size
        assert part_count(size, plan) <= 10_000, size
        if plan != asked:
            assert plan > asked, size
            assert plan % MiB == 0, size
            # Raised to the smallest whole MiB that fits: one MiB less would not.
            assert part_count(size, plan - MiB) > 10_000, size


def test_part_count() -> None:
    assert part_count(0, 5 * MiB) == 1
    assert part_count(5 * MiB, 5 * MiB) == 1
    assert part_count(5 * MiB + 1, 5 * MiB) == 2
    assert part_count(MAX, 5 * GiB) == 10_000


# --- small validators ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "low", "high"), [(0, 0, None), (5, 1, 5), (10**12, 1, None)])
def test_check_int_accepts(value: int, low: int, high: int | None) -> None:
    assert check_int(value, "n", low, high) == value


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (-1, 0, None, "max_keys must be an int >= 0, got -1"),
        (6, 1, 5, "max_keys must be an int from 1 to 5, got 6"),
        (True, 0, None, "max_keys must be an int >= 0, got True"),
        ("3", 0, None, "max_keys must be an int >= 0, got '3'"),
        (2.0, 0, None, "max_keys must be an int >= 0, got 2.0"),
    ],
)
def test_check_int_refuses(value: object, low: int, high: int | None, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(message)):
        check_int(value, "max_keys", low, high)


def test_check_text() -> None:
    assert check_text("x", "token") == "x"
    with pytest.raises(LocalProtocolError, match="token must be a non-empty string, got ''"):
        check_text("", "token")
    with pytest.raises(LocalProtocolError, match="token must be a non-empty string, got b'x'"):
        check_text(b"x", "token")


@pytest.mark.parametrize(
    ("size", "minimum", "requested", "plan"),
    [
        (10_000 * 4096, 0, 4096, 4096),  # exactly 10,000 parts of 4 KiB: taken as is
        (10_000 * 4096 + 1, 0, 4096, MiB),  # one byte more: raised (to whole MiB)
        (1000, 0, 1, 1),
        (5 * TiB, 0, None, 525 * MiB),
        (5 * TiB, MIN_PART_SIZE, 5 * MiB, 525 * MiB),
    ],
)
def test_a_lower_minimum_allows_small_parts(
    size: int, minimum: int, requested: int | None, plan: int
) -> None:
    planned = plan_part_size(size, requested, min_part_size=minimum)
    assert planned == plan
    assert part_count(size, planned) <= MAX_PARTS


@pytest.mark.parametrize(
    ("requested", "minimum"), [(0, 0), (4095, 4096), (MIN_PART_SIZE - 1, None)]
)
def test_a_part_under_the_minimum_is_refused_naming_it(requested: int, minimum: int | None) -> None:
    floor = MIN_PART_SIZE if minimum is None else minimum
    with pytest.raises(LocalProtocolError, match=f"part size {requested} is not supported"):
        plan_part_size(100 * MiB, requested, min_part_size=floor)
    with pytest.raises(LocalProtocolError, match=f"part size {requested} is not supported"):
        check_part_size(requested, floor)


def test_stream_parts_double_every_2000_and_stop_at_5_gib() -> None:
    assert [stream_part_size(8 * MiB, n) for n in (1, 2000, 2001, 4001, 10_000)] == [
        8 * MiB,
        8 * MiB,
        16 * MiB,
        32 * MiB,
        128 * MiB,
    ]
    assert stream_part_size(4 * GiB, 2001) == MAX_PART_SIZE
    assert stream_capacity(8 * MiB) == 2000 * (8 + 16 + 32 + 64 + 128) * MiB  # ~484 GiB
    assert stream_capacity(1, max_parts=9_999) == 62_000 - 16


def test_stream_base_sizes_parts_for_the_expected_size() -> None:
    capacity = stream_capacity(1)  # 62,000 bytes from 1-byte parts
    assert stream_base(None, None, MAX_PARTS, MIN_PART_SIZE) == 8 * MiB
    assert stream_base(None, 10 * GiB, MAX_PARTS, MIN_PART_SIZE) == 8 * MiB
    assert stream_base(None, 1000 * GiB, MAX_PARTS, MIN_PART_SIZE) == -(-1000 * GiB // capacity)
    assert stream_base(6 * MiB, 300 * GiB, MAX_PARTS, MIN_PART_SIZE) == 6 * MiB
    least = -(-5 * TiB // capacity)
    message = f"a stream of {5 * TiB:,} bytes needs more than 10,000 parts from part_size="
    with pytest.raises(LocalProtocolError, match=f"{message}{8 * MiB}: use part_size={least}"):
        stream_base(8 * MiB, 5 * TiB, MAX_PARTS, MIN_PART_SIZE)
    assert stream_capacity(least) >= 5 * TiB
