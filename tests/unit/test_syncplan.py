"""The sync planner: pure data in, steps out."""

from __future__ import annotations

import pytest

from s3_asyncio_client.cli.syncing import filter_order
from s3_asyncio_client.cli.syncplan import (
    Entry,
    Filters,
    decide,
    format_mtime,
    pairs,
    parse_mtime,
    parse_time,
    plan,
    resolved,
    walk_order,
)

S = 1_000_000_000


def local(name: str, size: int = 1, seconds: float = 100) -> Entry:
    return Entry(name, size, int(seconds * S))


def listed(name: str, size: int = 1, seconds: int = 100) -> Entry:
    """An object known from a listing: LastModified, whole seconds, no metadata yet."""
    return Entry(name, size, seconds * S, precise=False, resolved=False)


def steps(sources: list[Entry], targets: list[Entry], **options: object) -> list[tuple[str, str]]:
    return [
        (step.kind, (step.source or step.target).name)  # type: ignore[union-attr]
        for step in plan(sources, targets, **options)  # type: ignore[arg-type]
    ]


def test_new_changed_unchanged_and_extra_files() -> None:
    sources = [local("a"), local("b", size=2), local("c"), local("e")]
    targets = [local("b"), local("c"), local("d")]
    assert steps(sources, targets) == [
        ("transfer", "a"),
        ("transfer", "b"),
        ("skip", "c"),
        ("transfer", "e"),
    ]
    assert ("delete", "d") in steps(sources, targets, delete=True)


def test_merge_follows_utf8_byte_order_as_s3_lists() -> None:
    # "a-c" sorts before "a/b" ("-" < "/"), "z" before "é" (ASCII < multi-byte).
    names = sorted(["a/b", "a-c", "z", "é", "a b", "+", "%20"], key=str.encode)
    merged = list(pairs([local(n) for n in names], [local(n) for n in names[::2]]))
    assert [s.name for s, _ in merged if s] == names
    assert all(t is None or t.name == s.name for s, t in merged if s)


def test_walk_order_sorts_a_folder_as_its_name_and_a_slash() -> None:
    entries = [("a", True), ("a-c", False), ("a0", False), ("b", False)]
    ordered = sorted(entries, key=lambda e: walk_order(*e))
    assert [name for name, _ in ordered] == ["a-c", "a", "a0", "b"]  # "a/" between


@pytest.mark.parametrize(
    ("source", "target", "compare", "expected"),
    [
        (local("x", seconds=200), local("x", seconds=100), "default", "transfer"),
        (local("x", seconds=100), local("x", seconds=200), "default", "skip"),
        (local("x", seconds=100), local("x", seconds=200), "exact", "transfer"),
        (local("x", seconds=100), local("x", seconds=100), "exact", "skip"),
        (local("x", size=1), local("x", size=2), "size", "transfer"),
        (local("x", seconds=300), local("x", seconds=100), "size", "skip"),
        # An object's LastModified is later than the file: no need to ask for more.
        (local("x", seconds=100.5), listed("x", seconds=150), "default", "skip"),
        # The source looks newer, but the object's metadata may say otherwise.
        (local("x", seconds=100.5), listed("x", seconds=100), "default", "skip"),
        (local("x", seconds=101.5), listed("x", seconds=100), "default", "detail"),
        (listed("x", seconds=150), local("x", seconds=100), "default", "detail"),
        (listed("x", seconds=150), local("x", seconds=100), "exact", "detail"),
        (local("x"), listed("x"), "checksum", "detail"),
        (local("x", size=1), listed("x", size=3), "checksum", "transfer"),
        # Resolved without metadata: LastModified, to the second.
        (local("x", seconds=100.7), resolved(listed("x", seconds=100), None), "default", "skip"),
    ],
)
def test_decide(source: Entry, target: Entry, compare: str, expected: str) -> None:
    assert decide(source, target, compare) == expected  # type: ignore[arg-type]


def test_checksum_verdict_wins_and_unknown_falls_back_to_times() -> None:
    new, old = local("x", seconds=200), local("x", seconds=100)
    assert decide(old, new, "checksum", same_content=False) == "transfer"
    assert decide(new, old, "checksum", same_content=True) == "skip"
    assert decide(new, old, "checksum", same_content=None) == "transfer"
    assert decide(old, new, "checksum", same_content=None) == "skip"


def test_filters_last_match_wins_and_star_crosses_slashes() -> None:
    only_png = Filters([(False, "*"), (True, "*.png")])
    assert only_png.included("deep/er/pic.png")
    assert not only_png.included("notes.txt")
    nothing = Filters([(True, "*.png"), (False, "*")])
    assert not nothing.included("pic.png")
    assert Filters([(False, "logs/*")]).included("a/logs/x")  # relative to the root
    assert not Filters([(False, "*/logs/*")]).included("a/logs/x")
    assert Filters([(False, "?.txt")]).included("ab.txt")
    assert not Filters([(False, "[ab].txt")]).included("b.txt")
    assert Filters().included("anything")


def test_filtered_names_are_neither_sent_nor_deleted() -> None:
    sources = [local("keep.txt"), local("skip.log")]
    targets = [local("old.log"), local("old.txt")]
    planned = steps(sources, targets, delete=True, filters=Filters([(False, "*.log")]))
    assert planned == [("transfer", "keep.txt"), ("delete", "old.txt")]


def test_filter_order_from_the_command_line() -> None:
    args = ["--exclude", "*", "a", "--include=*.png", "--exclude", "--include", "--include", "x"]
    assert filter_order(args) == [False, True, False, True]
    assert filter_order(["--", "--exclude", "x"]) == []


def test_mtime_metadata_round_trips_to_the_nanosecond() -> None:
    assert format_mtime(1_700_000_000_123_456_789) == "1700000000.123456789"
    assert parse_mtime("1700000000.123456789") == 1_700_000_000_123_456_789
    assert parse_mtime("1700000000") == 1_700_000_000 * S  # rclone may write whole seconds
    assert parse_mtime("1700000000.5") == 1_700_000_000_500_000_000
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_mtime(bad) is None


def test_parse_time_of_listings_and_heads() -> None:
    assert parse_time("2023-11-14T22:13:20.000Z") == 1_700_000_000 * S
    assert parse_time("2023-11-14T22:13:20.250Z") == 1_700_000_000 * S + 250_000_000
    assert parse_time("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000 * S


def test_resolved_takes_the_mtime_metadata_when_there_is_one() -> None:
    object_ = listed("x", seconds=150)
    assert resolved(object_, None) == Entry("x", 1, 150 * S, precise=False, resolved=True)
    assert resolved(object_, 100 * S + 5) == Entry("x", 1, 100 * S + 5)
    # Uploaded from the file: the metadata time is the file's, to the nanosecond.
    assert decide(local("x", seconds=100.5), resolved(object_, int(100.5 * S)), "exact") == "skip"
