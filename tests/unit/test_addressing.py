"""Endpoint validation, loopback detection and path vs virtual-host addressing."""

from __future__ import annotations

import dataclasses

import pytest

from s3_asyncio_client.protocol.addressing import Endpoint, encode_query
from s3_asyncio_client.protocol.errors import LocalProtocolError

AWS = "https://s3.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host",
        "127.0.0.1:9000",
        "s3.amazonaws.com",
        "http://",
        "https:///path",
        "",
        "file:///tmp",
    ],
)
def test_bad_endpoint_urls_are_refused_naming_them(url: str) -> None:
    with pytest.raises(LocalProtocolError, match=f"got {url!r}"):
        Endpoint(url)


def test_bad_addressing_is_refused_naming_it() -> None:
    with pytest.raises(LocalProtocolError, match="got 'dns'"):
        Endpoint(AWS, addressing="dns")  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc", "http://127.0.0.1:99999"])
def test_bad_port_is_refused(url: str) -> None:
    with pytest.raises(LocalProtocolError):
        Endpoint(url)


def test_endpoint_is_frozen_and_trailing_slashes_are_dropped() -> None:
    endpoint = Endpoint("http://127.0.0.1:9000//")
    assert endpoint.url == "http://127.0.0.1:9000"
    assert endpoint.addressing == "auto"
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoint.url = "http://other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:9000", True),
        ("http://127.5.6.7", True),
        ("http://[::1]:9000", True),
        ("http://localhost:9000", True),
        ("http://LOCALHOST", True),
        ("http://minio.localhost:9000", True),
        ("https://example.com", False),
        ("http://10.0.0.1:9000", False),
        ("http://128.0.0.1", False),
        ("http://[::2]:9000", False),
        ("http://localhost.example.com", False),
        ("https://s3.amazonaws.com", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert Endpoint(url).is_loopback is loopback


@pytest.mark.parametrize(
    ("url", "secure"), [("https://s3.amazonaws.com", True), ("http://127.0.0.1:9000", False)]
)
def test_secure(url: str, secure: bool) -> None:
    assert Endpoint(url).secure is secure


def test_upper_case_https_scheme_is_secure() -> None:
    endpoint = Endpoint("HTTPS://s3.eu-west-1.amazonaws.com")
    assert endpoint.secure
    assert endpoint.url_for("www.example.com", "k") == f"{AWS}/www.example.com/k"


@pytest.mark.parametrize(
    ("endpoint", "bucket", "expected"),
    [
        # auto on AWS: DNS-compatible buckets go in the host.
        (Endpoint(AWS), "my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com/k"),
        (Endpoint(AWS), "a" * 63, f"https://{'a' * 63}.s3.eu-west-1.amazonaws.com/k"),
        (Endpoint(AWS), "123", "https://123.s3.eu-west-1.amazonaws.com/k"),
        # ... everything else stays path-style.
        (Endpoint(AWS), "a" * 64, f"{AWS}/{'a' * 64}/k"),
        (Endpoint(AWS), "ab", f"{AWS}/ab/k"),
        (Endpoint(AWS), "MyBucket", f"{AWS}/MyBucket/k"),
        (Endpoint(AWS), "my_bucket", f"{AWS}/my_bucket/k"),
        (Endpoint(AWS), "-bucket", f"{AWS}/-bucket/k"),
        (Endpoint(AWS), "bucket-", f"{AWS}/bucket-/k"),
        # Dotted buckets over https would break the wildcard certificate.
        (Endpoint(AWS), "www.example.com", f"{AWS}/www.example.com/k"),
        # ... but over plain http they may use the host.
        (
            Endpoint("http://s3.eu-west-1.amazonaws.com"),
            "www.example.com",
            "http://www.example.com.s3.eu-west-1.amazonaws.com/k",
        ),
        # Not AWS: always path-style in auto mode.
        (
            Endpoint("https://minio.example.com"),
            "my-bucket",
            "https://minio.example.com/my-bucket/k",
        ),
        (Endpoint("http://127.0.0.1:9000"), "my-bucket", "http://127.0.0.1:9000/my-bucket/k"),
        (Endpoint("http://[::1]:9000"), "my-bucket", "http://[::1]:9000/my-bucket/k"),
        (Endpoint("http://h:9000/base/"), "b", "http://h:9000/base/b/k"),
        # Explicit modes.
        (Endpoint(AWS, addressing="path"), "my-bucket", f"{AWS}/my-bucket/k"),
        (
            Endpoint("http://localhost:9000", addressing="virtual"),
            "my-bucket",
            "http://my-bucket.localhost:9000/k",
        ),
    ],
)
def test_object_url(endpoint: Endpoint, bucket: str, expected: str) -> None:
    assert endpoint.url_for(bucket, "k") == expected


def test_bucket_and_service_urls() -> None:
    local, aws = Endpoint("http://127.0.0.1:9000"), Endpoint(AWS)
    assert local.url_for() == "http://127.0.0.1:9000/"
    assert aws.url_for() == f"{AWS}/"
    assert local.url_for("b") == "http://127.0.0.1:9000/b"
    assert aws.url_for("my-bucket") == "https://my-bucket.s3.eu-west-1.amazonaws.com/"
    assert aws.url_for("my.bucket") == f"{AWS}/my.bucket"
    assert local.url_for("b", None, [("uploads", None)]) == "http://127.0.0.1:9000/b?uploads"
    assert aws.url_for("my-bucket", None, [("list-type", "2")]) == (
        "https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2"
    )
    assert Endpoint("http://h/base").url_for() == "http://h/base/"
    assert Endpoint("http://h/base").url_for("b") == "http://h/base/b"


def test_bucket_names_are_encoded_in_path_style() -> None:
    assert Endpoint("http://h").url_for("we ird+", "k") == "http://h/we%20ird%2B/k"


@pytest.mark.parametrize(
    ("query", "encoded"),
    [
        ([], ""),
        ([("uploads", None)], "uploads"),
        ([("delete", "")], "delete="),
        ([("list-type", "2"), ("prefix", "a b/c")], "list-type=2&prefix=a%20b%2Fc"),
        ([("continuation-token", "1/x=+y~")], "continuation-token=1%2Fx%3D%2By~"),
        ([("a b", "ü")], "a%20b=%C3%BC"),
        ([("z", "1"), ("a", "2")], "z=1&a=2"),  # order is kept; signing sorts
    ],
)
def test_encode_query(query: list[tuple[str, str | None]], encoded: str) -> None:
    assert encode_query(query) == encoded
