"""The signer against the 113 SigV4 vectors (AWS suite, S3 docs, S3 edge cases).

The vectors are data copied from the official AWS SigV4 test suite, the S3 API
reference examples and derived S3 edge cases; see tests/data/sigv4_vectors.json.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from s3_asyncio_client.protocol.signing import (
    Credentials,
    chunk_signature,
    derive_signing_key,
    presign_url,
    sign_headers,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "data" / "sigv4_vectors.json").read_text()
)["vectors"]


def _by_mode(mode: str) -> list[Any]:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["mode"] == mode]


def _timestamp(vector: dict[str, Any]) -> datetime:
    return datetime.strptime(vector["timestamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _credentials(vector: dict[str, Any]) -> Credentials:
    c = vector["credentials"]
    return Credentials(c["access_key"], c["secret_key"], c["session_token"])


def test_vector_count() -> None:
    assert len(VECTORS) == 113


@pytest.mark.parametrize("vector", _by_mode("header"))
def test_header_signing(vector: dict[str, Any]) -> None:
    request, options, expected = vector["request"], vector["options"], vector["expected"]
    headers = [tuple(h) for h in request["headers"]]
    payload_hash = options["payload_hash"]
    if payload_hash is None:
        given = {n.lower(): v for n, v in headers}
        payload_hash = (
            given.get("x-amz-content-sha256") or sha256(request["body"].encode()).hexdigest()
        )
    result = sign_headers(
        request["method"],
        request["url"],
        headers,
        _credentials(vector),
        region=vector["region"],
        service=vector["service"],
        timestamp=_timestamp(vector),
        payload_hash=payload_hash,
        add_content_sha256=options["add_content_sha256_header"],
        normalize_path=options["normalize_path"],
        sign_session_token=options["sign_session_token"],
    )
    assert result.canonical_request == expected["canonical_request"]
    assert result.string_to_sign == expected["string_to_sign"]
    assert result.signature == expected["signature"]
    assert result.headers["authorization"] == expected["authorization"]


@pytest.mark.parametrize("vector", _by_mode("presign"))
def test_presigned_url(vector: dict[str, Any]) -> None:
    request, options, expected = vector["request"], vector["options"], vector["expected"]
    result = presign_url(
        request["method"],
        request["url"],
        _credentials(vector),
        region=vector["region"],
        service=vector["service"],
        timestamp=_timestamp(vector),
        expires=vector["expires"],
        headers=[tuple(h) for h in request["headers"]],
        payload_hash=options["payload_hash"] or "UNSIGNED-PAYLOAD",
        normalize_path=options["normalize_path"],
        sign_session_token=options["sign_session_token"],
    )
    assert result.canonical_request == expected["canonical_request"]
    assert result.signature == expected["signature"]
    url = urlsplit(result.headers["url"])
    assert url.path == expected["path"]
    got = sorted(parse_qsl(url.query, keep_blank_values=True))
    assert got == sorted(tuple(p) for p in expected["presigned_query"])


@pytest.mark.parametrize("vector", _by_mode("chunked"))
def test_chunk_signatures(vector: dict[str, Any]) -> None:
    request, expected = vector["request"], vector["expected"]
    credentials, timestamp = _credentials(vector), _timestamp(vector)
    seed = sign_headers(
        request["method"],
        request["url"],
        [tuple(h) for h in request["headers"]],
        credentials,
        region=vector["region"],
        timestamp=timestamp,
        payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )
    assert seed.signature == expected["signature"]
    previous, got = seed.signature, []
    for size in vector["chunks"]["sizes"]:
        previous = chunk_signature(
            credentials,
            region=vector["region"],
            timestamp=timestamp,
            previous_signature=previous,
            chunk=vector["chunks"]["byte"].encode() * size,
        )
        got.append(previous)
    assert got == expected["chunk_signatures"]


@pytest.mark.parametrize("vector", _by_mode("signing-key"))
def test_signing_key(vector: dict[str, Any]) -> None:
    key = derive_signing_key(
        vector["secret_key"], vector["date"], vector["region"], vector["service"]
    )
    assert key.hex() == vector["expected"]["signing_key_hex"]


def test_credentials_repr_hides_secrets() -> None:
    text = repr(Credentials("AKID", "very-secret", "token-value"))
    assert "AKID" in text
    assert "very-secret" not in text
    assert "token-value" not in text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8333/bucket/key",
        "http://127.0.0.1:80/bucket/a%20b?partNumber=1&uploadId=x%2By",
        "https://s3.amazonaws.com:443/b/k?uploads",
        "HTTPS://Bucket.s3.eu-west-1.amazonaws.com/k//..//x",
        "http://user:pw@[::1]:9000/b/k?list-type=2&prefix=",
        "http://localhost:9000?x=1",
        "http://localhost:9000",
        "http://h/p?q=1#frag",
        "http://h:8080/p?a=b?c",
    ],
)
def test_url_parts_match_urlsplit(url: str) -> None:
    """The signer's fast URL split gives what urlsplit gives (host without a
    default port, path, query)."""
    from s3_asyncio_client.protocol.signing import _host

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    default = {"http": ":80", "https": ":443"}.get(parts.scheme, "")
    if default and host.endswith(default):
        host = host[: -len(default)]
    assert _host(url) == (host, parts.path, parts.query)
