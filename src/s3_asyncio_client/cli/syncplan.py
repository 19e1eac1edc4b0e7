"""Planning ``s3aio sync``: the entries of both sides in, what to do with each out.
No I/O: the runner (``syncing``) lists, asks for details and transfers.

Rules:
1. Both sides are given sorted by name in UTF-8 byte order, the order S3 lists keys
   in (a local walk sorts each folder so, see ``walk_order``); ``pairs`` merges them.
2. Filters (``--exclude``/``--include``) apply in the order given and the last one
   that matches a name decides; a name no filter matches is included. A pattern
   matches the name relative to its side's root, ``*`` across ``/`` too (fnmatch).
   A name filtered out is neither transferred nor deleted.
3. A file the destination lacks is transferred; one the source lacks is deleted
   with ``--delete``, else left alone.
4. A file on both sides is transferred when the sizes differ, else by ``compare``:
   "default" when the source is newer, "exact" when the times differ at all, "size"
   never, "checksum" by content (the runner's answer, ``decide``'s ``same_content``;
   None falls back to "default").
5. An object's time is its ``mtime`` metadata (seconds since the epoch, a decimal,
   as rclone writes it), else its LastModified. A listing gives only the latter:
   where the verdict would depend on it, the step is "detail" and the runner asks
   (HEAD) and calls ``decide`` again with the entry ``resolved``. LastModified has
   whole seconds: times are compared to the second when one side has no better.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Literal, NamedTuple

__all__ = [
    "Compare",
    "Entry",
    "Filters",
    "Step",
    "decide",
    "format_mtime",
    "pairs",
    "parse_mtime",
    "parse_time",
    "plan",
    "resolved",
    "walk_order",
]

Compare = Literal["default", "exact", "size", "checksum"]
StepKind = Literal["transfer", "delete", "skip", "detail"]
_NS = 1_000_000_000


class Entry(NamedTuple):
    """A file or an object, named relative to its side's root."""

    name: str  # "/"-separated
    size: int
    mtime_ns: int  # nanoseconds since the epoch
    precise: bool = True  # False: whole seconds (an object's LastModified)
    resolved: bool = True  # False: an object known from a listing only (rule 5)


class Step(NamedTuple):
    kind: StepKind
    source: Entry | None
    target: Entry | None


class Filters:
    """``--exclude``/``--include`` patterns, in the order given (rule 2)."""

    def __init__(self, rules: Iterable[tuple[bool, str]] = ()) -> None:
        self.rules = [(include, pattern) for include, pattern in rules]

    def included(self, name: str) -> bool:
        verdict = True
        for include, pattern in self.rules:
            if fnmatchcase(name, pattern):
                verdict = include
        return verdict


def resolved(entry: Entry, mtime_ns: int | None) -> Entry:
    """An object's entry once its HEAD is read: its ``mtime`` metadata when it has
    one, else still its LastModified, now final (rule 5)."""
    if mtime_ns is None:
        return Entry(entry.name, entry.size, entry.mtime_ns, entry.precise, True)
    return Entry(entry.name, entry.size, mtime_ns, True, True)


def walk_order(name: str, is_dir: bool) -> bytes:
    """The key that sorts a folder's entries so that a depth-first walk yields
    names in UTF-8 byte order: a folder sorts as its name and "/" (rule 1)."""
    return (name + "/" if is_dir else name).encode("utf-8", "surrogateescape")


def _order(entry: Entry) -> bytes:
    return entry.name.encode("utf-8", "surrogateescape")


def pairs(
    sources: Iterable[Entry], targets: Iterable[Entry]
) -> Iterator[tuple[Entry | None, Entry | None]]:
    """Merge two name-sorted sequences: ``(source, target)``, None where one side
    lacks the name."""
    source_iter, target_iter = iter(sources), iter(targets)
    source, target = next(source_iter, None), next(target_iter, None)
    while source is not None or target is not None:
        if target is None or (source is not None and _order(source) < _order(target)):
            yield source, None
            source = next(source_iter, None)
        elif source is None or _order(target) < _order(source):
            yield None, target
            target = next(target_iter, None)
        else:
            yield source, target
            source, target = next(source_iter, None), next(target_iter, None)


def _seconds(entry: Entry, coarse: bool) -> int:
    return entry.mtime_ns // _NS if coarse else entry.mtime_ns


def decide(
    source: Entry, target: Entry, compare: Compare, same_content: bool | None = None
) -> StepKind:
    """Transfer, skip, or ask for the details (rules 4 and 5)."""
    if source.size != target.size:
        return "transfer"
    if compare == "size":
        return "skip"
    if compare == "checksum":
        if same_content is not None:
            return "skip" if same_content else "transfer"
        if not (source.resolved and target.resolved):
            return "detail"  # the same request brings the checksum and the mtime
    coarse = not (source.precise and target.precise)
    source_time, target_time = _seconds(source, coarse), _seconds(target, coarse)
    differs = source_time > target_time if compare != "exact" else source_time != target_time
    if not differs:
        return "skip"
    return "transfer" if source.resolved and target.resolved else "detail"


def plan(
    sources: Iterable[Entry],
    targets: Iterable[Entry],
    *,
    compare: Compare = "default",
    delete: bool = False,
    filters: Filters | None = None,
) -> Iterator[Step]:
    """Each name's step (rules 2-5); names filtered out yield nothing."""
    for source, target in pairs(sources, targets):
        entry = source if source is not None else target
        assert entry is not None  # pairs() never yields (None, None)
        if filters is not None and not filters.included(entry.name):
            continue
        if source is None:
            if delete:
                yield Step("delete", None, target)
        elif target is None:
            yield Step("transfer", source, None)
        else:
            yield Step(decide(source, target, compare), source, target)


def format_mtime(mtime_ns: int) -> str:
    """The ``mtime`` metadata value: seconds since the epoch, nanoseconds exact."""
    seconds, fraction = divmod(mtime_ns, _NS)
    return f"{seconds}.{fraction:09d}"


def parse_mtime(text: str | None) -> int | None:
    """``mtime`` metadata -> nanoseconds; None when absent or not a number."""
    if not text:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return int(value * _NS) if value.is_finite() else None


def parse_time(text: str) -> int:
    """A listing's ISO 8601 LastModified, or a HEAD's HTTP date -> nanoseconds."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = email.utils.parsedate_to_datetime(text)
    seconds = int(moment.timestamp())
    return seconds * _NS + moment.microsecond * 1000
