"""SigV2 verification: ``Authorization: AWS key:signature`` headers and presigned
query URLs (``AWSAccessKeyId``, ``Signature``, ``Expires``).

AWS refuses SigV2 for buckets made since 2020 but old tools still send it (aws-cli
v1's ``aws s3 presign`` against a custom endpoint, boto3 with
``signature_version="s3"``): accepted by default, refused under ``--strict`` with the
error AWS gives. Rules, as S3 documents them:

1. The string to sign is the method, Content-MD5, Content-Type, the date (the Date
   header, empty when ``x-amz-date`` is sent, ``Expires`` for a presigned URL), the
   ``x-amz-*`` headers (lower-cased, sorted, repeated values joined by commas) and the
   canonical resource: the path as sent, with the bucket in front for a virtual-host
   request, ``/bucket/`` for the bucket itself, plus the sub-resources S3 lists,
   sorted, values decoded.
2. The signature is base64(HMAC-SHA1(secret, string to sign)). Every ``x-amz-*``
   header is covered by it, so none can be added unnoticed.
3. A presigned URL carries its ``x-amz-*`` values (the session token) and may carry
   Content-Type and Content-MD5 in the query, as SDKs write them; a header sent
   with the request takes precedence.
4. Bodies are not chunk-signed: the payload is unsigned, checked against Content-MD5
   when one is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import unquote

from ..protocol.signing import Credentials
from .errors import S3Fault, signature_mismatch
from .integers import decimal
from .keys import Keyring
from .timestamps import expired, http_datetime, skewed

__all__ = ["SUBRESOURCES", "Headers", "is_presigned", "presigned", "signed_header", "unsupported"]

# Query parameters that are part of the canonical resource.
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory",
        "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
        "partNumber", "policy", "replication", "requestPayment", "response-cache-control",
        "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore",
        "select", "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
        "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip


class Headers(Protocol):
    """The part of aiohttp's CIMultiDictProxy we use (case-insensitive)."""

    def get(self, key: str, /) -> str | None: ...
    def getall(self, key: str, default: list[str], /) -> list[str]: ...
    def __iter__(self) -> Iterator[str]: ...


def unsupported() -> S3Fault:
    """What AWS answers a SigV2 request on a bucket that requires SigV4 (``--strict``)."""
    return S3Fault(
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
    )


def is_presigned(raw_query: str) -> bool:
    names = {unquote(item.partition("=")[0]) for item in raw_query.split("&")}
    return "AWSAccessKeyId" in names or "Signature" in names


def _items(raw_query: str) -> list[tuple[str, str | None]]:
    """(name, decoded value or None when there is no ``=``), in order."""
    found: list[tuple[str, str | None]] = []
    for item in raw_query.split("&"):
        if item:
            name, equals, value = item.partition("=")
            found.append((unquote(name), unquote(value) if equals else None))
    return found


def _resource(path: str, items: list[tuple[str, str | None]]) -> str:
    if len(path) > 1 and "/" not in path[1:]:  # a bucket is signed as /bucket/
        path += "/"
    picked = sorted(
        ((name, value) for name, value in items if name in SUBRESOURCES), key=lambda p: p[0]
    )
    if not picked:
        return path
    return path + "?" + "&".join(name if v is None else f"{name}={v}" for name, v in picked)


def string_to_sign(
    method: str, headers: Headers, date: str, resource: str, query: dict[str, str] | None = None
) -> str:
    """Rule 1 (and rule 3 for a presigned URL's ``query``)."""
    query = query or {}
    amz: dict[str, list[str]] = {}
    for name in headers:
        lower = name.lower()
        if lower.startswith("x-amz-") and lower not in amz:
            amz[lower] = [value.strip() for value in headers.getall(name, [])]
    for name, value in query.items():
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), [value.strip()])

    def standard(name: str) -> str:
        value = headers.get(name)
        return (value if value is not None else query.get(name, "")).strip()

    lines = [method, standard("content-md5"), standard("content-type"), date]
    lines += [f"{name}:{','.join(amz[name])}" for name in sorted(amz)]
    return "\n".join([*lines, resource])


def _verify(found: Credentials, text: str, signature: str) -> None:
    digest = hmac.new(found.secret_key.encode(), text.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest), signature.encode()):
        raise signature_mismatch(
            found.access_key,
            text,
            signature,
            StringToSignBytes=" ".join(f"{b:02x}" for b in text.encode()),
        )


def _lookup(keyring: Keyring, access_key: str) -> Credentials:
    found = keyring.get(access_key)
    if found is None:
        raise S3Fault(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            extra={"AWSAccessKeyId": access_key},
        )
    return found


def signed_header(
    keyring: Keyring,
    now: datetime,
    method: str,
    path: str,
    raw_query: str,
    headers: Headers,
    authorization: str,
) -> Credentials:
    """The credentials behind an ``Authorization: AWS key:signature`` request."""
    access_key, colon, signature = authorization.strip()[4:].strip().rpartition(":")
    if not colon or not access_key or not signature:
        raise S3Fault(
            "InvalidArgument",
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
        )
    found = _lookup(keyring, access_key)
    amz_date = headers.get("x-amz-date")
    sent = amz_date if amz_date is not None else headers.get("date") or ""
    moment = http_datetime(sent)
    if moment is None:
        raise S3Fault(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    fault = skewed(sent, moment, now)
    if fault is not None:
        raise fault
    date_line = "" if amz_date is not None else sent
    text = string_to_sign(method, headers, date_line, _resource(path, _items(raw_query)))
    _verify(found, text, signature)
    return found


def presigned(
    keyring: Keyring, now: datetime, method: str, path: str, raw_query: str, headers: Headers
) -> tuple[Credentials, str | None]:
    """The credentials behind a SigV2 presigned URL, and the session token it carries."""
    items = _items(raw_query)
    params = {name: value or "" for name, value in reversed(items)}  # the first wins
    for name in ("AWSAccessKeyId", "Signature", "Expires"):
        if not params.get(name):
            raise S3Fault(
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and "
                "AWSAccessKeyId parameters",
            )
    deadline = decimal(params["Expires"], max_digits=12)
    if deadline is None:
        raise S3Fault(
            "AccessDenied", f"Invalid date (should be seconds since epoch): {params['Expires']}"
        )
    if now.timestamp() > deadline:
        raise expired(datetime.fromtimestamp(deadline, UTC), now)
    found = _lookup(keyring, params["AWSAccessKeyId"])
    unsigned = {
        name.lower(): value
        for name, value in params.items()
        if name.lower().startswith("x-amz-") or name.lower() in ("content-type", "content-md5")
    }
    text = string_to_sign(
        method, headers, params["Expires"], _resource(path, items), query=unsigned
    )
    _verify(found, text, params["Signature"])
    token = headers.get("x-amz-security-token") or unsigned.get("x-amz-security-token")
    return found, token
