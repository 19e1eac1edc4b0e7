"""What ``s3aio cp`` and ``sync`` print after a download that resumed an interrupted
one, or had to start over because the object changed."""

from __future__ import annotations

import json

import pytest

from s3_asyncio_client.cli.copying import _resumed
from s3_asyncio_client.cli.output import mode
from s3_asyncio_client.client import TransferResult

pytestmark = pytest.mark.unit

MiB = 1024 * 1024


def result(skipped: int, restarted: bool = False) -> TransferResult:
    done = TransferResult(etag='"e"', size=160 * MiB, parts_count=20, skipped_bytes=skipped)
    if restarted:
        done["restarted"] = True
    return done


def test_a_resumed_download_says_how_much_it_kept(capsys: pytest.CaptureFixture[str]) -> None:
    _resumed("s3://b/k", "out.bin", result(64 * MiB))
    assert capsys.readouterr().out == (
        "out.bin: resumed, 64.0 MiB of 160.0 MiB were already downloaded\n"
    )


def test_a_restarted_download_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    _resumed("s3://b/k", "out.bin", result(0, restarted=True))
    assert capsys.readouterr().out == (
        "s3://b/k changed since its download to out.bin was interrupted: started over\n"
    )


def test_a_download_from_scratch_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _resumed("s3://b/k", "out.bin", result(0))
    assert capsys.readouterr().out == ""


def test_json_lines_carry_the_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mode, "json", True)
    _resumed("s3://b/k", "out.bin", result(64 * MiB))
    _resumed("s3://b/k", "out.bin", result(0, restarted=True))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"source": "s3://b/k", "target": "out.bin", "status": "resumed", "skipped_bytes": 64 * MiB},
        {"source": "s3://b/k", "target": "out.bin", "status": "restarted"},
    ]
