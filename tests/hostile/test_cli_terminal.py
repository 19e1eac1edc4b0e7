"""Keys are text from a server: on a terminal, ``s3aio`` must not let one drive it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from servers import ServerInfo, boto3_client

KEY = "logs/\x1b]2;owned\x07\x1b[2Jreport.txt"


def run(info: ServerInfo, *args: str, terminal: bool) -> str:
    """The command's standard output, read from a pseudo-terminal or from a pipe."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": info.access_key,
        "AWS_SECRET_ACCESS_KEY": info.secret_key,
    }
    command = [sys.executable, "-m", "s3_asyncio_client.cli", "--endpoint-url"]
    command += [info.endpoint_url, "--no-progress", *args]
    if not terminal:
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(command, env=env, stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        follower = -1
        output = b""
        while True:
            try:
                piece = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                break
            if not piece:
                break
            output += piece
        assert process.wait(timeout=60) == 0, process.stderr
        if process.stderr is not None:
            process.stderr.close()
        return output.decode()
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_control_characters_in_keys_are_escaped_on_a_terminal(
    local: ServerInfo, bucket_name: str
) -> None:
    s3 = boto3_client(local)
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key=KEY, Body=b"x")
    shown = run(local, "ls", "-r", f"s3://{bucket_name}", terminal=True)
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "logs/\\x1b]2;owned\\x07\\x1b[2Jreport.txt" in shown
    piped = run(local, "ls", "-r", f"s3://{bucket_name}", terminal=False)
    assert KEY in piped  # byte-exact for the program reading it
