"""CRC arithmetic for verifying downloads against the checksum S3 keeps.

Rules:
1. S3 reports an object's checksum on HEAD with ``x-amz-checksum-mode: ENABLED``:
   ``VALUE`` for a single PUT or a multipart upload of type FULL_OBJECT (the CRC of
   every byte), ``VALUE-N`` for a multipart upload of type COMPOSITE (the CRC of
   the N parts' 4-byte big-endian CRCs, in part order).
2. A download computes the CRC of each range it fetches; ranges never cross a part
   boundary, so ``combine`` yields both the CRC of each part and of the whole object
   without reading anything twice.
3. CRC64NVME, CRC32C and CRC32 are combined from the ranges' CRCs (preferred in
   that order; one whose fast implementation is missing here is skipped). SHA256 and
   SHA1, kept only when no CRC is, cannot be combined: each part is hashed whole
   (``verify_digests``). A composite whose part sizes are unknown is not verified
   (never reported as a mismatch).
4. A value without ``-N`` on an object whose ETag says multipart is ambiguous (some
   servers leave the suffix out): it matches if either reading matches.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from .checksums import CRC_SIZES, crc_function

__all__ = [
    "ObjectChecksum",
    "RangeCrc",
    "checksum_type",
    "combine",
    "composite_value",
    "encode_crc",
    "object_checksum",
    "verify_digests",
    "verify_parts",
]

# Reflected generator polynomials, and their widths in bits.
_POLYNOMIALS = {
    "crc32": (0xEDB88320, 32),
    "crc32c": (0x82F63B78, 32),
    "crc64nvme": (0x9A6C9329AC4BC9B5, 64),
}
_PREFERENCE = ("crc64nvme", "crc32c", "crc32", "sha256", "sha1")
_HASHES = ("sha256", "sha1")  # checkable everywhere (hashlib), but part by part only

RangeCrc = tuple[int, int]  # (CRC of a range, its length)


class ObjectChecksum(NamedTuple):
    """The checksum S3 reports for an object (rule 1)."""

    algorithm: str
    value: str  # base64 of the big-endian digest, without the "-N" suffix
    parts: int | None  # N of a composite checksum, else None
    ambiguous_parts: int | None  # N from the ETag when the value has no suffix (rule 4)

    def __str__(self) -> str:
        """As S3 shows it: ``crc32c AAAAAA==-3``."""
        return f"{self.algorithm} {self.value}{f'-{self.parts}' if self.parts else ''}"


def object_checksum(
    checksums: dict[str, str], checksum_type: str | None, etag: str, parts_count: int | None
) -> ObjectChecksum | None:
    """What to verify a download against, from a HEAD reply (rules 1, 3, 4)."""
    kind = (checksum_type or "").upper()
    _, dash, tail = etag.strip('"').rpartition("-")
    known_parts = parts_count or (int(tail) if dash and tail.isdigit() else None)
    for algorithm in _PREFERENCE:
        raw = checksums.get(algorithm)
        if raw is None or (algorithm not in _HASHES and crc_function(algorithm) is None):
            continue
        value, dash, count = raw.partition("-")
        if dash:
            return ObjectChecksum(algorithm, value, int(count), None) if count.isdigit() else None
        if kind == "FULL_OBJECT":
            return ObjectChecksum(algorithm, value, None, None)
        if kind == "COMPOSITE":  # the suffix left out: the count must come from elsewhere
            return ObjectChecksum(algorithm, value, known_parts, None) if known_parts else None
        return ObjectChecksum(algorithm, value, None, known_parts)
    return None


@lru_cache(maxsize=64)
def _powers(polynomial: int, width: int) -> tuple[int, ...]:
    """x^(2^k) mod p for k = 0..63, reflected."""
    table, power = [], 1 << (width - 2)  # x^1
    for _ in range(64):
        table.append(power)
        power = _multiply(power, power, polynomial, width)
    return tuple(table)


def _multiply(a: int, b: int, polynomial: int, width: int) -> int:
    """a * b modulo the polynomial, in reflected bit order."""
    product, bit = 0, 1 << (width - 1)
    while a:
        if a & bit:
            product ^= b
            a ^= bit
        bit >>= 1
        b = (b >> 1) ^ polynomial if b & 1 else b >> 1
    return product


@lru_cache(maxsize=256)
def _shift(length: int, polynomial: int, width: int) -> int:
    """x^(8 * length) mod p: appending ``length`` zero bytes to a CRC's message."""
    powers, result, k = _powers(polynomial, width), 1 << (width - 1), 3  # x^0
    while length:
        if length & 1:
            result = _multiply(powers[k & 63], result, polynomial, width)
        length >>= 1
        k += 1
    return result


