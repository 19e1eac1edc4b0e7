"""What a download to a file (``download``) and one to a stream (``stream``) share:
the object pinned by its HEAD, its ranges fetched with retries and checked, and its
checksum settled once every byte has arrived. The rules are ``download``'s (1, 3-5).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from ..config import TransferConfig
from ..exceptions import (
    S3ConnectionError,
    S3Error,
    S3IntegrityError,
    S3LengthError,
    S3ObjectChangedError,
    S3TimeoutError,
)
from ..protocol.checksums import crc_function
from ..protocol.crc import ObjectChecksum, object_checksum, verify_digests, verify_parts
from ..protocol.lengths import parse_body_span
from ..protocol.responses import ObjectInfo
from .fanout import fan_out, in_task_group
from .ports import ObjectStore, ReplyStream

__all__ = [
    "RANGE_ATTEMPTS",
    "Pinned",
    "RangeSink",
    "Remote",
    "digests_mismatch",
    "fetch_range",
    "pin",
    "plan_ranges",
    "settle",
]

RANGE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Remote:
    """The object being downloaded, pinned to the ETag its HEAD gave (rule 1)."""

    store: ObjectStore
    bucket: str
    key: str
    etag: str
    size: int

    async def part_size(self, number: int) -> int:
        # Not pinned with If-Match: moto answers a part's HEAD with the part's own ETag.
        info = await self.store.head_object(self.bucket, self.key, part_number=number)
        return info["content_length"]

    def integrity_error(self, message: str) -> S3IntegrityError:
        return S3IntegrityError(message, bucket=self.bucket, key=self.key)

    def check(
        self, status: int, headers: Mapping[str, str], byte_range: tuple[int, int] | None
    ) -> None:
        """A reply must come from the pinned version and hold ``byte_range`` (None:
        all) of an object of the pinned size (rules 1 and 5)."""
        where = {"bucket": self.bucket, "key": self.key}
        etag = headers.get("etag", "")  # "" == "": a server that sends none at all
        if etag != self.etag:
            raise S3ObjectChangedError(
                f"the object changed during the download: its ETag was {self.etag}, "
                f"a reply carries {etag or 'none'} (the server ignored If-Match)",
                value=headers.get("etag"),
                **where,
            )
        span = parse_body_span(status, headers, byte_range, **where)
        if span.total != self.size:
            raise S3LengthError(
                f"the reply to bytes {span.first}-{span.last} says the object is "
                f"{span.total} bytes, its HEAD said {self.size}",
                value=headers.get("content-range", headers.get("content-length")),
                **where,
            )

    @asynccontextmanager
    async def open(self, byte_range: tuple[int, int] | None) -> AsyncIterator[ReplyStream]:
        """A GET of ``byte_range`` (None: all) of the pinned version, checked."""
        async with self.store.open_object(
            self.bucket, self.key, byte_range=byte_range, if_match=self.etag
        ) as stream:
            self.check(stream.status, stream.headers, byte_range)
            yield stream

    async def confirm_empty(self) -> None:
        """A HEAD said 0 bytes: a GET's Content-Length must agree (``check``)."""
        async with self.open(None):
            pass


class RangeSink(Protocol):
    """Where a range's bytes go as they arrive: ``start`` is the first byte not yet
    handed over; ``begin(offset)`` drops what was gathered but not handed over."""

    start: int

    def begin(self, offset: int) -> None: ...

    async def add(self, piece: bytes, last: bool) -> None: ...

    async def wait(self) -> None: ...

    def roll_back(self) -> None: ...


async def fetch_range(remote: Remote, span: tuple[int, int], sink: RangeSink) -> None:
    """Bytes ``span`` (inclusive) into ``sink``; a body that breaks off is asked again
    from its first missing byte, up to RANGE_ATTEMPTS times (rule 4)."""
    first, last = span
    sink.begin(first)
    try:
        for attempt in range(RANGE_ATTEMPTS):
            position = sink.start
            try:
                async with remote.open((position, last)) as stream:
                    while position <= last:
                        piece = await stream.read_chunk()
                        if not piece:
                            raise S3ConnectionError(
                                "reply ended early", bucket=remote.bucket, key=remote.key
                            )
                        if len(piece) > last - position + 1:
                            raise S3LengthError(
                                f"the reply to bytes {first}-{last} is longer than declared",
                                bucket=remote.bucket,
                                key=remote.key,
                            )
                        position += len(piece)
                        await sink.add(piece, position > last)
                await sink.wait()
                return
            except (S3ConnectionError, S3TimeoutError):
                sink.begin(sink.start)  # what was not handed over comes again
                if attempt + 1 == RANGE_ATTEMPTS:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
    except BaseException:
        try:
            await sink.wait()
        finally:
            sink.roll_back()
        raise


@dataclass(frozen=True, slots=True)
class Pinned:
    """The object to download: its HEAD, the checksum to verify (None: none that can
    be checked) and the part sizes ranges must not cross."""

    remote: Remote
    info: ObjectInfo
    expected: ObjectChecksum | None
    part_sizes: list[int]


