"""What the client compatibility scenarios share: the command-line tools next to the
test interpreter, an environment that points them at one server and nothing else,
a tree of awkward file names, and plain HTTP fetches of presigned URLs.
No pytest import here.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from servers import ServerInfo, _find_binary

__all__ = [
    "BIG",
    "MIB",
    "ODD_NAMES",
    "Tool",
    "fetch",
    "http_session",
    "make_tree",
    "read_tree",
    "stored_keys",
    "tool_env",
]

MIB = 1024 * 1024
# Above every client's multipart threshold as the scenarios set it (5-8 MiB), in parts
# of 5 MiB (the smallest S3 allows), and small enough to keep each test quick.
BIG = 11 * MIB
TOOL_TIMEOUT = 60.0

# Relative paths a user's tree really holds: spaces, non-ASCII, characters with a
# meaning in URLs (+ % # & =), a leading dash and nested folders.
ODD_NAMES = (
    "plain.txt",
    "with space.txt",
    "plus+sign.txt",
    "percent%41literal.txt",
    "hash#tag.txt",
    "amp&eq=.txt",
    "-leading-dash.txt",
    "unicodé/naïve ü 日本.txt",
    "dir one/nested two/deep file.bin",
    "a/b/c/d.txt",
    "empty.txt",
)


def tool_env(info: ServerInfo, home: Path) -> dict[str, str]:
    """The environment for a command-line client: this process's, minus every AWS
    setting, proxy and config file it could pick up, plus ``info``'s keys and region
    and an empty home of its own."""
    prefixes = ("AWS_", "RCLONE_", "S3_")
    proxies = ("http_proxy", "https_proxy", "all_proxy")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(prefixes) and name.lower() not in proxies
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        NO_PROXY="127.0.0.1,localhost",
        AWS_ACCESS_KEY_ID=info.access_key,
        AWS_SECRET_ACCESS_KEY=info.secret_key,
        AWS_DEFAULT_REGION=info.region,
        AWS_REGION=info.region,
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # never wait for an instance metadata service
    )
    return env


class Tool:
    """A command-line client from the venv, run with ``env`` and ``leading`` before
    every call's own arguments."""

    def __init__(self, name: str, env: Mapping[str, str], *leading: str) -> None:
        self.argv = [_find_binary(name), *leading]
        self.env = dict(env)

    def __call__(self, *args: str, stdin: bytes = b"") -> str:
        """Run it; its standard output as text."""
        return self.raw(*args, stdin=stdin).decode()

    def raw(self, *args: str, stdin: bytes = b"") -> bytes:
        """Run it with ``stdin`` on its standard input; its standard output, or
        AssertionError with all it printed when it fails or outlives TOOL_TIMEOUT."""
        argv = [*self.argv, *args]
        try:
            done = subprocess.run(
                argv, env=self.env, input=stdin, capture_output=True, timeout=TOOL_TIMEOUT
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{argv} still running after {TOOL_TIMEOUT} s") from exc
        assert done.returncode == 0, (
            f"{argv} exited {done.returncode}:\n"
            f"{done.stdout.decode(errors='replace')}\n{done.stderr.decode(errors='replace')}"
        )
        return done.stdout


def make_tree(root: Path) -> dict[str, bytes]:
    """Write ODD_NAMES under ``root`` (distinct contents, one empty file); the tree."""
    tree: dict[str, bytes] = {}
    for index, name in enumerate(ODD_NAMES):
        data = b"" if name == "empty.txt" else f"{index}:{name}\n".encode() * (index + 1)
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        tree[name] = data
    return tree


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative POSIX path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def stored_keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    """Key -> size of every object under ``prefix``, listed with boto3."""
    keys: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update((item["Key"], item["Size"]) for item in page.get("Contents", ()))
    return keys


def http_session() -> requests.Session:
    """A requests session that takes no proxy from the environment (127.0.0.1 must
    not be sent through one)."""
    session = requests.Session()
    session.trust_env = False
    return session


def fetch(url: str) -> bytes:
    """GET ``url`` as a browser or ``curl`` would: no credentials, no proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as reply:
        body: bytes = reply.read()
    return body
