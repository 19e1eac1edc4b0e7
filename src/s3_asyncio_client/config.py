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
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            _require(_number(value) and value > 0, f"{name} timeout must be > 0, got {value!r}")
