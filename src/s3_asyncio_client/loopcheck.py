"""Finding blocking calls on an event loop's thread: a test aid.

    async def test_upload(...):
        with forbid_blocking():
            await client.upload_file(...)

While the block runs, a blocking call made on the loop's thread raises
``BlockingCallError`` where it is made, and is recorded; leaving the block raises one
for the first call recorded, in case the error was caught on the way. With
``within=path``, only calls made by code under ``path`` count (directly, or through
the standard library or installed packages): a test's own file I/O does not. Blocking calls
are the audited ones (PEP 578) that wait on the disk, the network or the clock:
opening a file, listing, creating, renaming or deleting files, DNS lookups,
``time.sleep``, starting processes, opening SQLite. Imports are allowed (a module is
read once; importing lazily is how start-up stays cheap), and so is everything on
other threads: ``asyncio.to_thread`` is the fix this points to. Calls Python does not
audit (``os.stat``, ``os.fsync``, reads and writes on an open file) are not seen.

Python's audit hooks cannot be removed: one is installed on first use, and costs a
set lookup per audited event on threads not being watched.
"""

from __future__ import annotations

import asyncio
import sys
import sysconfig
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["BLOCKING_EVENTS", "BlockingCallError", "forbid_blocking"]

BLOCKING_EVENTS = frozenset(
    {
        "open",
        "os.listdir",
        "os.scandir",
        "os.mkdir",
        "os.rename",
        "os.remove",
        "os.rmdir",
        "os.truncate",
        "os.chmod",
        "os.utime",
        "os.link",
        "os.symlink",
        "shutil.copyfile",
        "shutil.rmtree",
        "shutil.move",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "time.sleep",
        "subprocess.Popen",
        "os.system",
        "os.posix_spawn",
        "sqlite3.connect",
    }
)


class BlockingCallError(RuntimeError):
    """A blocking call was made on a watched event loop's thread."""


_watched: dict[int, tuple[list[str], str | None]] = {}  # thread -> (calls seen, within)
_installed = False
_lock = threading.Lock()
_LIBRARIES = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _blamed(frame: FrameType | None, within: str | None) -> bool:
    """Does this call count: not part of an import, and made by code under ``within``
    (through libraries or not), or by anyone if ``within`` is None?"""
    blamed = within is None
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib"):
            return False  # reading a module's code or its folder
        if not blamed and within is not None:
            if name.startswith(within):
                blamed = True
            elif not name.startswith(_LIBRARIES) and not name.startswith("<"):
                return False  # the caller's own code, not under ``within``
        frame = frame.f_back
    return blamed


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event not in BLOCKING_EVENTS:
        return
    watched = _watched.get(threading.get_ident())
    if watched is None:
        return
    seen, within = watched
    if not _blamed(sys._getframe(1), within):
        return
    call = f"{event}{args!r}"[:300]
    seen.append(call)
    raise BlockingCallError(f"blocking call on the event loop's thread: {call}")


@contextmanager
def forbid_blocking(
    loop: asyncio.AbstractEventLoop | None = None, *, within: str | None = None
) -> Iterator[list[str]]:
    """Watch the thread running ``loop`` (default: the running loop, so call it in a
    coroutine) for blocking calls (made by code under ``within``, if given); yields
    the list of calls seen."""
    global _installed
    if loop is None:
        loop = asyncio.get_running_loop()
    thread = getattr(loop, "_thread_id", None) or threading.get_ident()
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        if thread in _watched:
            raise RuntimeError("this loop's thread is already watched")
        seen: list[str] = []
        _watched[thread] = (seen, within)
    try:
        yield seen
    finally:
        with _lock:
            _watched.pop(thread, None)
    if seen:
        raise BlockingCallError(
            f"{len(seen)} blocking call(s) on the event loop's thread, first: {seen[0]}"
        )