async def pin(store: ObjectStore, bucket: str, key: str, config: TransferConfig) -> Pinned:
    """HEAD the object with its checksum and plan its parts (rules 1 and 3); with
    ``require_checksum``, fail now if nothing can be verified."""
    info = await store.head_object(bucket, key, checksum_mode=True)
    remote = Remote(store, bucket, key, info["etag"], info["content_length"])
    if remote.size == 0:
        await remote.confirm_empty()
    expected = object_checksum(
        info.get("checksums", {}), info.get("checksum_type"), remote.etag, info.get("parts_count")
    )
    part_sizes, expected = await _part_sizes(remote, expected)
    if expected is None and config.require_checksum:
        raise remote.integrity_error(_unverifiable(info))
    return Pinned(remote, info, expected, part_sizes)


async def _part_sizes(
    remote: Remote, expected: ObjectChecksum | None
) -> tuple[list[int], ObjectChecksum | None]:
    """The object's parts as S3 stored them, guessed from part 1 (one part when that
    does not matter), and the checksum still to verify (rule 3)."""
    size = remote.size
    count = (expected.parts or expected.ambiguous_parts) if expected else None
    if expected is None or count is None or count <= 1:
        return [size], expected
    try:
        first = await remote.part_size(1)
    except S3IntegrityError:
        raise  # a lying reply is not a server that cannot tell
    except S3Error:
        first = 0
    if not (first > 0 and (count - 1) * first < size <= count * first):
        # Part sizes unknown: a composite cannot be checked. An ambiguous value still
        # may be the whole object's CRC (``settle`` condemns nothing it cannot tell).
        return [size], expected if expected.parts is None else None
    return [first] * (count - 1) + [size - (count - 1) * first], expected


def plan_ranges(part_sizes: list[int], range_size: int) -> list[list[tuple[int, int]]]:
    """Per part, the inclusive byte ranges to fetch: at most ``range_size`` each."""
    plan, start = [], 0
    for length in part_sizes:
        end = start + length
        plan.append(
            [(first, min(first + range_size, end) - 1) for first in range(start, end, range_size)]
        )
        start = end
    return plan


def digests_mismatch(
    expected: ObjectChecksum, digests: list[bytes], part_sizes: list[int]
) -> str | None:
    """What each part's digest (of ``expected.algorithm``, in order) gives if not
    ``expected``; None if they match."""
    if crc_function(expected.algorithm) is None:
        return verify_digests(expected, digests)
    lengths = zip(digests, part_sizes, strict=True)
    return verify_parts(expected, [[(int.from_bytes(d, "big"), n)] for d, n in lengths])


async def _exact_parts(remote: Remote, count: int, concurrency: int) -> list[int] | None:
    """Every part's size, one HEAD each (the layout guessed from part 1 is wrong if
    the parts differ in size); None if the server cannot tell (it refuses a part
    number, or the sizes do not add up). Any other error propagates: a failed HEAD
    must not turn a detected mismatch into an unverified success."""
    sizes = [0] * count

    async def head(number: int) -> None:
        sizes[number - 1] = await remote.part_size(number)

    try:
        await in_task_group(
            lambda group: fan_out(group, range(1, count + 1), head, concurrency=concurrency)
        )
    except S3Error as exc:
        if exc.status_code in (400, 416):  # InvalidPartNumber, InvalidArgument
            return None
        raise
    return sizes if sum(sizes) == remote.size else None


async def settle(
    pinned: Pinned,
    config: TransferConfig,
    computed: Callable[[ObjectChecksum], Awaitable[str | None]],
    recheck: Callable[[ObjectChecksum, list[int]], Awaitable[str | None]] | None,
) -> ObjectChecksum | None:
    """The checksum the bytes matched, None if there is none to check (with
    ``require_checksum``: an error). ``computed(expected)`` says what the bytes give if
    not ``expected``, over the planned parts; ``recheck(expected, sizes)`` over other
    part sizes (None: the bytes cannot be read again, so a wrong guess of the layout
    leaves them unverified). A mismatch is an S3IntegrityError (rule 3)."""
    remote, expected, part_sizes = pinned.remote, pinned.expected, pinned.part_sizes
    verified = None
    if expected is not None:
        mismatch = await computed(expected)
        if mismatch is not None and len(part_sizes) > 1:
            # The layout was guessed from part 1: check it before crying foul.
            exact = await _exact_parts(remote, len(part_sizes), config.max_concurrency)
            if exact is None or (exact != part_sizes and recheck is None):
                mismatch, expected = None, None  # cannot be told: unverified, not condemned
            elif exact != part_sizes and recheck is not None:
                mismatch = await recheck(expected, exact)
        if mismatch is not None and expected is not None:
            if expected.ambiguous_parts in (None, len(part_sizes)):
                raise remote.integrity_error(
                    "the bytes received do not match the object's checksum: the server "
                    f"keeps {expected}, they give {mismatch}"
                )
            expected = None  # maybe a composite without its suffix, of unknown parts
        verified = expected
    if verified is None and config.require_checksum:
        raise remote.integrity_error(_unverifiable(pinned.info))
    return verified


def _unverifiable(info: ObjectInfo) -> str:
    """Why ``require_checksum`` failed a download."""
    kept = sorted(info.get("checksums", {}))
    slow = [name for name in kept if name.startswith("crc") and crc_function(name) is None]
    hint = f"; {', '.join(slow)} needs the 'fast' extra (awscrt, crc32c)" if slow else ""
    return (
        "the server keeps no checksum of this object that can be verified (checksums "
        f"kept: {', '.join(kept) or 'none'}; a composite needs the part sizes{hint}) "
        "and require_checksum is set"
    )
