"""AWS Signature Version 4: header signing, presigned URLs and aws-chunked signatures.

The rules, as S3 applies them (shared by the client, which signs, and the embedded
server, which verifies):

1. The canonical URI is the wire path exactly as sent. S3 encodes keys once and never
   normalises them: ``a//b``, ``./`` and ``../`` are key bytes. (Other services remove
   dot segments and empty segments: ``normalize_path=True``.)
2. The canonical query is every ``name=value`` pair, each decoded and re-encoded with
   the unreserved set ``A-Z a-z 0-9 - _ . ~`` (so ``/`` is ``%2F``, space ``%20``),
   sorted by name then value; a bare ``name`` becomes ``name=``.
3. Canonical headers are lower-case names, values trimmed with inner runs of
   whitespace collapsed to one space, repeated names joined with ``,``, sorted.
4. The payload hash is SHA-256 of the body, or ``UNSIGNED-PAYLOAD``; the caller picks.
5. The signing key depends only on (secret, date, region, service): it is cached.

No clock is read here: the timestamp is always passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from .http import HttpRequest

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "UNSIGNED_PAYLOAD",
    "Credentials",
    "Signature",
    "canonical_headers",
    "canonical_query",
    "canonical_uri",
    "chunk_signature",
    "derive_signing_key",
    "presign_url",
    "request_signature",
    "sign_headers",
    "sign_request",
    "uri_encode",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = "-_.~"


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, with the session token of temporary credentials."""

    access_key: str
    secret_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        token = ", session_token=***" if self.session_token else ""
        return f"Credentials(access_key={self.access_key!r}, secret_key=***{token})"


@dataclass(frozen=True, slots=True)
class Signature:
    """What signing produced: the headers to add, and the steps for debugging."""

    headers: dict[str, str]
    canonical_request: str
    string_to_sign: str
    signature: str


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte of UTF-8 ``value`` outside the unreserved set."""
    return quote(value, safe=_UNRESERVED + ("/" if keep_slash else ""))


def canonical_uri(path: str, *, normalize: bool = False) -> str:
    """The wire path as S3 signs it (rule 1)."""
    if not path:
        return "/"
    if not normalize:
        return path
    trailing = path.endswith("/") and path != "/"
    segments = [segment for segment in path.split("/") if segment]
    normal = posixpath.normpath("/" + "/".join(segments))
    normal = "/" + normal.lstrip("/")
    if trailing and normal != "/":
        normal += "/"
    return normal


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_query(query: str) -> str:
    """The wire query string as SigV4 signs it (rule 2)."""
    if not query:
        return ""
    encoded = sorted((uri_encode(n), uri_encode(v)) for n, v in _query_pairs(query))
    return "&".join(f"{name}={value}" for name, value in encoded)


def _merge(headers: Iterable[tuple[str, str]], merged: dict[str, str]) -> dict[str, str]:
    """Add ``headers`` to ``merged``, names and values canonical (rule 3)."""
    for raw_name, raw_value in headers:
        name, value = raw_name.strip().lower(), " ".join(raw_value.split())
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    return merged


def _canonical_lines(merged: dict[str, str]) -> tuple[str, str]:
    names = sorted(merged)
    lines = "".join([f"{name}:{merged[name]}\n" for name in names])
    return lines, ";".join(names)


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """The canonical header lines and the signed-header list (rule 3); for verifiers."""
    return _canonical_lines(_merge(headers, {}))


@lru_cache(maxsize=64)
def derive_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The per-day signing key (rule 5); ``date`` is ``YYYYMMDD``."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sign(
    credentials: Credentials, canonical_request: str, amz_date: str, region: str, service: str
) -> tuple[str, str, str]:
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
    key = derive_signing_key(credentials.secret_key, amz_date[:8], region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return scope, string_to_sign, signature


def request_signature(
    secret_key: str, canonical_request: str, *, amz_date: str, region: str, service: str = "s3"
) -> tuple[str, str]:
    """``(string to sign, signature)`` of a canonical request; a verifier rebuilds the
    canonical request from what it received and compares signatures."""
    _, string_to_sign, signature = _sign(
        Credentials("", secret_key), canonical_request, amz_date, region, service
    )
    return string_to_sign, signature


def _amz_date(t: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` (an f-string: strftime costs more, once per request)."""
    return f"{t.year:04}{t.month:02}{t.day:02}T{t.hour:02}{t.minute:02}{t.second:02}Z"


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


