"""Settings: frozen, keyword-only dataclasses that check themselves.

Change one field of a default with ``dataclasses.replace(RetryConfig(), max_attempts=5)``.
``ConnectionConfig`` is shared by both facades: ``S3Client(connection=...)`` and
``Client(connection=...)`` take the same object, and the same keyword arguments.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack, cast, get_args

from .exceptions import S3InvalidRequestError
from .protocol.addressing import Addressing
from .protocol.checksums import ChecksumAlgorithm

__all__ = [
    "Checksum",
    "ChecksumType",
    "ConnectionConfig",
    "ConnectionOptions",
    "Flavor",
    "PayloadSigning",
    "RetryConfig",
    "Timeouts",
    "TransferConfig",
]

PayloadSigning = Literal["auto", "signed", "unsigned"]
Flavor = Literal["auto", "s3", "aistore"]
Checksum = ChecksumAlgorithm | Literal["auto"] | None
ChecksumType = Literal["COMPOSITE", "FULL_OBJECT"]
# What S3 allows: a CRC64NVME multipart upload is full-object only, a SHA one
# composite only; CRC32 and CRC32C either.
_TYPES: dict[str, tuple[str, ...]] = {
    "crc64nvme": ("FULL_OBJECT",),
    "crc32": ("COMPOSITE", "FULL_OBJECT"),
    "crc32c": ("COMPOSITE", "FULL_OBJECT"),
    "sha1": ("COMPOSITE",),
    "sha256": ("COMPOSITE",),
}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise S3InvalidRequestError(message)


def choose_checksum(
    default: ChecksumAlgorithm | None, checksum: object, kind: object = None
) -> ChecksumAlgorithm | None:
    """The algorithm of a call: ``checksum``, or ``default`` (the client's) for
    "auto"; checked, with the multipart checksum type ``kind``."""
    algorithms = get_args(ChecksumAlgorithm)
    _require(
        checksum is None or checksum == "auto" or checksum in algorithms,
        f"checksum must be 'auto', None or one of {', '.join(algorithms)}, got {checksum!r}",
    )
    algorithm = default if checksum == "auto" else cast(ChecksumAlgorithm | None, checksum)
    check_checksum_type(algorithm, kind)
    return algorithm


def check_checksum_type(algorithm: str | None, kind: object) -> None:
    """Raise S3InvalidRequestError unless ``kind`` (None: the store's default for
    the algorithm) is a multipart checksum type S3 allows with ``algorithm``."""
    if kind is None:
        return
    allowed = _TYPES.get(algorithm or "", ())
    _require(
        kind in allowed,
        f"checksum_type {kind!r} is not possible with checksum {algorithm!r}"
        + (f": use {' or '.join(map(repr, allowed))}" if allowed else ""),
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryConfig:
    """How transient failures are retried.

    Defaults follow the AWS SDKs' standard mode: 3 attempts in all (1 = no retry);
    full-jitter exponential backoff, ``random() * min(base * 2**(n-1), max_delay)``,
    with ``base_delay`` 0.1 s, or ``throttle_delay`` 1 s after SlowDown/429, capped at
    20 s; a retry budget of 500 tokens per client (a retry costs 5, a timeout or
    broken connection 10; a success refunds) stops retry storms against a server
    that is down.
    """

    max_attempts: int = 3
    base_delay: float = 0.1
    throttle_delay: float = 1.0
    max_delay: float = 20.0
    budget: int = 500

    def __post_init__(self) -> None:
        attempts, budget = self.max_attempts, self.budget
        _require(
            _count(attempts) and attempts >= 1,
            f"max_attempts must be an int >= 1, got {attempts!r}",
        )
        for name in ("base_delay", "throttle_delay", "max_delay"):
            value = getattr(self, name)
            _require(_number(value) and value >= 0, f"{name} must be a number >= 0, got {value!r}")
        _require(_count(budget) and budget >= 0, f"budget must be an int >= 0, got {budget!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeouts:
    """Seconds to wait: ``connect`` for a connection; ``read`` is the stall timeout,
    how long one attempt may go without a byte moving either way: between two reads
    of the reply, from the end of the request body to the reply, and while the body
    cannot go out (a server that stopped reading it; a byte counts once the peer
    acknowledged it, so a slow link that keeps moving bytes never trips it). Not for
    the whole transfer: a large one takes as long as it needs while bytes move. A
    stalled attempt fails as S3TimeoutError ("no byte of the reply came for 60 s",
    "no byte of the request body went out ...") and is retried like any timeout; a
    download goes on from its first missing byte. CompleteMultipartUpload may take
    minutes on AWS, but S3 sends whitespace meanwhile, so ``read`` still applies.

    Waiting for a free connection, when all of a client's ``max_connections`` are in
    use, is not timed: requests get connections first come, first served.
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            _require(_number(value) and value > 0, f"{name} timeout must be > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferConfig:
    """How ``upload_file`` and ``download_file`` move bytes.

    Memory: a file upload (a path or a seekable file object) streams each part from
    the file, holding ``2 x max_concurrency x 128 KiB`` whatever the part size (each part
    is read twice: once for its checksum, then as it is sent, from the page cache); a
    stream of unknown length holds ``(max_concurrency + 1) x part_size`` of buffers
    (defaults: 9 x 8 MiB = 72 MiB); a download holds ``max_concurrency x 2 MiB``.

    ``part_size=None`` picks 8 MiB and raises it, for very large files, so that
    10,000 parts hold the file; an explicit size is raised the same way. It must be
    at least the endpoint's smallest part, ``S3Client(min_part_size=...)`` (5 MiB, as
    S3; lower it for servers that take smaller parts). A stream of unknown length
    doubles its part size every 2,000 parts (8 MiB parts hold up to about 484 GiB);
    its ``expected_size``, if known (as aws-cli's ``--expected-size``), sizes its parts
    up front, and a ``part_size`` too small for it is refused before a byte is sent. With
    ``resume`` (the default), an interrupted upload of a file path keeps its parts
    and a small journal under ``journal_dir`` (default
    ``~/.cache/s3-asyncio-client/uploads``), and the same call later continues
    where it stopped. Until then the parts are stored, and billed: resume it, or
    clean up with ``S3Client.abort_stale_uploads``. Likewise a download to a file
    path of more than ``multipart_threshold`` bytes keeps, when interrupted, its
    partial file beside the target (``.NAME.ID.s3aio-part``) and a journal of the
    ranges written and verified (default ``~/.cache/s3-asyncio-client/downloads``);
    the same call fetches only the others (``skipped_bytes``), or starts over if the
    object changed (``restarted``). ``resume=False``: a failed download leaves nothing.

    ``fsync`` (default True): a download is synced to disk before it takes the
    target's name, so a power cut cannot leave a complete-looking file whose bytes
    never reached the disk; it costs about 0.45 s per GiB when the network outruns
    the disk (loopback), little when the disk keeps up. False for scratch files.

    ``require_checksum`` (default False): a download of an object for which the
    server keeps no checksum the client can check (none at all, or a composite whose
    part sizes the server will not tell) fails with S3IntegrityError, before the
    target appears, instead of succeeding unverified.
    """

    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int | None = None
    max_concurrency: int = 8
    resume: bool = True
    journal_dir: str | None = None
    fsync: bool = True
    require_checksum: bool = False
    expected_size: int | None = None

    def __post_init__(self) -> None:
        _require(
            self.expected_size is None or (_count(self.expected_size) and self.expected_size >= 0),
            f"expected_size must be an int >= 0 or None, got {self.expected_size!r}",
        )
        threshold, part, concurrency = (
            self.multipart_threshold,
            self.part_size,
            self.max_concurrency,
        )
        _require(
            _count(threshold) and threshold >= 0,
            f"multipart_threshold must be an int >= 0, got {threshold!r}",
        )
        _require(
            part is None or (_count(part) and 1 <= part <= 5 * 1024**3),
            f"part size {part!r} is not supported: it must be from 1 byte to 5 GiB "
            "(and at least the endpoint's minimum, S3Client(min_part_size=...), 5 MiB by default)",
        )
        _require(
            _count(concurrency) and 1 <= concurrency <= 256,
            f"max_concurrency must be an int from 1 to 256, got {concurrency!r}",
        )
        for name in ("resume", "fsync", "require_checksum"):
            value = getattr(self, name)
            _require(isinstance(value, bool), f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionConfig:
    """How a client reaches its endpoint: one object for ``S3Client`` and ``Client``.

    ``None`` for ``endpoint_url``, ``region``, the keys and ``profile`` means "from
    the environment and ``~/.aws``" (see ``s3_asyncio_client.credentials``), read
    when a client is made. ``addressing``: "auto" (virtual-hosted on AWS, path-style
    elsewhere), "path" or "virtual". ``max_connections`` (32) caps the pooled
    connections of one client; each holds a socket and its buffers. ``payload_signing``:
    "auto" signs bodies only over plain HTTP to a remote host, "signed" always (the
    body is hashed once more), "unsigned" never. ``checksum``: "auto" (CRC32C when
    the ``crc32c`` package is installed, else CRC32), an algorithm, or None; sent with
    every upload and verified by the server. ``checksum_type``: "COMPOSITE" or
    "FULL_OBJECT" for multipart uploads, or None for the store's default (full-object
    for CRC64NVME, composite for the others); S3 keeps CRC64NVME full-object only,
    SHA1/SHA256 composite only. ``flavor``: "aistore" applies the limits of
    AIStore's S3 endpoint (see ``client.capabilities``), "s3" never does, "auto" (the
    default) does when the endpoint URL's path ends in ``/s3`` or a reply says
    ``Server: AIStore``. The secret key and session token are left out of ``repr``.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    session_token: str | None = dataclasses.field(default=None, repr=False)
    profile: str | None = None
    addressing: Addressing = "auto"
    retry: RetryConfig = RetryConfig()
    timeouts: Timeouts = Timeouts()
    max_connections: int = 32
    payload_signing: PayloadSigning = "auto"
    checksum: Checksum = "auto"
    checksum_type: ChecksumType | None = None
    flavor: Flavor = "auto"

    def __post_init__(self) -> None:
        for name in (
            "endpoint_url",
            "region",
            "access_key",
            "secret_key",
            "session_token",
            "profile",
        ):
            value = getattr(self, name)
            secret = name in ("secret_key", "session_token")  # named by type, never shown
            shown = type(value).__name__ if secret else repr(value)
            _require(value is None or isinstance(value, str), f"{name} must be a str, got {shown}")
        connections = self.max_connections
        _require(
            _count(connections) and connections >= 1,
            f"max_connections must be an int >= 1, got {connections!r}",
        )
        _require(
            isinstance(self.retry, RetryConfig), f"retry must be a RetryConfig, got {self.retry!r}"
        )
        _require(
            isinstance(self.timeouts, Timeouts),
            f"timeouts must be a Timeouts, got {self.timeouts!r}",
        )
        _require(
            self.payload_signing in get_args(PayloadSigning),
            f"payload_signing must be 'auto', 'signed' or 'unsigned', got {self.payload_signing!r}",
        )
        choose_checksum("crc32", self.checksum, self.checksum_type)
        _require(
            self.flavor in get_args(Flavor),
            f"flavor must be 'auto', 's3' or 'aistore', got {self.flavor!r}",
        )

    def with_options(self, **options: Unpack[ConnectionOptions]) -> ConnectionConfig:
        """This config with the fields named in ``options`` changed; a ``retry`` or
        ``timeouts`` of None keeps this config's."""
        given = {
            name: value
            for name, value in options.items()
            if value is not None or name not in ("retry", "timeouts")
        }
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]


class ConnectionOptions(TypedDict, total=False):
    """``ConnectionConfig``'s fields as keyword arguments of ``S3Client`` and
    ``Client``: each overrides the same field of the ``connection`` given."""

    endpoint_url: str | None
    region: str | None
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    profile: str | None
    addressing: Addressing
    retry: RetryConfig | None
    timeouts: Timeouts | None
    max_connections: int
    payload_signing: PayloadSigning
    checksum: Checksum
    checksum_type: ChecksumType | None
    flavor: Flavor
