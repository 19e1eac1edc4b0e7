"""ConnectionConfig: one settings object, one set of defaults, for both facades."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3_asyncio_client import (
    Client,
    ConnectionConfig,
    ConnectionOptions,
    RetryConfig,
    S3Client,
    S3InvalidRequestError,
    Timeouts,
)

FIELDS = {field.name for field in dataclasses.fields(ConnectionConfig)}
LOCAL = "http://127.0.0.1:9"  # nothing is sent in these tests


@pytest.fixture(autouse=True)
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing from the machine's own AWS setup may steer the clients."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sync_client() -> Iterator[type[Client]]:
    """``Client``, each one made in the test closed afterwards."""
    made: list[Client] = []

    class Closing(Client):
        def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    yield Closing
    for client in made:
        client.close()


async def async_settings(s3: S3Client) -> ConnectionConfig:
    return s3.connection


def settings_inside(client: Client) -> ConnectionConfig:
    """The settings of the async client a sync Client runs."""
    return client._runner.call(async_settings)


def test_defaults() -> None:
    assert ConnectionConfig() == ConnectionConfig(
        endpoint_url=None,
        region=None,
        access_key=None,
        secret_key=None,
        session_token=None,
        profile=None,
        addressing="auto",
        retry=RetryConfig(),
        timeouts=Timeouts(),
        max_connections=32,
        payload_signing="auto",
        checksum="auto",
    )


def test_both_facades_share_one_set_of_defaults(sync_client: type[Client]) -> None:
    """Neither constructor spells a connection setting itself, so neither can give it
    a default of its own; left out, every setting is ConnectionConfig's."""
    for facade in (S3Client, Client):
        parameters = inspect.signature(facade).parameters
        assert FIELDS & set(parameters) == set(), facade
        assert parameters["options"].kind is inspect.Parameter.VAR_KEYWORD
    assert S3Client().connection == ConnectionConfig()
    client = sync_client()
    assert client.connection == ConnectionConfig()
    assert settings_inside(client) == ConnectionConfig()


def test_min_part_size_is_the_one_deliberate_difference() -> None:
    """Not a connection setting: S3Client checks S3's 5 MiB part minimum before it
    completes an upload; the sync Client, whose contract is the AIStore notebook
    (parts of a few bytes), leaves that to the server."""
    assert inspect.signature(S3Client).parameters["min_part_size"].default == 5 * 1024 * 1024
    assert inspect.signature(Client).parameters["min_part_size"].default == 0


def test_options_are_the_fields() -> None:
    hints = typing.get_type_hints(ConnectionOptions)
    assert set(hints) == FIELDS
    fields = typing.get_type_hints(ConnectionConfig)
    for name in FIELDS - {"retry", "timeouts"}:  # these two also take None: the default
        assert hints[name] == fields[name], name
    assert hints["retry"] == RetryConfig | None
    assert hints["timeouts"] == Timeouts | None


def test_both_facades_built_from_one_settings_object(sync_client: type[Client]) -> None:
    settings = ConnectionConfig(
        endpoint_url=LOCAL,
        region="eu-west-1",
        access_key="AKIDEXAMPLE",
        secret_key="secret",
        addressing="path",
        retry=RetryConfig(max_attempts=5),
        timeouts=Timeouts(connect=2.0),
        max_connections=4,
        payload_signing="signed",
        checksum="sha256",
    )
    s3 = S3Client(connection=settings)
    client = sync_client(connection=settings)
    assert s3.connection == client.connection == settings_inside(client) == settings
    assert (s3.region, s3.endpoint.url, s3.checksum) == ("eu-west-1", LOCAL, "sha256")
    assert client.endpoint == LOCAL


def test_keywords_override_the_settings_object(sync_client: type[Client]) -> None:
    base = ConnectionConfig(endpoint_url=LOCAL, region="eu-west-1", max_connections=4)
    want = dataclasses.replace(base, region="us-west-2", checksum=None)
    assert S3Client(connection=base, region="us-west-2", checksum=None).connection == want
    client = sync_client(connection=base, region="us-west-2", checksum=None)
    assert client.connection == settings_inside(client) == want
    assert sync_client("http://127.0.0.1:10", connection=base).endpoint == "http://127.0.0.1:10"


def test_the_seeds_keywords_still_work(sync_client: type[Client]) -> None:
    s3 = S3Client(
        access_key="AKIDEXAMPLE", secret_key="secret", region="eu-west-1", endpoint_url=LOCAL
    )
    assert s3.connection == ConnectionConfig(
        access_key="AKIDEXAMPLE", secret_key="secret", region="eu-west-1", endpoint_url=LOCAL
    )
    assert sync_client(LOCAL).connection == ConnectionConfig(endpoint_url=LOCAL)


def test_none_for_retry_or_timeouts_keeps_the_default() -> None:
    s3 = S3Client(endpoint_url=LOCAL, retry=None, timeouts=None)
    assert (s3.connection.retry, s3.connection.timeouts) == (RetryConfig(), Timeouts())


def test_the_endpoint_given_twice_is_refused() -> None:
    with pytest.raises(S3InvalidRequestError, match="given twice: 'http://a:1'"):
        Client("http://a:1", endpoint_url="http://b:2")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_connections": 0}, "max_connections must be an int >= 1, got 0"),
        ({"max_connections": True}, "max_connections must be an int >= 1, got True"),
        ({"checksum": "md5"}, "checksum must be 'auto', None or one of crc32c, .*got 'md5'"),
        ({"payload_signing": "yes"}, "payload_signing must be .*got 'yes'"),
        ({"retry": 3}, "retry must be a RetryConfig, got 3"),
        ({"timeouts": 5.0}, "timeouts must be a Timeouts, got 5.0"),
        ({"region": 7}, "region must be a str, got 7"),
        ({"secret_key": b"raw"}, "secret_key must be a str, got bytes$"),
    ],
)
def test_bad_settings_are_refused_naming_the_value(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(S3InvalidRequestError, match=message):
        ConnectionConfig(**options)  # type: ignore[arg-type]
    with pytest.raises(S3InvalidRequestError, match=message):
        S3Client(endpoint_url=LOCAL, **options)  # type: ignore[arg-type]


def test_repr_hides_the_secrets() -> None:
    settings = ConnectionConfig(access_key="AKIDEXAMPLE", secret_key="s3cr3t", session_token="t0k")
    assert "AKIDEXAMPLE" in repr(settings)
    assert "s3cr3t" not in repr(settings)
    assert "t0k" not in repr(settings)


def test_frozen_and_keyword_only() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ConnectionConfig().region = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ConnectionConfig(LOCAL)  # type: ignore[misc]