@lru_cache(maxsize=64)  # sign_request and sign_headers both ask, one after the other
def _host(url: str) -> tuple[str, str, str]:
    """``(host header, path, query)`` of an absolute URL, default port left out."""
    scheme, found, rest = url.partition("://")
    if not found or "#" in rest:
        parts = urlsplit(url)
        scheme, netloc, path, query = parts.scheme, parts.netloc, parts.path, parts.query
    else:  # the common case, without urlsplit's generality (and cost)
        end = len(rest)
        for mark in "/?":
            found_at = rest.find(mark)
            if found_at != -1 and found_at < end:
                end = found_at
        netloc, (path, _, query) = rest[:end], rest[end:].partition("?")
    host = netloc.rpartition("@")[2]
    default_port = _DEFAULT_PORTS.get(scheme.lower(), "")
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return host, path, query


def sign_headers(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    credentials: Credentials,
    *,
    region: str,
    timestamp: datetime,
    payload_hash: str,
    service: str = "s3",
    add_content_sha256: bool = True,
    normalize_path: bool = False,
    sign_session_token: bool = True,
) -> Signature:
    """Sign a request; return the headers to add (x-amz-date, authorization, ...).

    ``headers`` are signed as given and must include ``host``.
    """
    _, path, query = _host(url)
    amz_date = _amz_date(timestamp)
    added = {"x-amz-date": amz_date}
    merged = _merge(headers, {})  # canonical names: the lookup below needs no lower()
    if add_content_sha256 and "x-amz-content-sha256" not in merged:
        added["x-amz-content-sha256"] = payload_hash
    if credentials.session_token and sign_session_token:
        added["x-amz-security-token"] = credentials.session_token
    lines, signed = _canonical_lines(_merge(added.items(), merged))
    canonical_request = "\n".join(
        (
            method,
            canonical_uri(path, normalize=normalize_path),
            canonical_query(query),
            lines,
            signed,
            payload_hash,
        )
    )
    scope, string_to_sign, signature = _sign(
        credentials, canonical_request, amz_date, region, service
    )
    added["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    if credentials.session_token and not sign_session_token:
        added["x-amz-security-token"] = credentials.session_token
    return Signature(added, canonical_request, string_to_sign, signature)


def sign_request(
    request: HttpRequest,
    credentials: Credentials,
    *,
    region: str,
    timestamp: datetime,
    payload_hash: str,
) -> HttpRequest:
    """Return ``request`` with its SigV4 headers (host included) added."""
    host, _, _ = _host(request.url)
    headers = {"host": host, **request.headers}
    signature = sign_headers(
        request.method,
        request.url,
        headers.items(),
        credentials,
        region=region,
        timestamp=timestamp,
        payload_hash=payload_hash,
    )
    headers.update(signature.headers)
    return HttpRequest(request.method, request.url, headers, request.body, request.error_in_body)


def presign_url(
    method: str,
    url: str,
    credentials: Credentials,
    *,
    region: str,
    timestamp: datetime,
    expires: int,
    headers: Sequence[tuple[str, str]] = (),
    payload_hash: str = UNSIGNED_PAYLOAD,
    service: str = "s3",
    normalize_path: bool = False,
    sign_session_token: bool = True,
) -> Signature:
    """Sign ``url`` in its query string; the result's ``headers["url"]`` is the URL.

    ``headers`` are extra headers the holder of the URL must send (host is implied).
    """
    host, path, query = _host(url)
    amz_date = _amz_date(timestamp)
    all_headers = list(headers)
    if "host" not in {name.lower() for name, _ in all_headers}:
        all_headers.insert(0, ("host", host))
    lines, signed = _canonical_lines(_merge(all_headers, {}))
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", signed),
    ]
    token = [("X-Amz-Security-Token", credentials.session_token or "")]
    if credentials.session_token and sign_session_token:
        auth += token
    full_query = "&".join([query] * bool(query) + [f"{n}={uri_encode(v)}" for n, v in auth])
    canonical = canonical_query(full_query)
    canonical_request = "\n".join(
        (
            method,
            canonical_uri(path, normalize=normalize_path),
            canonical,
            lines,
            signed,
            payload_hash,
        )
    )
    _, string_to_sign, signature = _sign(credentials, canonical_request, amz_date, region, service)
    base = url.split("?", 1)[0]
    signed_url = f"{base}?{canonical}&X-Amz-Signature={signature}"
    if credentials.session_token and not sign_session_token:
        signed_url += f"&X-Amz-Security-Token={uri_encode(credentials.session_token)}"
    return Signature({"url": signed_url}, canonical_request, string_to_sign, signature)


def chunk_signature(
    credentials: Credentials,
    *,
    region: str,
    timestamp: datetime,
    previous_signature: str,
    chunk: bytes,
    service: str = "s3",
) -> str:
    """The signature of one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)."""
    amz_date = _amz_date(timestamp)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        (
            f"{ALGORITHM}-PAYLOAD",
            amz_date,
            scope,
            previous_signature,
            EMPTY_SHA256,
            hashlib.sha256(chunk).hexdigest(),
        )
    )
    key = derive_signing_key(credentials.secret_key, amz_date[:8], region, service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
