"""The AIStore multipart notebook, every cell run as written, on real servers.

The notebook (tests/data/seed_aistore_notebook.txt) is the contract of the sync
facade. Its code cells are executed with two substitutions, both what a reader
would do: ``from s3_asyncio_client import Client`` for ``from aistore import
Client``, and the test server's address for ``ais_url``. The cells pass no
credentials, so they come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.

The notebook uploads parts of 22 to 5,000 bytes. The embedded server accepts them,
as AIStore does; SeaweedFS and moto enforce S3's 5 MiB minimum for every part but
the last when the upload is completed, and refuse with EntityTooSmall. The tests
assert exactly that refusal on those two (``min_part_size`` in ServerInfo says
which server is which) and the notebook's printed output everywhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seed_notebook import BASIC, CELLS, NOTEBOOK, OUT_OF_ORDER, PARALLEL, SETUP, assert_shows
from servers import ServerInfo

from s3_asyncio_client import Client, S3InvalidPartError

# Lines each cell prints before it completes its upload (what a refusing server lets
# through): none in the setup cell, which completes nothing.
PRINTED_BEFORE_COMPLETE = {BASIC: 1, PARALLEL: 0, OUT_OF_ORDER: 4}


def test_notebook_is_the_unchanged_contract() -> None:
    digest = hashlib.sha256(NOTEBOOK.encode()).hexdigest()
    assert digest == "cf84bdd0bacc3a0d37166bba1aa146e4940e3ab610b6ac5159b3c89afc2359d9"
    assert len(CELLS) == 4
    assert [code.count("from aistore import Client") for code, _ in CELLS] == [1, 0, 0, 0]
    assert 'ais_url = "http://localhost:8080"' in CELLS[SETUP][0]


def accepts_small_parts(server: ServerInfo) -> bool:
    return server.min_part_size == 0


class Notebook:
    """Runs cells in one namespace, as Jupyter does, and returns what each printed."""

    def __init__(self, server: ServerInfo, capsys: pytest.CaptureFixture[str]) -> None:
        self.endpoint = server.endpoint_url
        self.capsys = capsys
        self.namespace: dict[str, Any] = {"__name__": "__main__"}

    def code(self, cell: int) -> str:
        code = CELLS[cell][0].replace(
            "from aistore import Client", "from s3_asyncio_client import Client"
        )
        return code.replace('ais_url = "http://localhost:8080"', f"ais_url = {self.endpoint!r}")

    def run(self, cell: int) -> str:
        self.capsys.readouterr()
        exec(compile(self.code(cell), f"<notebook cell {cell + 1}>", "exec"), self.namespace)
        return self.capsys.readouterr().out

    def refused(self, cell: int) -> tuple[S3InvalidPartError, str]:
        """Run a cell that a 5 MiB server must refuse; the error and what it printed.
        The refused upload is aborted, so nothing stays billed on the server."""
        self.capsys.readouterr()
        with pytest.raises(S3InvalidPartError) as caught:
            self.run(cell)
        self.namespace["mpu"].abort()
        return caught.value, self.capsys.readouterr().out

    def close(self) -> None:
        client = self.namespace.get("client")
        if isinstance(client, Client):
            client.close()


@pytest.fixture
def notebook(
    s3_server: ServerInfo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Notebook]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    # Nothing from the machine's own AWS setup may steer the cells.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    book = Notebook(s3_server, capsys)
    try:
        yield book
    finally:
        book.close()


def assert_entity_too_small(error: S3InvalidPartError) -> None:
    assert error.error_code == "EntityTooSmall"
    assert error.status_code == 400


def test_setup_cell(notebook: Notebook) -> None:
    """Cell "In [None]": client, bucket ``multipart-demo-bck`` (create, exist_ok)."""
    printed = notebook.run(SETUP)
    assert printed == "Using bucket: multipart-demo-bck\n"
    assert_shows(printed, SETUP)
    assert notebook.run(SETUP) == printed  # run again: the bucket exists, exist_ok holds
    assert notebook.namespace["bucket"].exists()


def test_basic_multipart_cell(notebook: Notebook, s3_server: ServerInfo) -> None:
    """Cell "In [2]": create, three parts of 30-31 bytes, complete, read back."""
    notebook.run(SETUP)
    if not accepts_small_parts(s3_server):
        error, printed = notebook.refused(BASIC)
        assert_entity_too_small(error)
        assert_shows(printed, BASIC, PRINTED_BEFORE_COMPLETE[BASIC])
        return
    printed = notebook.run(BASIC)
    assert_shows(printed, BASIC)
    assert "Multipart upload completed with status: 200" in printed
    assert "Final object size: 92 bytes" in printed
    ns = notebook.namespace
    assert ns["final_content"] == ns["part1_content"] + ns["part2_content"] + ns["part3_content"]


def test_parallel_upload_cell(notebook: Notebook, s3_server: ServerInfo) -> None:
    """Cell "In [3]": five 5,000-byte parts from three threads, then complete."""
    notebook.run(SETUP)
    if not accepts_small_parts(s3_server):
        error, printed = notebook.refused(PARALLEL)
        assert_entity_too_small(error)
        assert printed == ""
        assert sorted(notebook.namespace["mpu"].parts) == [1, 2, 3, 4, 5]  # all were stored
        return
    printed = notebook.run(PARALLEL)
    assert_shows(printed, PARALLEL)
    assert "Final object size: 25000 bytes" in printed
    ns = notebook.namespace
    expected = b"".join(content for _, content in ns["parts_data"])
    assert ns["obj"].get_reader().read_all() == expected


def test_out_of_order_cell(notebook: Notebook, s3_server: ServerInfo) -> None:
    """Cell "In [4]": parts uploaded 3, 1, 2; assembled 1, 2, 3."""
    notebook.run(SETUP)
    if not accepts_small_parts(s3_server):
        error, printed = notebook.refused(OUT_OF_ORDER)
        assert_entity_too_small(error)
        assert_shows(printed, OUT_OF_ORDER, PRINTED_BEFORE_COMPLETE[OUT_OF_ORDER])
        assert "Parts uploaded in order: [3, 1, 2]" in printed
        return
    printed = notebook.run(OUT_OF_ORDER)
    assert_shows(printed, OUT_OF_ORDER)
    assert "Parts uploaded in order: [3, 1, 2]" in printed
    assert (
        "Final content: 'This should be first. This should be second. This should be third. '"
        in printed
    )


def test_whole_notebook_in_order(notebook: Notebook, s3_server: ServerInfo) -> None:
    """All cells in one namespace, top to bottom, as "Run All" does (a refused cell
    stops nothing: the next cell runs, as in Jupyter when run one by one)."""
    outputs = [notebook.run(SETUP)]
    for cell in (BASIC, PARALLEL, OUT_OF_ORDER):
        if accepts_small_parts(s3_server):
            outputs.append(notebook.run(cell))
        else:
            error, printed = notebook.refused(cell)
            assert_entity_too_small(error)
            outputs.append(printed)
    for cell, printed in enumerate(outputs):
        lines = None if accepts_small_parts(s3_server) else PRINTED_BEFORE_COMPLETE.get(cell)
        assert_shows(printed, cell, lines)
