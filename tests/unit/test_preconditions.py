"""The write conditions, checked before any request: what is refused, and the one
form an accepted ETag is sent in."""

from __future__ import annotations

import pytest

from s3_asyncio_client.protocol.errors import LocalProtocolError
from s3_asyncio_client.protocol.preconditions import normalise_etag, write_conditions


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("abc123", '"abc123"'),
        ('"abc123"', '"abc123"'),
        ('  "abc-3" ', '"abc-3"'),
        ("d41d8cd98f00b204e9800998ecf8427e-12", '"d41d8cd98f00b204e9800998ecf8427e-12"'),
    ],
)
def test_an_etag_with_or_without_quotes_is_sent_quoted(given: str, sent: str) -> None:
    assert normalise_etag(given) == sent
    assert write_conditions(if_match=given) == {"if-match": sent}


@pytest.mark.parametrize("bad", ["", '""', '"', 'W/"abc"', "a, b", "a b", "é", "a\tb", 3, None])
def test_a_bad_etag_is_refused_naming_it(bad: object) -> None:
    with pytest.raises(LocalProtocolError, match="if_match must be one ETag") as refused:
        normalise_etag(bad)
    assert refused.value.value == bad


def test_if_none_match_takes_only_a_star() -> None:
    assert write_conditions(if_none_match="*") == {"if-none-match": "*"}
    assert write_conditions() == {}
    for bad in ("", "abc", '"*"', "**"):
        with pytest.raises(LocalProtocolError, match="only takes"):
            write_conditions(if_none_match=bad)
    with pytest.raises(LocalProtocolError, match="not both"):
        write_conditions(if_none_match="*", if_match="abc")
