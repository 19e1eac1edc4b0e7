"""Durable mode (the default) really goes to the disk, in the order that makes a power
cut harmless: the blob's bytes are fsynced before its rename, its folder after, the
index commit comes next, and the WAL holding that commit is fsynced before the reply.
``--no-fsync`` does none of it. Observed from outside: strace on the server process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rawhttp import request
from serveprocess import ServeProcess

from s3_asyncio_client.protocol.signing import Credentials

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")
KEYS = Credentials("durable-access", "durable-secret")
CALLS = "fsync,fdatasync,pwrite64,rename,renameat,renameat2"


def traced_put(tmp_path: Path, *extra: str) -> tuple[list[str], Path]:
    """Start the server under strace, create a bucket, PUT one object, stop the server
    (SIGTERM); the trace lines from its first request to the SIGTERM, and the root.
    (Creating the index at startup is SQLite's business, with fsyncs of its own.)"""
    assert STRACE is not None
    root, trace = tmp_path / "root", tmp_path / "trace.log"
    tracer = [STRACE, "-f", "-qq", "-y", "-e", f"trace={CALLS}", "-e", "signal=SIGTERM"]
    server = ServeProcess(
        ["--root", str(root), "--port", "0", "--access-key", KEYS.access_key,
         "--secret-key", KEYS.secret_key, *extra],
        tmp_path / "serve.log",
        prefix=[*tracer, "-o", str(trace)],
    )  # fmt: skip
    try:
        ready = len(trace.read_text().splitlines())  # strace writes each line at once
        url = server.endpoint_url
        assert request(url, "PUT", "/durable", credentials=KEYS).status == 200
        reply = request(url, "PUT", "/durable/k", body=b"d" * 100_000, credentials=KEYS)
        assert reply.status == 200, reply.body
        assert request(url, "GET", "/durable/k", credentials=KEYS).body == b"d" * 100_000
    finally:
        assert server.terminate() == 0, server.output
    lines = trace.read_text().splitlines()
    stop = next(i for i, line in enumerate(lines) if "--- SIGTERM" in line)
    return lines[ready:stop], root


def first(lines: list[str], pattern: str, after: int = -1) -> int:
    """Index of the first line after ``after`` matching ``pattern`` (AssertionError if none)."""
    for index in range(after + 1, len(lines)):
        if re.search(pattern, lines[index]):
            return index
    raise AssertionError(f"no {pattern!r} after line {after}:\n" + "\n".join(lines[after + 1 :]))


def test_durable_put_fsyncs_blob_folder_and_index_in_order(tmp_path: Path) -> None:
    lines, root = traced_put(tmp_path)
    (blob,) = (p for p in (root / "blobs").rglob("*") if p.is_file())
    temp = first(lines, rf"fsync\(\d+<{re.escape(str(root / 'tmp'))}/(\w+)>")
    temp_name = re.search(r"/tmp/(\w+)>", lines[temp])
    assert temp_name is not None
    moved = first(lines, rf"rename\w*\(.*{temp_name[1]}.*{blob.name}", temp)
    folder = first(lines, rf"fsync\(\d+<{re.escape(str(blob.parent))}>\)", moved)
    wal = re.escape(str(root / "index.sqlite3-wal"))
    commit = first(lines, rf"pwrite64\(\d+<{wal}>", folder)
    first(lines, rf"fsync\(\d+<{wal}>\)", commit)


def test_no_fsync_mode_skips_every_fsync(tmp_path: Path) -> None:
    lines, root = traced_put(tmp_path, "--no-fsync")
    assert (root / "blobs").exists()
    assert [line for line in lines if re.search(r"\bf(data)?sync\(", line)] == []
