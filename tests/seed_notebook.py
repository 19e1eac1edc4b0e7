"""The AIStore multipart notebook (tests/data/seed_aistore_notebook.txt): its cells,
and the check that what a run printed is what the notebook shows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

NOTEBOOK = (Path(__file__).parent / "data" / "seed_aistore_notebook.txt").read_text()
# A cell: "In [..]:", its code, two blank lines, the output, two blank lines.
CELLS: list[tuple[str, str]] = re.findall(
    r"^In \[[^\]]*\]:\n(.*?)\n\n\n(.*?)\n\n\n", NOTEBOOK, flags=re.S | re.M
)
SETUP, BASIC, PARALLEL, OUT_OF_ORDER = range(4)


def assert_shows(printed: str, cell: int, lines: int | None = None) -> None:
    """``printed`` is what the notebook shows for ``cell`` (its first ``lines`` lines),
    where the upload id and the finishing order of parallel parts may differ."""
    want = CELLS[cell][1].splitlines()[:lines]
    got = printed.splitlines()
    assert len(got) == len(want), (got, want)
    for line, expected in zip(got, want, strict=True):
        if expected.startswith("Created multipart upload with ID: "):
            assert re.fullmatch(r"Created multipart upload with ID: \S+", line), line
        elif expected.startswith("Parallel upload completed: "):
            head, _, numbers = line.partition(": ")
            assert head == "Parallel upload completed"
            assert sorted(ast.literal_eval(numbers)) == [1, 2, 3, 4, 5]
        else:
            assert line == expected
