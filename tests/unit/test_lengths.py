"""Lengths a server sends (protocol/lengths.py): checked, never taken as zero."""

from __future__ import annotations

import pickle

import pytest

from s3_asyncio_client.exceptions import S3IntegrityError, S3LengthError
from s3_asyncio_client.protocol.errors import RemoteLengthError, RemoteProtocolError
from s3_asyncio_client.protocol.lengths import ByteSpan, object_span, parse_body_span, parse_length
from s3_asyncio_client.protocol.limits import MAX_OBJECT_SIZE
from s3_asyncio_client.transport.errors import s3_error


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 0), ("007", 7), (str(MAX_OBJECT_SIZE), MAX_OBJECT_SIZE)]
)
def test_lengths_that_parse(value: str, expected: int) -> None:
    assert parse_length(value, "Content-Length") == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "-1", "+1", " 1", "1 ", "1_000", "0x10", "1.0", "abc", "\u0663", "\uff11",
     str(MAX_OBJECT_SIZE + 1), "9" * 21, "9" * 5000],
)  # fmt: skip
def test_lengths_that_do_not(value: str | None) -> None:
    with pytest.raises(RemoteLengthError, match="malformed reply: Content-Length is") as caught:
        parse_length(value, "Content-Length", bucket="b", key="k")
    neutral = caught.value
    assert isinstance(neutral, RemoteProtocolError)
    assert (neutral.value, neutral.bucket, neutral.key) == (value, "b", "k")
    again = pickle.loads(pickle.dumps(neutral))
    assert (type(again), again.value, again.key) == (RemoteLengthError, value, "k")
    error = s3_error(neutral)  # what the client raises for it
    assert isinstance(error, S3IntegrityError)
    assert (error.message, error.value, error.bucket, error.key) == (
        neutral.message,
        value,
        "b",
        "k",
    )
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.value, again.key) == (S3LengthError, value, "k")


def test_object_span() -> None:
    assert object_span({"content-length": "10"}, False) == ByteSpan(0, 9, 10)
    assert object_span({"content-length": "0"}, False) == ByteSpan(0, -1, 0)
    ranged = {"content-length": "5", "content-range": "bytes 5-9/20"}
    assert object_span(ranged, True) == ByteSpan(5, 9, 20)
    with pytest.raises(RemoteLengthError, match="Content-Range is missing"):
        object_span({"content-length": "5"}, True)


@pytest.mark.parametrize(
    "content_range",
    ["bytes 5-9/*", "bytes 9-5/20", "bytes 5-20/20", "bytes 5-9", "5-9/20", "bytes -5-9/20",
     "bytes 5-9/20 ", "items 5-9/20", f"bytes 0-4/{MAX_OBJECT_SIZE + 1}"],
)  # fmt: skip
def test_malformed_content_ranges(content_range: str) -> None:
    with pytest.raises(RemoteLengthError) as caught:
        object_span({"content-length": "5", "content-range": content_range}, True)
    assert caught.value.value == content_range


def test_a_content_range_and_a_content_length_must_agree() -> None:
    with pytest.raises(RemoteLengthError, match="not the 6 bytes of Content-Length"):
        object_span({"content-length": "6", "content-range": "bytes 5-9/20"}, False)


def _reply(first: int, last: int, total: int) -> dict[str, str]:
    return {
        "content-length": str(last - first + 1),
        "content-range": f"bytes {first}-{last}/{total}",
    }


@pytest.mark.parametrize(
    ("asked", "status", "headers", "span"),
    [
        ((10, 19), 206, _reply(10, 19, 100), ByteSpan(10, 19, 100)),
        ((90, 200), 206, _reply(90, 99, 100), ByteSpan(90, 99, 100)),  # S3 ends it at the end
        ((90, None), 206, _reply(90, 99, 100), ByteSpan(90, 99, 100)),
        ((-5, None), 206, _reply(95, 99, 100), ByteSpan(95, 99, 100)),
        ((-500, None), 206, _reply(0, 99, 100), ByteSpan(0, 99, 100)),
        (None, 200, {"content-length": "100"}, ByteSpan(0, 99, 100)),
        (None, 200, {"content-length": "0"}, ByteSpan(0, -1, 0)),
        ((0, None), 200, {"content-length": "100"}, ByteSpan(0, 99, 100)),  # Range ignored
        ((0, 500), 200, {"content-length": "100"}, ByteSpan(0, 99, 100)),
        (None, 206, _reply(0, 99, 100), ByteSpan(0, 99, 100)),
    ],
)
def test_replies_that_hold_what_was_asked(
    asked: tuple[int, int | None] | None, status: int, headers: dict[str, str], span: ByteSpan
) -> None:
    assert parse_body_span(status, headers, asked) == span


@pytest.mark.parametrize(
    ("asked", "status", "headers", "message"),
    [
        ((10, 19), 206, _reply(11, 20, 100), "asked for bytes 10-19, got bytes 11-20/100"),
        ((10, 19), 206, _reply(10, 18, 100), "asked for bytes 10-19, got bytes 10-18/100"),
        ((10, 19), 206, _reply(10, 29, 100), "asked for bytes 10-19, got bytes 10-29/100"),
        ((90, None), 206, _reply(90, 98, 100), "asked for bytes 90-, got bytes 90-98/100"),
        ((-5, None), 206, _reply(94, 99, 100), "asked for bytes -5, got bytes 94-99/100"),
        ((10, 19), 200, {"content-length": "100"}, "got the whole object (100 bytes)"),
        ((0, 9), 200, {"content-length": "100"}, "asked for bytes 0-9, got the whole object"),
        (None, 206, _reply(0, 98, 100), "asked for the whole object, got bytes 0-98/100"),
        ((10, 19), 206, {"content-length": "10"}, "Content-Range is missing"),
        ((10, 19), 206, {"content-range": "bytes 10-19/100"}, "Content-Length is missing"),
        (None, 200, {}, "Content-Length is missing"),
    ],
)
def test_replies_that_do_not(
    asked: tuple[int, int | None] | None, status: int, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(RemoteLengthError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_body_span(status, headers, asked, bucket="b", key="k")
