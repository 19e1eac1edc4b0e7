"""``s3aio serve`` (and ``python -m s3_asyncio_client.server``) never print a secret key
the user gave them: terminals, CI logs and shared screens keep what is printed. A
secret the server generated is printed, or nobody could use it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rawhttp import request
from serveprocess import CLI_MODULE, SERVER_MODULE, ServeProcess

from s3_asyncio_client.protocol.signing import Credentials

SECRET = "given-secret-Zq8vXw3Rt5"
MODULES = [
    pytest.param((CLI_MODULE, "serve"), id="s3aio-serve"),
    pytest.param((SERVER_MODULE,), id="python-m-server"),
]


def run(command: tuple[str, ...], tmp_path: Path, *extra: str) -> ServeProcess:
    module, *sub = command
    args = [*sub, "--root", str(tmp_path / "root"), "--port", "0", "--no-fsync", *extra]
    return ServeProcess(args, tmp_path / "serve.log", module=module)


def lists_buckets(server: ServeProcess, keys: Credentials) -> int:
    return request(server.endpoint_url, "GET", "/", credentials=keys).status


@pytest.mark.parametrize("command", MODULES)
def test_given_secret_is_not_printed(command: tuple[str, ...], tmp_path: Path) -> None:
    keys = Credentials("GIVENACCESSKEY", SECRET)
    server = run(command, tmp_path, "--access-key", keys.access_key, "--secret-key", SECRET)
    try:
        assert lists_buckets(server, keys) == 200
    finally:
        assert server.terminate() == 0
    assert "access key: GIVENACCESSKEY" in server.output.splitlines()
    assert SECRET not in server.output
    assert "secret key" not in server.output


@pytest.mark.parametrize("command", MODULES)
def test_generated_secret_is_printed(command: tuple[str, ...], tmp_path: Path) -> None:
    server = run(command, tmp_path)
    try:
        printed = dict(line.split(": ", 1) for line in server.output.splitlines() if ": " in line)
        keys = Credentials(printed["access key"], printed["secret key"])
        assert lists_buckets(server, keys) == 200
    finally:
        assert server.terminate() == 0


@pytest.mark.parametrize("command", MODULES)
def test_credentials_file_secrets_are_not_printed(command: tuple[str, ...], tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[one]\naws_access_key_id = ONEKEY\naws_secret_access_key = secret-one-Hh4\n"
        "[two]\naws_access_key_id = TWOKEY\naws_secret_access_key = secret-two-Kk7\n"
    )
    server = run(command, tmp_path, "--credentials-file", str(path))
    try:
        assert lists_buckets(server, Credentials("TWOKEY", "secret-two-Kk7")) == 200
    finally:
        assert server.terminate() == 0
    assert "access keys: ONEKEY, TWOKEY" in server.output.splitlines()
    assert "secret-one" not in server.output
    assert "secret-two" not in server.output


@pytest.mark.parametrize("command", MODULES)
def test_malformed_credentials_file_error_hides_its_lines(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    """A file with no [profile] header: the parser's own message quotes the line."""
    path = tmp_path / "credentials"
    path.write_text(f"aws_secret_access_key = {SECRET}\n")
    module, *sub = command
    result = subprocess.run(
        [sys.executable, "-m", module, *sub, "--root", str(tmp_path / "root"),
         "--port", "0", "--credentials-file", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "not an AWS credentials file (line 1)" in result.stderr
    assert SECRET not in result.stdout + result.stderr
