"""Key patterns for ``s3aio ls``: ``*``, ``?`` and ``[...]``, anywhere in the key.

S3 lists by prefix only: the listing starts at the literal part of the pattern,
before its first wildcard, and keys are filtered here, each matched whole as
``fnmatch.fnmatchcase`` matches (``*`` and ``?`` match any character, ``/`` included;
``[abc]``, ``[a-z]``, ``[!abc]`` one character of a set). Without ``--recursive``, a
pattern whose wildcards are all in its last segment lists that level only, as a
shell's ``ls logs/*.gz`` does (folders shown as PRE); one with a wildcard before a
``/`` (``logs/*/err.log``), or ``--recursive``, matches every key below the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import translate

__all__ = ["is_glob", "literal_prefix", "matcher"]

_WILDCARD = re.compile(r"[*?]|\[[^\]]+\]")


def is_glob(key: str) -> bool:
    """Whether ``key`` holds a wildcard (a ``[`` without its ``]`` is literal)."""
    return _WILDCARD.search(key) is not None


def literal_prefix(key: str) -> str:
    """The part of ``key`` before its first wildcard: where the listing starts."""
    found = _WILDCARD.search(key)
    return key if found is None else key[: found.start()]


def matcher(pattern: str) -> Callable[[str], bool]:
    """``key -> bool``: whether the whole key matches ``pattern``."""
    compiled = re.compile(translate(pattern), re.DOTALL)
    return lambda key: compiled.match(key) is not None
