"""The guard every paginator follows its pages through (listing.Pages)."""

from __future__ import annotations

import pickle

import pytest

from s3_asyncio_client.client.listing import Pages
from s3_asyncio_client.exceptions import S3PaginationError, S3ServerError


def test_new_tokens_are_followed_until_the_last_page() -> None:
    pages: Pages[str] = Pages("ListObjectsV2", "continuation token", "b")
    assert pages.follow(True, "t1")
    assert pages.follow(True, "t2")
    assert not pages.follow(False, None)
    assert not pages.follow(False, "t1")  # a last page's token is not followed


def test_a_token_seen_before_is_refused_even_after_others() -> None:
    pages: Pages[str] = Pages("ListObjectsV2", "continuation token", "b")
    assert pages.follow(True, "A")
    assert pages.follow(True, "B")
    with pytest.raises(S3PaginationError) as caught:
        pages.follow(True, "A")
    error = caught.value
    assert str(error) == (
        "ListObjectsV2: the same next continuation token was received twice: 'A' (bucket='b')"
    )
    assert (error.token, error.bucket, error.key) == ("A", "b", None)
    assert isinstance(error, S3ServerError)


def test_truncated_without_a_token_is_refused() -> None:
    pages: Pages[int] = Pages("ListParts", "part number marker", "b", "k")
    with pytest.raises(S3PaginationError, match="IsTruncated but sends no next part number"):
        pages.follow(True, None)


def test_the_error_pickles_with_its_token() -> None:
    error = S3PaginationError("repeated", token="t", bucket="b", key="k")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.token, str(copy)) == (S3PaginationError, "t", str(error))
