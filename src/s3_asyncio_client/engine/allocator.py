"""One process-wide allocator setting that downloads ask for (glibc only).

A reply's body arrives in pieces of up to 256 KiB, each a new bytes object made by
the HTTP parser. With glibc's defaults such a block is mmap'ed, or carved from the
top of the heap that free() then trims back to the system, so nearly every piece
faults fresh pages in: measured, 50,000 to 60,000 page faults per GiB downloaded.
An mmap threshold of 1 MiB and a trim threshold of 32 MiB let the pieces reuse
freed memory instead: 6,000 page faults and 17 % less CPU per GiB, the same peak
RSS. The setting holds for the whole process from the first download on (glibc
keeps up to 32 MiB of freed heap for reuse); it is left alone where the environment
sets a ``MALLOC_*`` variable or a ``glibc.malloc.*`` tunable of its own, or the C
library is not glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune_for_downloads"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 1024 * 1024
_TRIM_THRESHOLD = 32 * 1024 * 1024
_tuned: bool | None = None  # None: not tried yet in this process


def tune_for_downloads() -> bool:
    """Apply the setting once per process; True if it is in effect."""
    global _tuned
    if _tuned is None:
        _tuned = _apply()
    return _tuned


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def _apply() -> bool:
    if sys.platform != "linux" or not _glibc():
        return False
    if any(name.startswith("MALLOC_") for name in os.environ) or "glibc.malloc." in (
        os.environ.get("GLIBC_TUNABLES", "")
    ):
        return False  # the environment chose its own settings
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
