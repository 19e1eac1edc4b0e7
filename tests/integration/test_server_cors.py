"""Bucket CORS on the embedded server: Put/Get/DeleteBucketCors with S3's checks,
preflight OPTIONS answered from the rules without a signature, and CORS headers on
requests that carry an Origin (errors included)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from rawhttp import request, signed
from servers import ServerInfo

ORIGIN = "https://app.example.com"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
RULES = [
    {
        "ID": "site",
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["x-amz-*", "content-type"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]
SITE = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-methods": "GET, PUT",
    "access-control-expose-headers": "ETag, x-amz-request-id",
    "access-control-max-age": "600",
    "access-control-allow-credentials": "true",
    "vary": VARY,
}
EVERYONE = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "HEAD",
    "vary": VARY,
}
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the "
    "evalution of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)


def _code(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def _cors(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-") or k == "vary"}


def test_put_get_delete_bucket_cors(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(caught) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(caught) == ("NoSuchCORSConfiguration", 404)
    s3.delete_bucket_cors(Bucket=bucket)  # nothing to delete: still 204


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{**RULES[1], "AllowedMethods": ["PATCH"]}], ("InvalidRequest", 400)),
        ([{**RULES[1], "AllowedOrigins": ["https://*.*.com"]}], ("InvalidRequest", 400)),
        ([{**RULES[1], "AllowedHeaders": ["x-*-*"]}], ("InvalidRequest", 400)),
        ([RULES[1]] * 101, ("MalformedXML", 400)),
    ],
    ids=["method", "origin-wildcards", "header-wildcards", "101-rules"],
)
def test_bad_configurations(s3: Any, bucket: str, rules: Any, expected: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert _code(caught) == expected
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(caught) == ("NoSuchCORSConfiguration", 404)


NO_ORIGIN = b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
LARGE = b"<CORSConfiguration>" + b" " * (64 * 1024) + b"</CORSConfiguration>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", (400, "MissingRequestBodyError")),
        (b"<CORSConfiguration/>", (400, "MalformedXML")),
        (NO_ORIGIN, (400, "MalformedXML")),
        (NO_ORIGIN + b"</CORSConfiguration>", (400, "MalformedXML")),
        (b"<Other><CORSRule/></Other>", (400, "MalformedXML")),
        (LARGE, (400, "MaxMessageLengthExceeded")),
    ],
    ids=["empty", "no-rule", "unclosed", "no-origin", "root", "too-large"],
)
def test_malformed_documents(
    local: ServerInfo, bucket: str, body: bytes, expected: tuple[int, str]
) -> None:
    reply = signed(local, "PUT", f"/{bucket}?cors", body=body)
    assert (reply.status, reply.code) == expected
    assert signed(local, "GET", f"/{bucket}?cors").code == "NoSuchCORSConfiguration"


def _preflight(local: ServerInfo, path: str, *values: str) -> tuple[int, dict[str, str], Any]:
    names = ("origin", "access-control-request-method", "access-control-request-headers")
    reply = request(
        local.endpoint_url, "OPTIONS", path, headers=dict(zip(names, values, strict=False))
    )
    return reply.status, _cors(reply.headers), reply.code or reply.body


def test_preflight(local: ServerInfo, s3: Any, bucket: str, bucket_name: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    other = bucket_name + "-plain"
    s3.create_bucket(Bucket=other)
    key = f"/{bucket}/some/key"
    asked = {**SITE, "access-control-allow-headers": "content-type, x-amz-meta-name"}
    assert _preflight(local, f"/{bucket}", ORIGIN, "GET") == (200, SITE, b"")
    assert _preflight(local, key, ORIGIN, "PUT", "Content-Type, X-Amz-Meta-Name") == (
        200,
        asked,
        b"",
    )
    assert _preflight(local, key, "null", "HEAD") == (200, EVERYONE, b"")
    for path, values in (
        (key, (ORIGIN, "DELETE")),
        (f"/{bucket}", ("https://example.org", "GET")),
        (key, (ORIGIN, "GET", "authorization")),
        (f"/{other}/key", (ORIGIN, "GET")),
        (f"/{bucket_name}-missing/key", (ORIGIN, "GET")),
    ):
        assert _preflight(local, path, *values) == (403, {}, "AccessForbidden"), (path, values)
    asking = {"origin": ORIGIN, "access-control-request-method": "DELETE"}
    reply = request(local.endpoint_url, "OPTIONS", key, headers=asking)
    assert NOT_ALLOWED.encode() in reply.body.replace(b"&apos;", b"'")
    assert b"<Method>DELETE</Method><ResourceType>OBJECT</ResourceType>" in reply.body
    assert _preflight(local, key) == (400, {}, "BadRequest")
    assert _preflight(local, key, ORIGIN) == (400, {}, "BadRequest")
    assert _preflight(local, key, ORIGIN, "PATCH") == (400, {}, "BadRequest")


def test_origin_headers_on_requests(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=bucket, Key="key", Body=b"data")
    cases = [
        ("GET", "/key", {"origin": ORIGIN}, 200, SITE),
        ("HEAD", "/key", {"origin": "https://example.org"}, 200, EVERYONE),
        ("GET", "/key", {"origin": "https://example.org"}, 200, {}),
        ("GET", "/key", {}, 200, {}),
        ("GET", "/missing", {"origin": ORIGIN}, 404, SITE),
        ("DELETE", "/key", {"origin": ORIGIN}, 204, {}),
    ]
    for method, key, headers, status, expected in cases:
        reply = signed(local, method, f"/{bucket}{key}", headers=headers)
        assert (reply.status, _cors(reply.headers)) == (status, expected), (method, key, headers)
    # Anonymous and refused: the CORS headers still let the page read the error.
    reply = request(local.endpoint_url, "PUT", f"/{bucket}/key", headers={"origin": ORIGIN})
    assert (reply.status, reply.code, _cors(reply.headers)) == (403, "AccessDenied", SITE)
