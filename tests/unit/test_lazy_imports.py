"""What each entry point loads: facts about imports, checked in a fresh interpreter.

``import s3_asyncio_client`` loads the exceptions only; the command line's help and
version load neither aiohttp, rich, the client nor the transfer engine; the embedded
server does not load the client or the engine (nor aiohttp for its help); the sync
facade does not load the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import s3_asyncio_client

WATCHED = (
    "aiohttp",
    "awscrt",
    "click",
    "rich",
    "s3_asyncio_client.cli",
    "s3_asyncio_client.client",
    "s3_asyncio_client.engine",
    "s3_asyncio_client.sync",
)


def loaded_after(code: str) -> set[str]:
    """The watched modules in ``sys.modules`` after ``code`` ran in a new interpreter
    (a SystemExit, as from ``--help``, ends the code, not the check)."""
    probe = (
        "import json, sys\n"
        f"try:\n    exec({code!r})\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {WATCHED!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_the_package_alone_loads_nothing_heavy() -> None:
    assert loaded_after("import s3_asyncio_client") == set()


def test_a_lazy_name_loads_its_subpackage_on_first_access() -> None:
    loaded = loaded_after("from s3_asyncio_client import S3Client, TransferConfig")
    assert "s3_asyncio_client.client" in loaded
    assert "awscrt" not in loaded  # loaded for the first CRC64NVME, not for CRC32C
    assert loaded_after("from s3_asyncio_client import S3NoSuchKeyError") == set()


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["cp", "--help"], ["serve", "-h"]])
def test_cli_help_and_version_load_no_client_engine_nor_aiohttp(argv: list[str]) -> None:
    code = (
        f"import sys\nsys.argv = ['s3aio', *{argv!r}]\n"
        "from s3_asyncio_client.cli import main\nmain()"
    )
    assert loaded_after(code) == {"click", "s3_asyncio_client.cli"}


def test_the_sync_facade_does_not_load_the_cli() -> None:
    loaded = loaded_after("from s3_asyncio_client import Client")
    assert loaded.isdisjoint({"click", "rich", "s3_asyncio_client.cli"})


def test_dir_lists_lazy_names_and_unknown_names_fail() -> None:
    assert set(s3_asyncio_client.__all__) <= set(dir(s3_asyncio_client))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = s3_asyncio_client.no_such_name  # type: ignore[attr-defined]


def test_the_server_loads_neither_client_nor_engine_and_its_help_no_aiohttp() -> None:
    code = (
        "import runpy, sys\nsys.argv = ['server', '--help']\n"
        "runpy.run_module('s3_asyncio_client.server', run_name='__main__')"
    )
    assert loaded_after(code) == set()
    served = loaded_after("from s3_asyncio_client.server import LocalS3Server")
    assert "aiohttp" in served
    assert not {"s3_asyncio_client.client", "s3_asyncio_client.engine"} & served
