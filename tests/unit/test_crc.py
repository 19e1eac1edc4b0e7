"""CRC arithmetic for verified downloads: combining, reading S3's checksum headers,
and matching ranges against whole-object and composite checksums."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from crc32c import crc32c

from s3_asyncio_client.protocol.checksums import (
    RunningChecksum,
    checksum_header,
    crc64nvme_slow,
    crc_function,
)
from s3_asyncio_client.protocol.crc import (
    ObjectChecksum,
    combine,
    composite_value,
    encode_crc,
    object_checksum,
    verify_parts,
)

CRCS = {"crc32c": crc32c, "crc32": zlib.crc32, "crc64nvme": crc64nvme_slow}

# The catalogue check values: each CRC of b"123456789".
CHECK_VALUES = {"crc32": 0xCBF43926, "crc32c": 0xE3069283, "crc64nvme": 0xAE8B14860A799888}


def encoded(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


@pytest.mark.parametrize("algorithm", sorted(CHECK_VALUES))
def test_check_values(algorithm: str) -> None:
    crc = crc_function(algorithm, slow_ok=True)
    assert crc is not None
    assert crc(b"123456789", 0) == CHECK_VALUES[algorithm]
    assert crc(b"56789", crc(b"1234", 0)) == CHECK_VALUES[algorithm]
    assert crc(b"", 0) == 0


def test_crc64nvme_header_value_is_base64_of_8_big_endian_bytes() -> None:
    running = RunningChecksum("crc64nvme", slow_ok=True)
    running.update(b"1234")
    running.update(memoryview(b"56789"))
    assert running.digest() == bytes.fromhex("ae8b14860a799888")
    assert running.value() == "rosUhgp5mIg=" == encode_crc("crc64nvme", CHECK_VALUES["crc64nvme"])


def test_crc64nvme_fast_implementation_agrees_with_the_fallback() -> None:
    fast = crc_function("crc64nvme")
    if fast is None:
        pytest.skip("awscrt is not installed: only the fallback exists")
    rng = random.Random(3)
    for length in (0, 1, 7, 8, 9, 255, 4096, 100_003):
        data = rng.randbytes(length)
        assert fast(data, 0) == crc64nvme_slow(data)
        assert fast(data, 12345) == crc64nvme_slow(data, 12345)
    assert checksum_header("crc64nvme", b"123456789") == (
        "x-amz-checksum-crc64nvme",
        "rosUhgp5mIg=",
    )


def test_crc64nvme_fallback_is_not_offered_as_fast() -> None:
    fast = crc_function("crc64nvme")
    assert fast is None or fast is not crc64nvme_slow
    assert crc_function("crc64nvme", slow_ok=True) is not None


def test_composite_value_is_the_checksum_of_the_part_digests() -> None:
    parts = [b"a" * 10, b"b" * 20, b"c"]
    digests = [crc32c(part, 0).to_bytes(4, "big") for part in parts]
    expected = encode_crc("crc32c", crc32c(b"".join(digests), 0))
    assert composite_value("crc32c", digests) == f"{expected}-3"
    sha = [hashlib.sha256(part).digest() for part in parts]
    whole = base64.b64encode(hashlib.sha256(b"".join(sha)).digest()).decode()
    assert composite_value("sha256", sha) == f"{whole}-3"


@pytest.mark.parametrize("algorithm", sorted(CHECK_VALUES))
def test_combine_equals_the_crc_of_the_joined_bytes(algorithm: str) -> None:
    crc, rng = CRCS[algorithm], random.Random(7)
    for first_length, second_length in [(0, 0), (0, 5), (5, 0), (1, 1), (4096, 1 << 20)]:
        first, second = rng.randbytes(first_length), rng.randbytes(second_length)
        joined = combine(algorithm, crc(first, 0), crc(second, 0), len(second))
        assert joined == crc(first + second, 0)
    for _ in range(200):
        first, second = rng.randbytes(rng.randrange(3000)), rng.randbytes(rng.randrange(3000))
        assert combine(algorithm, crc(first, 0), crc(second, 0), len(second)) == crc(
            first + second, 0
        )


def test_object_checksum_reads_the_suffix_type_and_etag() -> None:
    composite = object_checksum({"crc32c": "abc=-3"}, None, '"e-3"', None)
    assert composite == ObjectChecksum("crc32c", "abc=", 3, None)
    assert str(composite) == "crc32c abc=-3"
    whole = object_checksum({"crc32c": "abc="}, None, '"0123"', None)
    assert whole == ObjectChecksum("crc32c", "abc=", None, None)
    full = object_checksum({"crc32c": "abc="}, "FULL_OBJECT", '"e-3"', 3)
    assert full == ObjectChecksum("crc32c", "abc=", None, None)
    # A multipart ETag without the suffix on the value: either reading may hold.
    ambiguous = object_checksum({"crc32c": "abc="}, None, '"e-4"', None)
    assert ambiguous == ObjectChecksum("crc32c", "abc=", None, 4)
    # COMPOSITE without the suffix: the count from the parts header, else nothing to check.
    assert object_checksum({"crc32c": "abc="}, "COMPOSITE", '"e"', 2) == ObjectChecksum(
        "crc32c", "abc=", 2, None
    )
    assert object_checksum({"crc32c": "abc="}, "COMPOSITE", '"e"', None) is None
    # CRC32C preferred; algorithms that cannot be combined are not checked.
    both = object_checksum({"crc32": "x=", "crc32c": "y="}, None, '"e"', None)
    assert both is not None
    assert both.algorithm == "crc32c"
    assert object_checksum({"md5": "x"}, None, '"e"', None) is None
    assert object_checksum({}, None, '"e"', None) is None
    assert object_checksum({"crc32c": "abc=-x"}, None, '"e"', None) is None


def test_verify_parts_whole_composite_and_ambiguous() -> None:
    rng = random.Random(3)
    parts = [rng.randbytes(5000), rng.randbytes(5000), rng.randbytes(123)]
    # Each part fetched as ranges of at most 2,000 bytes.
    ranges = [
        [(crc32c(p[i : i + 2000], 0), len(p[i : i + 2000])) for i in range(0, len(p), 2000)]
        for p in parts
    ]
    whole = encoded(crc32c(b"".join(parts), 0))
    composite = encoded(crc32c(b"".join(crc32c(p, 0).to_bytes(4, "big") for p in parts), 0))
    assert verify_parts(ObjectChecksum("crc32c", whole, None, None), ranges) is None
    assert verify_parts(ObjectChecksum("crc32c", composite, 3, None), ranges) is None
    assert verify_parts(ObjectChecksum("crc32c", composite, None, 3), ranges) is None
    assert verify_parts(ObjectChecksum("crc32c", whole, None, 3), ranges) is None
    # A composite is not a whole-object CRC, and a damaged byte matches neither.
    assert verify_parts(ObjectChecksum("crc32c", composite, None, None), ranges) is not None
    damaged = [list(r) for r in ranges]
    damaged[1][0] = (damaged[1][0][0] ^ 1, damaged[1][0][1])
    message = verify_parts(ObjectChecksum("crc32c", composite, 3, None), damaged)
    assert message is not None
    assert message.endswith("-3")
    assert message.startswith("crc32c ")


def test_empty_object_checksum() -> None:
    assert verify_parts(ObjectChecksum("crc32c", "AAAAAA==", None, None), [[]]) is None


# Fixed vectors: three parts (1,000 + 1,000 + 500 bytes) of a fixed pattern, their
# values computed once with awscrt and hashlib over the whole bytes / the parts'
# digests, as S3 states them; our combine and composite math must keep giving them.
VECTOR_DATA = bytes((i * 7 + 3) % 251 for i in range(2500))
VECTOR_PARTS = (VECTOR_DATA[:1000], VECTOR_DATA[1000:2000], VECTOR_DATA[2000:])


@pytest.mark.parametrize(
    ("algorithm", "expected"), [("crc64nvme", "xved2E6YdFo="), ("crc32c", "Y7+Npw==")]
)
def test_full_object_vectors(algorithm: str, expected: str) -> None:
    crc = crc_function(algorithm)
    assert crc is not None
    combined = 0
    for part in VECTOR_PARTS:
        combined = combine(algorithm, combined, crc(part, 0), len(part))
    assert encode_crc(algorithm, combined) == expected


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [("crc32c", "QLCh2g==-3"), ("sha256", "F7VNffjYGes9/9SGJJ8hQkTRsAQtwwDxf83PlmlZ04k=-3")],
)
def test_composite_vectors(algorithm: str, expected: str) -> None:
    digests = []
    for part in VECTOR_PARTS:
        running = RunningChecksum(algorithm)
        running.update(part)
        digests.append(base64.b64decode(running.value()))
    assert composite_value(algorithm, digests) == expected
