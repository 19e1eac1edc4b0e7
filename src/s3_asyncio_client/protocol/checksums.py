"""Checksums S3 understands, and the multipart ETag.

CRC32C comes from the ``crc32c`` package when installed, else from ``awscrt`` (a
dependency; both hardware accelerated), CRC64NVME from ``awscrt`` (the one botocore
uses), CRC32 from zlib. CRC64NVME also has a pure-Python fallback, about a thousand
times slower: it is used only where asked for (``slow_ok``, e.g. a server that must
verify what a client sent), never picked silently. Header values are base64 of the
big-endian digest, as S3 sends and expects them.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from importlib.util import find_spec
from typing import Literal, NamedTuple, cast

from .errors import LocalProtocolError
from .http import Body

__all__ = [
    "CRC_SIZES",
    "ChecksumAlgorithm",
    "RunningChecksum",
    "StoredCheck",
    "check_stored",
    "checksum_header",
    "content_md5",
    "crc64nvme_slow",
    "crc_function",
    "default_algorithm",
    "multipart_etag",
    "sha256_hex",
]

ChecksumAlgorithm = Literal["crc32c", "crc32", "crc64nvme", "sha256", "sha1"]

CRC_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8}  # digest bytes
_CRC64_MASK = (1 << 64) - 1
_CRC64NVME_POLYNOMIAL = 0x9A6C9329AC4BC9B5  # reflected


@lru_cache(maxsize=1)
def _crc32c() -> Callable[[Body, int], int] | None:
    """CRC32C, imported on first use (the ``crc32c`` package alone takes tens of ms to
    import, for ``importlib.metadata``): the crc32c package first, although awscrt's is
    faster (about 40 against 17 GiB/s on 1 MiB buffers here; both release the GIL):
    importing awscrt costs about 6 MiB of RSS and start-up time on every upload, for
    some 30 ms of CPU per GiB."""
    try:
        from crc32c import crc32c
    except ImportError:  # pragma: no cover - depends on the environment
        try:
            from awscrt.checksums import crc32c  # type: ignore[import-untyped,import-not-found,unused-ignore,no-redef]
        except ImportError:
            return None
    return cast(Callable[[Body, int], int], crc32c)


@lru_cache(maxsize=1)
def _crc64nvme() -> Callable[[Body, int], int] | None:
    """awscrt's CRC64NVME, imported on first use: awscrt is a large native library
    (tens of ms and several MB to load) that most transfers (CRC32C) never need."""
    try:
        from awscrt.checksums import crc64nvme as _awscrt_crc64nvme  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return cast(Callable[[Body, int], int], _awscrt_crc64nvme)


@lru_cache(maxsize=1)
def _crc64_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64NVME_POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def crc64nvme_slow(data: Body, previous: int = 0) -> int:
    """CRC64NVME in pure Python, a byte at a time: correct, but a few MB/s."""
    table = _crc64_table()
    crc = previous ^ _CRC64_MASK
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _CRC64_MASK


def crc_function(algorithm: str, *, slow_ok: bool = False) -> Callable[[Body, int], int] | None:
    """``crc(data, previous) -> crc`` for CRC32, CRC32C or CRC64NVME, or None where it
    is not fast here (CRC32C without ``crc32c``, CRC64NVME without ``awscrt``, unless
    ``slow_ok`` accepts the pure-Python CRC64NVME) or not a CRC."""
    if algorithm == "crc32":
        return zlib.crc32
    if algorithm == "crc32c":
        return _crc32c()
    if algorithm == "crc64nvme":
        return _crc64nvme() or (crc64nvme_slow if slow_ok else None)
    return None


def default_algorithm() -> ChecksumAlgorithm:
    """CRC32C when it is hardware-fast here, else CRC32. Looks for the modules without
    importing them, so that making a client costs no checksum library."""
    found = find_spec("crc32c") or find_spec("awscrt")
    return "crc32c" if found is not None else "crc32"


def _crc(function: Callable[[Body, int], int], size: int) -> Callable[[Body], bytes]:
    return lambda data: function(data, 0).to_bytes(size, "big")


_HASHES: dict[str, Callable[[Body], bytes]] = {
    "sha256": lambda data: hashlib.sha256(data).digest(),
    "sha1": lambda data: hashlib.sha1(data).digest(),
}


@cache
def _digest(algorithm: str) -> Callable[[Body], bytes] | None:
    """``data -> digest`` for ``algorithm``, or None where it is not available (fast)."""
    if (function := crc_function(algorithm)) is not None:
        return _crc(function, CRC_SIZES[algorithm])
    return _HASHES.get(algorithm)


class RunningChecksum:
    """A checksum fed piece by piece, for bodies too large to hold in memory."""

    def __init__(self, algorithm: ChecksumAlgorithm, *, slow_ok: bool = False) -> None:
        """``slow_ok`` accepts a pure-Python CRC (see ``crc_function``)."""
        self._hash: hashlib._Hash | None = None
        self._function = crc_function(algorithm, slow_ok=slow_ok)
        self._size = CRC_SIZES.get(algorithm, 0)
        if algorithm in ("sha256", "sha1"):
            self._hash = hashlib.new(algorithm)
        elif self._function is None:
            raise LocalProtocolError(
                f"checksum algorithm {algorithm!r} is not available", value=algorithm
            )
        self.algorithm = algorithm
        self._crc = 0

    def update(self, data: Body) -> None:
        if self._hash is not None:
            self._hash.update(data)
        elif self._function is not None:
            self._crc = self._function(data, self._crc)

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(self._size, "big")

    def value(self) -> str:
        """The header value: base64 of the digest."""
        return base64.b64encode(self.digest()).decode()


def checksum_header(algorithm: ChecksumAlgorithm, data: Body) -> tuple[str, str]:
    """``(header name, value)`` of ``data``'s checksum, e.g. ``x-amz-checksum-crc32c``."""
    digest = _digest(algorithm)
    if digest is None:
        raise LocalProtocolError(
            f"checksum algorithm {algorithm!r} is not available", value=algorithm
        )
    return f"x-amz-checksum-{algorithm}", base64.b64encode(digest(data)).decode()


