"""The identities the server accepts: access key -> secret key (and session token).

All identities share one namespace of buckets: this is a server for one machine,
not a multi-tenant store. Keys come from arguments, a mapping, or an AWS-style
credentials file (every profile with ``aws_access_key_id``/``aws_secret_access_key``,
``aws_session_token`` when present).
"""

from __future__ import annotations

import configparser
import secrets
import string
from collections.abc import Iterable
from pathlib import Path

from ..protocol.signing import Credentials

__all__ = ["Keyring", "load_credentials_file", "random_credentials"]


def random_credentials() -> Credentials:
    """A fresh pair, shaped like AWS's (20 upper-case characters, 40 for the secret)."""
    alphabet = string.ascii_uppercase + string.digits
    access = "LS3" + "".join(secrets.choice(alphabet) for _ in range(17))
    secret = secrets.token_urlsafe(30)[:40]
    return Credentials(access, secret)


def load_credentials_file(path: str | Path) -> list[Credentials]:
    """Every profile of an AWS credentials file that has a key pair."""
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as handle:
        try:
            parser.read_file(handle)
        except configparser.Error as exc:
            # configparser quotes the offending line, which may hold a secret key.
            line = getattr(exc, "lineno", None)
            where = f" (line {line})" if line else ""
            raise ValueError(f"{path}: not an AWS credentials file{where}") from None
    found = []
    for section in parser.sections():
        profile = parser[section]
        access = profile.get("aws_access_key_id", "").strip()
        secret = profile.get("aws_secret_access_key", "").strip()
        if access and secret:
            token = profile.get("aws_session_token", "").strip() or None
            found.append(Credentials(access, secret, token))
    if not found:
        raise ValueError(f"{path}: no profile with aws_access_key_id and aws_secret_access_key")
    return found


class Keyring:
    """Looks up the credentials of an access key."""

    def __init__(self, credentials: Iterable[Credentials]) -> None:
        self._by_access_key = {c.access_key: c for c in credentials}
        if not self._by_access_key:
            raise ValueError("at least one access key is needed (or turn auth off)")

    def get(self, access_key: str) -> Credentials | None:
        return self._by_access_key.get(access_key)
