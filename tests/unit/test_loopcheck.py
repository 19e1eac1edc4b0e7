"""The blocking-call detector: what it catches, what it lets pass."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from pathlib import Path

import pytest

from s3_asyncio_client.loopcheck import BlockingCallError, forbid_blocking


async def test_a_file_opened_on_the_loop_thread_fails_where_it_is_opened() -> None:
    def swallowing() -> str:
        try:
            open(os.devnull).close()
        except BlockingCallError as error:
            return str(error)  # caught where it was made, as library code might
        return ""

    outcome: dict[str, str] = {}
    with pytest.raises(BlockingCallError, match="1 blocking call"), forbid_blocking() as seen:
        outcome["raised"] = swallowing()
    assert "open('/dev/null'" in outcome["raised"]
    assert len(seen) == 1


async def test_threads_and_imports_are_allowed() -> None:
    with forbid_blocking() as seen:
        await asyncio.to_thread(lambda: open(os.devnull).close())
        sys.modules.pop("tomllib", None)
        importlib.import_module("tomllib")  # reads the module's code: not counted
    assert seen == []


async def test_within_counts_only_the_calls_of_that_code(tmp_path: Path) -> None:
    package = tmp_path / "blocker_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import os\n\ndef touch():\n    os.listdir(os.curdir)\n\nasync def sleepy():\n"
        "    import asyncio\n    await asyncio.to_thread(os.listdir, os.curdir)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        blocker = importlib.import_module("blocker_pkg")
        with forbid_blocking(within=str(package)) as seen:
            os.listdir(os.curdir)  # the test's own call: not counted
            await blocker.sleepy()  # in a thread: not counted
            with pytest.raises(BlockingCallError, match=r"os\.listdir"):
                blocker.touch()
            seen.clear()  # caught and accepted here
        assert seen == []
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("blocker_pkg", None)


async def test_a_thread_is_watched_once() -> None:
    with forbid_blocking(), pytest.raises(RuntimeError, match="already watched"), forbid_blocking():
        pass
