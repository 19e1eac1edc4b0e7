"""RetryConfig and Timeouts: frozen, keyword-only, self-validating."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from s3_asyncio_client.config import RetryConfig, Timeouts, TransferConfig
from s3_asyncio_client.exceptions import S3InvalidRequestError


def test_retry_defaults() -> None:
    config = RetryConfig()
    assert (
        config.max_attempts,
        config.base_delay,
        config.throttle_delay,
        config.max_delay,
        config.budget,
    ) == (3, 0.1, 1.0, 20.0, 500)


def test_timeout_defaults() -> None:
    assert (Timeouts().connect, Timeouts().read) == (10.0, 60.0)


@pytest.mark.parametrize(
    ("instance", "field"),
    [(RetryConfig(), "max_attempts"), (RetryConfig(), "budget"), (Timeouts(), "read")],
)
def test_frozen(instance: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, field, 1)


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        RetryConfig(5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Timeouts(1.0, 2.0)  # type: ignore[misc]


def test_valid_values_are_kept() -> None:
    config = RetryConfig(max_attempts=1, base_delay=0, throttle_delay=0, max_delay=0, budget=0)
    assert dataclasses.astuple(config) == (1, 0, 0, 0, 0)
    assert dataclasses.astuple(Timeouts(connect=0.5, read=math.inf)) == (0.5, math.inf)


def test_replace_validates_too() -> None:
    assert dataclasses.replace(RetryConfig(), max_attempts=5).max_attempts == 5
    with pytest.raises(S3InvalidRequestError, match="max_attempts must be an int >= 1, got 0"):
        dataclasses.replace(RetryConfig(), max_attempts=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be an int >= 1, got 0"),
        ({"max_attempts": -3}, "max_attempts must be an int >= 1, got -3"),
        ({"base_delay": -0.1}, "base_delay must be a number >= 0, got -0.1"),
        ({"throttle_delay": -1}, "throttle_delay must be a number >= 0, got -1"),
        ({"max_delay": -20.0}, "max_delay must be a number >= 0, got -20.0"),
        ({"max_delay": math.nan}, "max_delay must be a number >= 0, got nan"),
        ({"budget": -1}, "budget must be an int >= 0, got -1"),
    ],
)
def test_bad_retry_values_are_refused_naming_them(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(S3InvalidRequestError, match=re.escape(message)):
        RetryConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connect": 0}, "connect timeout must be > 0, got 0"),
        ({"connect": -1.5}, "connect timeout must be > 0, got -1.5"),
        ({"read": 0.0}, "read timeout must be > 0, got 0.0"),
        ({"read": math.nan}, "read timeout must be > 0, got nan"),
    ],
)
def test_bad_timeouts_are_refused_naming_them(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(S3InvalidRequestError, match=re.escape(message)):
        Timeouts(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": "3"},
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"budget": 1.5},
        {"base_delay": None},
    ],
    ids=["str-attempts", "float-attempts", "bool-attempts", "float-budget", "none-delay"],
)
def test_wrongly_typed_retry_values_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(S3InvalidRequestError, match=next(iter(kwargs))):
        RetryConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"connect": "10"}, {"read": None}], ids=["str", "none"])
def test_wrongly_typed_timeouts_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(S3InvalidRequestError, match=next(iter(kwargs))):
        Timeouts(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fsync": 1}, "fsync must be True or False, got 1"),
        ({"resume": "yes"}, "resume must be True or False, got 'yes'"),
    ],
)
def test_transfer_switches_must_be_booleans(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(S3InvalidRequestError, match=re.escape(message)):
        TransferConfig(**kwargs)  # type: ignore[arg-type]
