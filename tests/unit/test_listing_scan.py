"""The embedded server's listing pages (server/listing.py) read only the index rows a
page needs: counted through a scan over a sorted list, the index's order."""

from __future__ import annotations

import bisect

import pytest

from s3_asyncio_client.server.index import ObjectRecord
from s3_asyncio_client.server.listing import Page, list_page


class Scan:
    """The index's ``scan_objects`` over sorted ``keys``, counting rows handed out."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.rows = 0

    def __call__(self, start: str, inclusive: bool, limit: int) -> list[ObjectRecord]:
        find = bisect.bisect_left if inclusive else bisect.bisect_right
        at = find(self.keys, start)
        found = self.keys[at : at + limit]
        self.rows += len(found)
        return [ObjectRecord("b", key, (), 0, '""', 0.0, "") for key in found]


def folders(count: int, per_folder: int) -> list[str]:
    return [f"f{f:04d}/k{k:04d}" for f in range(count) for k in range(per_folder)]


def reference(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """Every entry of the listing, keys and folded prefixes, in order, computed naively."""
    entries: list[str] = []
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key[: at + len(delimiter)] if at >= 0 else key
        if not entries or entries[-1] != entry:
            entries.append(entry)
    return entries


def every_page(scan: Scan, prefix: str, delimiter: str, max_keys: int) -> list[Page]:
    pages, after = [], None
    while True:
        page = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
        pages.append(page)
        if not page.truncated:
            return pages
        after = page.last


def test_a_page_of_common_prefixes_reads_about_one_row_per_prefix() -> None:
    scan = Scan(folders(1500, 200))  # 300,000 keys, 1,500 prefixes
    page = list_page(scan, prefix="", delimiter="/", after=None, max_keys=1000)
    assert page.prefixes == [f"f{f:04d}/" for f in range(1000)]
    assert page.truncated
    assert scan.rows <= 1001  # before: up to 1,000 rows per prefix


def test_a_marker_that_is_a_common_prefix_jumps_past_its_keys() -> None:
    scan = Scan(folders(3, 50_000))
    page = list_page(scan, prefix="", delimiter="/", after="f0000/", max_keys=1000)
    assert (page.prefixes, page.truncated) == (["f0001/", "f0002/"], False)
    assert scan.rows <= 10  # before: every one of the 50,000 keys under f0000/


def test_a_flat_page_reads_one_row_past_its_end_only() -> None:
    scan = Scan(folders(30, 100))
    page = list_page(scan, prefix="", delimiter="", after=None, max_keys=1000)
    assert (len(page.contents), page.truncated) == (1000, True)
    assert scan.rows == 1001  # before: a second batch of 1,000 to find the 1,001st


@pytest.mark.parametrize("max_keys", [1, 2, 7, 1000])
@pytest.mark.parametrize(
    ("prefix", "delimiter"), [("", "/"), ("f0001/", "/"), ("", ""), ("f", "0")]
)
def test_pages_join_into_the_whole_listing(prefix: str, delimiter: str, max_keys: int) -> None:
    keys = [*folders(4, 30), "f0001/k0003/deeper", "f0002", "g", "f0001/"]
    scan = Scan(keys)
    pages = every_page(scan, prefix, delimiter, max_keys)
    entries = [
        entry for page in pages for entry in sorted([r.key for r in page.contents] + page.prefixes)
    ]
    assert entries == reference(keys, prefix, delimiter)
    assert all(len(page.contents) + len(page.prefixes) <= max_keys for page in pages)
