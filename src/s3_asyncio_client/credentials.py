"""Where credentials, region and endpoint come from, first match wins.

1. Arguments given to the client.
2. Environment: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
   ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``),
   ``AWS_ENDPOINT_URL_S3`` then ``AWS_ENDPOINT_URL``.
3. The profile (``profile`` argument, else ``AWS_PROFILE``, else ``default``) in
   ``~/.aws/credentials`` and ``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE`` and
   ``AWS_CONFIG_FILE`` move them): keys, ``region``, ``endpoint_url``. An explicit
   ``profile`` argument takes its keys from the files even when the environment
   has some; a profile named but not found is an error.
4. Anonymous requests, region ``us-east-1``, AWS's endpoint for that region.

Files are read once, when a client is made, and only if they can add something
(a profile is named, or keys, region or endpoint are still missing).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .exceptions import S3InvalidRequestError
from .protocol.signing import Credentials

__all__ = ["Settings", "resolve_settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    credentials: Credentials | None
    region: str
    endpoint_url: str


def _read_profile(path: Path, section: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return {}
    return dict(parser[section]) if parser.has_section(section) else {}


def _profile(profile: str, environ: Mapping[str, str]) -> dict[str, str]:
    home = Path(environ.get("HOME", "~")).expanduser()
    credentials_file = Path(environ.get("AWS_SHARED_CREDENTIALS_FILE", home / ".aws/credentials"))
    config_file = Path(environ.get("AWS_CONFIG_FILE", home / ".aws/config"))
    config_section = profile if profile == "default" else f"profile {profile}"
    merged = _read_profile(config_file, config_section)
    merged.update(_read_profile(credentials_file, profile))
    return merged


def resolve_settings(
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Credentials, region and endpoint from arguments, environment and profile files."""
    env = os.environ if environ is None else environ
    if (access_key is None) != (secret_key is None):
        given = "access_key" if access_key is not None else "secret_key"
        raise S3InvalidRequestError(f"{given} was given without its pair; give both or neither")
    named = profile or env.get("AWS_PROFILE")
    if bool(env.get("AWS_ACCESS_KEY_ID")) != bool(env.get("AWS_SECRET_ACCESS_KEY")):
        raise S3InvalidRequestError(
            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both or neither"
        )

    credentials = None
    if access_key is not None and secret_key is not None:
        credentials = Credentials(access_key, secret_key, session_token)
    elif profile is None and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        credentials = Credentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
        )
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    endpoint_url = endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")

    # The files only when they can add something: a client given everything reads
    # nothing (and makes no blocking call when made inside a coroutine).
    files: dict[str, str] = {}
    if named or credentials is None or not region or not endpoint_url:
        files = _profile(named or "default", env)
        if named and not files:
            raise S3InvalidRequestError(f"profile {named!r} was not found")
    if (
        credentials is None
        and files.get("aws_access_key_id")
        and files.get("aws_secret_access_key")
    ):
        credentials = Credentials(
            files["aws_access_key_id"],
            files["aws_secret_access_key"],
            files.get("aws_session_token"),
        )
    region = region or files.get("region") or "us-east-1"
    endpoint_url = endpoint_url or files.get("endpoint_url") or f"https://s3.{region}.amazonaws.com"
    return Settings(credentials, region, endpoint_url)
