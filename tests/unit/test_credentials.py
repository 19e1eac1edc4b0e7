"""resolve_settings: arguments > environment > profile files > anonymous.

Every call passes ``environ=`` with HOME pointing into tmp_path, so the real home
directory and the real environment are never read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from s3_asyncio_client.credentials import Settings, resolve_settings
from s3_asyncio_client.exceptions import S3InvalidRequestError
from s3_asyncio_client.protocol.signing import Credentials

CREDENTIALS_FILE = """\
[default]
aws_access_key_id = FILE_DEFAULT_AK
aws_secret_access_key = FILE_DEFAULT_SK

[work]
aws_access_key_id = FILE_WORK_AK
aws_secret_access_key = FILE_WORK_SK
aws_session_token = FILE_WORK_TOKEN

[nokeys]
region = ap-south-1
"""

CONFIG_FILE = """\
[default]
region = eu-central-1
endpoint_url = http://default.example:9000

[profile work]
region = eu-west-3
endpoint_url = http://work.example:9000

[work]
region = should-not-be-used

[profile nokeys]
output = json
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fake HOME with ~/.aws/credentials and ~/.aws/config."""
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(CREDENTIALS_FILE)
    (aws / "config").write_text(CONFIG_FILE)
    return tmp_path / "home"


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


def test_anonymous_when_nothing_is_set(empty_home: Path) -> None:
    assert resolve_settings(environ={"HOME": str(empty_home)}) == Settings(
        None, "us-east-1", "https://s3.us-east-1.amazonaws.com"
    )


def test_default_profile_from_files(home: Path) -> None:
    assert resolve_settings(environ={"HOME": str(home)}) == Settings(
        Credentials("FILE_DEFAULT_AK", "FILE_DEFAULT_SK"),
        "eu-central-1",
        "http://default.example:9000",
    )


def test_environment_beats_profile(home: Path) -> None:
    environ = {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "ENV_AK",
        "AWS_SECRET_ACCESS_KEY": "ENV_SK",
        "AWS_SESSION_TOKEN": "ENV_TOKEN",
        "AWS_REGION": "sa-east-1",
        "AWS_ENDPOINT_URL": "http://env.example:9000",
    }
    assert resolve_settings(environ=environ) == Settings(
        Credentials("ENV_AK", "ENV_SK", "ENV_TOKEN"), "sa-east-1", "http://env.example:9000"
    )


def test_explicit_beats_environment(home: Path) -> None:
    environ = {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "ENV_AK",
        "AWS_SECRET_ACCESS_KEY": "ENV_SK",
        "AWS_SESSION_TOKEN": "ENV_TOKEN",
        "AWS_REGION": "sa-east-1",
        "AWS_ENDPOINT_URL_S3": "http://env.example:9000",
    }
    settings = resolve_settings(
        access_key="ARG_AK",
        secret_key="ARG_SK",
        region="ca-central-1",
        endpoint_url="http://arg.example:9000",
        environ=environ,
    )
    # The environment's session token belongs to the environment's keys only.
    assert settings == Settings(
        Credentials("ARG_AK", "ARG_SK", None), "ca-central-1", "http://arg.example:9000"
    )


def test_explicit_session_token(empty_home: Path) -> None:
    settings = resolve_settings(
        access_key="AK", secret_key="SK", session_token="TOK", environ={"HOME": str(empty_home)}
    )
    assert settings.credentials == Credentials("AK", "SK", "TOK")


def test_aws_profile_selects_the_profile_sections(home: Path) -> None:
    environ = {"HOME": str(home), "AWS_PROFILE": "work"}
    assert resolve_settings(environ=environ) == Settings(
        Credentials("FILE_WORK_AK", "FILE_WORK_SK", "FILE_WORK_TOKEN"),
        "eu-west-3",  # from [profile work] in config, not [work]
        "http://work.example:9000",
    )


def test_profile_argument_beats_aws_profile(home: Path) -> None:
    environ = {"HOME": str(home), "AWS_PROFILE": "work"}
    settings = resolve_settings(profile="default", environ=environ)
    assert settings.credentials == Credentials("FILE_DEFAULT_AK", "FILE_DEFAULT_SK")
    assert settings.region == "eu-central-1"


def test_profile_without_keys_is_anonymous(home: Path) -> None:
    settings = resolve_settings(profile="nokeys", environ={"HOME": str(home)})
    assert settings == Settings(None, "ap-south-1", "https://s3.ap-south-1.amazonaws.com")


def test_unknown_explicit_profile_is_refused(home: Path) -> None:
    with pytest.raises(S3InvalidRequestError, match="profile 'missing' was not found"):
        resolve_settings(profile="missing", environ={"HOME": str(home)})


def test_files_can_be_moved(tmp_path: Path, empty_home: Path) -> None:
    credentials = tmp_path / "elsewhere" / "creds.ini"
    config = tmp_path / "elsewhere" / "conf.ini"
    credentials.parent.mkdir()
    credentials.write_text(
        "[default]\naws_access_key_id = MOVED_AK\naws_secret_access_key = MOVED_SK\n"
    )
    config.write_text("[default]\nregion = us-west-2\n")
    environ = {
        "HOME": str(empty_home),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(config),
    }
    assert resolve_settings(environ=environ) == Settings(
        Credentials("MOVED_AK", "MOVED_SK"), "us-west-2", "https://s3.us-west-2.amazonaws.com"
    )


def test_credentials_file_beats_config_file_for_the_same_setting(tmp_path: Path) -> None:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text(
        "[default]\naws_access_key_id = CONFIG_AK\naws_secret_access_key = CONFIG_SK\n"
        "region = eu-north-1\n"
    )
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = CREDS_AK\naws_secret_access_key = CREDS_SK\n"
    )
    settings = resolve_settings(environ={"HOME": str(tmp_path)})
    assert settings.credentials == Credentials("CREDS_AK", "CREDS_SK")
    assert settings.region == "eu-north-1"


# --- region and endpoint fallbacks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "region"),
    [
        ({"AWS_REGION": "r-env", "AWS_DEFAULT_REGION": "r-default"}, "r-env"),
        ({"AWS_DEFAULT_REGION": "r-default"}, "r-default"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "r-default"}, "r-default"),
        ({}, "eu-central-1"),  # the default profile's region
    ],
)
def test_region_fallbacks(home: Path, extra: dict[str, str], region: str) -> None:
    assert resolve_settings(environ={"HOME": str(home), **extra}).region == region


def test_region_defaults_to_us_east_1(empty_home: Path) -> None:
    assert resolve_settings(environ={"HOME": str(empty_home)}).region == "us-east-1"
    assert resolve_settings(region="eu-west-1", environ={"HOME": str(empty_home)}) == Settings(
        None, "eu-west-1", "https://s3.eu-west-1.amazonaws.com"
    )


@pytest.mark.parametrize(
    ("extra", "endpoint"),
    [
        (
            {"AWS_ENDPOINT_URL_S3": "http://s3-specific:1", "AWS_ENDPOINT_URL": "http://any:2"},
            "http://s3-specific:1",
        ),
        ({"AWS_ENDPOINT_URL": "http://any:2"}, "http://any:2"),
        ({}, "http://default.example:9000"),
    ],
)
def test_endpoint_fallbacks(home: Path, extra: dict[str, str], endpoint: str) -> None:
    assert resolve_settings(environ={"HOME": str(home), **extra}).endpoint_url == endpoint


def test_default_endpoint_follows_the_resolved_region(empty_home: Path) -> None:
    environ = {"HOME": str(empty_home), "AWS_DEFAULT_REGION": "ap-northeast-1"}
    assert resolve_settings(environ=environ).endpoint_url == (
        "https://s3.ap-northeast-1.amazonaws.com"
    )


# --- errors -------------------------------------------------------------------------------


def test_access_key_without_secret_is_refused(empty_home: Path) -> None:
    with pytest.raises(S3InvalidRequestError, match="access_key was given without its pair"):
        resolve_settings(access_key="AK", environ={"HOME": str(empty_home)})


def test_secret_key_without_access_key_is_refused(empty_home: Path) -> None:
    with pytest.raises(
        S3InvalidRequestError, match="secret_key was given without its pair"
    ) as caught:
        resolve_settings(secret_key="TOP-SECRET-VALUE", environ={"HOME": str(empty_home)})
    assert "TOP-SECRET-VALUE" not in str(caught.value)
    assert "TOP-SECRET-VALUE" not in repr(caught.value)


def test_settings_repr_hides_the_secret(home: Path) -> None:
    settings = resolve_settings(profile="work", environ={"HOME": str(home)})
    assert "FILE_WORK_AK" in repr(settings)
    assert "FILE_WORK_SK" not in repr(settings)
    assert "FILE_WORK_TOKEN" not in repr(settings)


def test_unreadable_profile_file_is_ignored(tmp_path: Path) -> None:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("this is not an ini file\n")
    assert resolve_settings(environ={"HOME": str(tmp_path)}).credentials is None


# --- questionable behaviour (botocore differs) ----------------------------------------------


def test_explicit_profile_beats_environment_keys(home: Path) -> None:
    environ = {"HOME": str(home), "AWS_ACCESS_KEY_ID": "ENV_AK", "AWS_SECRET_ACCESS_KEY": "ENV_SK"}
    settings = resolve_settings(profile="work", environ=environ)
    assert settings.credentials == Credentials("FILE_WORK_AK", "FILE_WORK_SK", "FILE_WORK_TOKEN")


def test_unknown_aws_profile_is_refused(home: Path) -> None:
    with pytest.raises(S3InvalidRequestError, match="missing"):
        resolve_settings(environ={"HOME": str(home), "AWS_PROFILE": "missing"})


def test_half_an_environment_key_pair_is_refused(home: Path) -> None:
    with pytest.raises(S3InvalidRequestError):
        resolve_settings(environ={"HOME": str(home), "AWS_ACCESS_KEY_ID": "ENV_AK"})
