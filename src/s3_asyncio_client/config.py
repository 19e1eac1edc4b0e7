"""Settings: frozen, keyword-only dataclasses that check themselves.

Change one field of a default with ``dataclasses.replace(RetryConfig(), max_attempts=5)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .exceptions import S3InvalidRequestError

__all__ = ["PayloadSigning", "RetryConfig", "Timeouts"]

PayloadSigning = Literal["auto", "signed", "unsigned"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise S3InvalidRequestError(message)


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
    """Seconds to wait: ``connect`` for a connection, ``read`` between two reads
    of a reply (not for the whole reply: a large download may take as long as it
    needs while bytes keep coming). CompleteMultipartUpload may take minutes on AWS,
    but S3 sends whitespace meanwhile, so ``read`` still applies.

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
    the file, holding ``2 x max_concurrency x 1 MiB`` whatever the part size (each part
    is read twice: once for its checksum, then as it is sent, from the page cache); a
    stream of unknown length holds ``(max_concurrency + 1) x part_size`` of buffers
    (defaults: 9 x 8 MiB = 72 MiB); a download holds ``max_concurrency x 2 MiB``.

    ``part_size=None`` picks 8 MiB and raises it, for very large files, so that
    10,000 parts hold the file; an explicit size is raised the same way. With
    ``resume`` (the default), an interrupted upload of a file path keeps its parts
    and a small journal under ``journal_dir`` (default
    ``~/.cache/s3-asyncio-client/uploads``), and the same call later continues
    where it stopped. Until then the parts are stored, and billed: resume it, or
    clean up with ``S3Client.abort_stale_uploads``.

    ``fsync`` (default True): a download is synced to disk before it takes the
    target's name, so a power cut cannot leave a complete-looking file whose bytes
    never reached the disk; it costs about 0.45 s per GiB when the network outruns
    the disk (loopback), little when the disk keeps up. False for scratch files.
    """

    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int | None = None
    max_concurrency: int = 8
    resume: bool = True
    journal_dir: str | None = None
    fsync: bool = True

    def __post_init__(self) -> None:
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
            part is None or (_count(part) and 5 * 1024 * 1024 <= part <= 5 * 1024**3),
            f"part size {part!r} is not supported: it must be from 5 MiB to 5 GiB",
        )
        _require(
            _count(concurrency) and 1 <= concurrency <= 256,
            f"max_concurrency must be an int from 1 to 256, got {concurrency!r}",
        )
        for name in ("resume", "fsync"):
            value = getattr(self, name)
            _require(isinstance(value, bool), f"{name} must be True or False, got {value!r}")