def content_md5(data: Body) -> str:
    """The Content-MD5 header value of ``data``."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def sha256_hex(data: Body) -> str:
    return hashlib.sha256(data).hexdigest()


def multipart_etag(part_etags: Iterable[str]) -> str | None:
    """S3's ETag of a multipart object (md5 of the part md5s, ``-N``), quoted.

    ``None`` when a part ETag is not a plain MD5 (SSE-KMS, some servers).
    """
    digests = []
    for etag in part_etags:
        hex_digest = etag.strip('"')
        if len(hex_digest) != 32:
            return None
        try:
            digests.append(bytes.fromhex(hex_digest))
        except ValueError:
            return None
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


class StoredCheck(NamedTuple):
    """What a reply says about the bytes the server stored (see ``check_stored``)."""

    problem: str | None  # a mismatch the checksum headers already show
    echoed: bool  # the server echoed our x-amz-checksum-* header
    sent: bool  # we sent one (so a server that did not echo it ignored it)
    etag: str | None  # a plain-MD5 ETag still to compare with the MD5 of the bytes sent


def check_stored(sent_headers: dict[str, str], reply_headers: dict[str, str]) -> StoredCheck:
    """Compare what we sent with what the server says it stored.

    A server that echoes our ``x-amz-checksum-*`` header verified it; one that does not
    ignored it, and then its ETag, when it is a plain MD5 and we sent no Content-MD5
    (which every server verifies), is left for the caller to compare with the data.
    """
    sent = {k: v for k, v in sent_headers.items() if k.startswith("x-amz-checksum-")}
    sent.pop("x-amz-checksum-algorithm", None)
    echoed = False
    for name, value in sent.items():
        if name in reply_headers:
            echoed = True
            if reply_headers[name] != value:
                problem = f"server stored {name} {reply_headers[name]}, we sent {value}"
                return StoredCheck(problem, True, True, None)
    if echoed or not sent or "content-md5" in sent_headers:
        return StoredCheck(None, echoed, bool(sent), None)
    etag = reply_headers.get("etag", "").strip('"')
    return StoredCheck(None, False, True, etag if len(etag) == 32 else None)
