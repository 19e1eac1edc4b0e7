"""The resume journal on disk: whole headers, torn last lines, the last record of a
part winning, private files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from s3_asyncio_client.engine.journal import Journal, JournalHeader

pytestmark = pytest.mark.unit

HEADER = JournalHeader("http://e", "b", "k", "/src", 100, 7, 50, "crc32c", "upload-1")


def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journals", "http://e", "b", "k", "/src")


def test_a_journal_reads_back_what_was_written(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.start(HEADER)
    j.record({"part_number": 1, "etag": '"a"', "size": 50, "checksum": "AAAA"})
    j.record({"part_number": 2, "etag": '"b"', "size": 50})
    assert j.load() == (
        HEADER,
        {
            1: {"part_number": 1, "etag": '"a"', "size": 50, "checksum": "AAAA"},
            2: {"part_number": 2, "etag": '"b"', "size": 50},
        },
    )
    assert stat.S_IMODE(j.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(j.path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "torn", ['{"part_number": 3, "et', '{"part_number": "x"}', "[]", '{"etag": "c"}', "\x00\x00"]
)
def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path, torn: str) -> None:
    j = journal(tmp_path)
    j.start(HEADER)
    j.record({"part_number": 1, "etag": '"a"', "size": 50})
    with j.path.open("a") as file:
        file.write(torn)
    loaded = j.load()
    assert loaded is not None
    assert loaded[1] == {1: {"part_number": 1, "etag": '"a"', "size": 50}}


def test_the_last_record_of_a_part_counts(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.start(HEADER)
    j.record({"part_number": 1, "etag": '"old"', "size": 50})
    j.record({"part_number": 1, "etag": '"new"', "size": 50})
    loaded = j.load()
    assert loaded is not None
    assert loaded[1][1]["etag"] == '"new"'


@pytest.mark.parametrize("text", ["", "not json\n", json.dumps({"endpoint": "x"}) + "\n"])
def test_a_journal_without_a_whole_header_is_no_journal(tmp_path: Path, text: str) -> None:
    j = journal(tmp_path)
    j.path.parent.mkdir(parents=True)
    j.path.write_text(text)
    assert j.load() is None


def test_no_journal_is_none_and_removing_it_twice_is_fine(tmp_path: Path) -> None:
    j = journal(tmp_path)
    assert j.load() is None
    j.start(HEADER)
    j.remove()
    j.remove()
    assert j.load() is None
