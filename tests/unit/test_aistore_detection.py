"""When the client takes its endpoint for AIStore's S3 API, and what changes then:
at most 9,999 parts, no 5 MiB minimum, no UploadPartCopy, parts 1..N, redirects."""

from __future__ import annotations

import pytest

from s3_asyncio_client import ConnectionConfig, S3Client, S3InvalidRequestError
from s3_asyncio_client.client.capabilities import EndpointCapabilities, is_aistore_url
from s3_asyncio_client.protocol.limits import MAX_PARTS, MIN_PART_SIZE, plan_part_size

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.0.0.1:51080/s3", True),
        ("http://10.0.0.1:51080/s3/", True),
        ("https://gw.example/cluster/s3", True),
        ("http://10.0.0.1:51080", False),
        ("http://10.0.0.1:51080/", False),
        ("http://10.0.0.1:51080/s3x", False),
        ("http://s3.example:9000", False),  # "s3" in the host is not the path
        ("http://host/s3-gateway", False),
    ],
)
def test_an_endpoint_path_ending_in_s3_is_aistore_shaped(url: str, expected: bool) -> None:
    assert is_aistore_url(url) is expected


def capabilities(flavor: str = "auto", url: str = "http://127.0.0.1:9000") -> EndpointCapabilities:
    return EndpointCapabilities(MIN_PART_SIZE, False, flavor, url)  # type: ignore[arg-type]


def test_plain_s3_keeps_s3s_limits() -> None:
    caps = capabilities()
    assert (caps.aistore, caps.max_parts, caps.min_part_size, caps.copies_parts) == (
        False,
        MAX_PARTS,
        MIN_PART_SIZE,
        True,
    )
    assert caps.missing_parts([1, 3]) == []
    assert caps.follows_redirect({"location": "http://elsewhere/"}) is False


@pytest.mark.parametrize(
    ("flavor", "url"), [("auto", "http://127.0.0.1:51080/s3"), ("aistore", "http://127.0.0.1:9000")]
)
def test_aistore_by_url_or_by_setting(flavor: str, url: str) -> None:
    caps = capabilities(flavor, url)
    assert (caps.aistore, caps.max_parts, caps.min_part_size, caps.copies_parts) == (
        True,
        9_999,
        0,
        False,
    )
    assert caps.missing_parts([3, 1, 5]) == [2, 4]
    assert caps.missing_parts([2, 1]) == []
    assert caps.follows_redirect({"location": "http://target:8081/s3/b/k"}) is True


def test_a_reply_from_aistore_shows_it() -> None:
    """AIStore's gateway puts ``Server: AIStore`` on its 307s: from then on its limits hold."""
    caps = capabilities()
    assert caps.follows_redirect({"server": "AIStore", "location": "http://t/s3/b/k"}) is True
    assert (caps.aistore, caps.max_parts, caps.min_part_size) == (True, 9_999, 0)


def test_flavor_s3_overrides_url_and_replies() -> None:
    caps = capabilities("s3", "http://127.0.0.1:51080/s3")
    assert caps.follows_redirect({"server": "AIStore", "location": "http://t/"}) is False
    assert (caps.aistore, caps.max_parts, caps.copies_parts) == (False, MAX_PARTS, True)


def test_flavor_is_checked_and_named() -> None:
    with pytest.raises(S3InvalidRequestError, match=r"flavor must be .*'aistor'"):
        ConnectionConfig(flavor="aistor")  # type: ignore[arg-type]


async def test_s3client_detects_from_its_endpoint_without_a_request() -> None:
    async with S3Client(
        endpoint_url="http://127.0.0.1:9/s3", access_key="a", secret_key="b", region="us-east-1"
    ) as client:
        assert client.capabilities.aistore is True
    async with S3Client(
        endpoint_url="http://127.0.0.1:9/s3",
        access_key="a",
        secret_key="b",
        region="us-east-1",
        flavor="s3",
    ) as client:
        assert client.capabilities.aistore is False


def test_the_part_plan_fits_9999_parts() -> None:
    """10,000 x 8 MiB fits S3's 10,000 parts at 8 MiB, but not AIStore's 9,999."""
    size = 10_000 * 8 * MiB
    assert plan_part_size(size) == 8 * MiB
    planned = plan_part_size(size, max_parts=9_999)
    assert planned == 9 * MiB
    assert -(-size // planned) <= 9_999
    with pytest.raises(Exception, match="exceeds the multipart limit"):
        plan_part_size(10_000 * 5 * 1024 * MiB, max_parts=9_999)