def combine(algorithm: str, first: int, second: int, second_length: int) -> int:
    """The CRC of A+B from CRC(A), CRC(B) and len(B), for CRC32, CRC32C, CRC64NVME."""
    polynomial, width = _POLYNOMIALS[algorithm]
    shifted = _multiply(_shift(second_length, polynomial, width), first, polynomial, width)
    return shifted ^ second


def encode_crc(algorithm: str, crc: int) -> str:
    """The header value of a CRC: base64 of its big-endian bytes."""
    return base64.b64encode(crc.to_bytes(CRC_SIZES[algorithm], "big")).decode()


def checksum_type(value: str) -> str:
    """COMPOSITE (a checksum of the parts' checksums, ``...-N``) or FULL_OBJECT."""
    return "COMPOSITE" if "-" in value else "FULL_OBJECT"


def composite_value(algorithm: str, part_digests: Sequence[bytes]) -> str:
    """S3's composite checksum: the algorithm over the parts' digests, ``-N``."""
    if algorithm in ("sha1", "sha256"):
        digest = hashlib.new(algorithm, b"".join(part_digests)).digest()
        return f"{base64.b64encode(digest).decode()}-{len(part_digests)}"
    crc = crc_function(algorithm, slow_ok=True)
    if crc is None:
        raise ValueError(f"no composite checksum for {algorithm!r}")
    return f"{encode_crc(algorithm, crc(b''.join(part_digests), 0))}-{len(part_digests)}"


def _combined(algorithm: str, ranges: Sequence[RangeCrc]) -> int:
    total = 0
    for crc, length in ranges:
        total = combine(algorithm, total, crc, length)
    return total


def verify_parts(expected: ObjectChecksum, parts: Sequence[Sequence[RangeCrc]]) -> str | None:
    """None if the ranges' CRCs, grouped by part in order, give ``expected``; else
    what was computed (rules 1, 4)."""
    algorithm, size = expected.algorithm, CRC_SIZES[expected.algorithm]
    part_crcs = [_combined(algorithm, ranges) for ranges in parts]
    whole = _combined(algorithm, [r for ranges in parts for r in ranges])
    composite = composite_value(algorithm, [c.to_bytes(size, "big") for c in part_crcs])
    candidates = []
    if expected.parts is None:
        candidates.append(encode_crc(algorithm, whole))
    if expected.parts is not None or expected.ambiguous_parts == len(parts):
        candidates.append(composite.rpartition("-")[0])
    return _mismatch(expected, candidates)


def verify_digests(expected: ObjectChecksum, parts: Sequence[bytes]) -> str | None:
    """None if the SHA digests of the parts, in order, give ``expected``; else what
    was computed. One part is the whole object; S3 keeps a SHA of a multipart
    object only as a composite (the hash of the parts' digests)."""
    composite = hashlib.new(expected.algorithm, b"".join(parts)).digest()
    candidates = []
    if expected.parts is None and len(parts) == 1:
        candidates.append(base64.b64encode(parts[0]).decode())
    if expected.parts is not None or expected.ambiguous_parts == len(parts):
        candidates.append(base64.b64encode(composite).decode())
    return _mismatch(expected, candidates)


def _mismatch(expected: ObjectChecksum, candidates: list[str]) -> str | None:
    if expected.value in candidates:
        return None
    return " or ".join(str(expected._replace(value=value)) for value in candidates)
