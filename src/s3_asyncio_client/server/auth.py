"""SigV4 verification of what arrived: header signatures and presigned URLs.

Rules (S3's, as observed from AWS's documentation and SDKs):

1. The canonical request is rebuilt from the request exactly as received: the raw
   path (never decoded, never normalised), the raw query re-canonicalised (the same
   function the client signs with), the signed headers' values as sent, and the
   payload hash the client declared in ``x-amz-content-sha256`` (presigned URLs:
   ``UNSIGNED-PAYLOAD``). A hex payload hash is checked against the body later.
2. Header signatures must be dated within 15 minutes of the server clock
   (RequestTimeTooSkewed, with ServerTime); presigned URLs are valid from
   X-Amz-Date to X-Amz-Date + X-Amz-Expires (0..7 days; 0 is never valid) and not
   before (timestamps.py).
3. A credential with a session token requires that token (x-amz-security-token
   header or X-Amz-Security-Token query parameter).
4. Streaming bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) chain chunk
   signatures from the request's seed signature: ``ChunkSigner`` checks each one.
5. Every ``x-amz-*`` header present must be signed, else 403 AccessDenied naming them
   in ``<HeadersNotSigned>``: otherwise a header added to a signed request or to a
   presigned URL (``x-amz-copy-source``, ``x-amz-meta-*``) would be acted on. The one
   exception is ``x-amz-content-sha256`` on a presigned URL, whose payload is unsigned
   anyway (a hex value there is still checked against the body).
6. SigV2 (``Authorization: AWS ...``, ``AWSAccessKeyId=`` URLs) is checked by sigv2.py,
   and refused under ``strict``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from ..protocol.signing import (
    ALGORITHM,
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Credentials,
    canonical_headers,
    canonical_query,
    derive_signing_key,
    request_signature,
)
from . import sigv2
from .errors import S3Fault, signature_mismatch
from .keys import Keyring
from .sigv2 import Headers
from .timestamps import (
    MAX_SKEW,
    amz_datetime,
    expired,
    format_amz,
    http_datetime,
    presigned_lifetime,
    skewed,
)

__all__ = ["ChunkSigner", "Headers", "Identity", "Verifier"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_PAYLOAD_KINDS = {
    UNSIGNED_PAYLOAD,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
}


@dataclass(frozen=True, slots=True)
class ChunkSigner:
    """Computes the signature each aws-chunked chunk must carry."""

    key: bytes
    amz_date: str
    scope: str

    def _sign(self, kind: str, previous: str, digest: str) -> str:
        text = f"{ALGORITHM}-{kind}\n{self.amz_date}\n{self.scope}\n{previous}\n{digest}"
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def chunk(self, previous: str, chunk_sha256: str) -> str:
        return self._sign("PAYLOAD", previous, f"{EMPTY_SHA256}\n{chunk_sha256}")

    def trailer(self, previous: str, trailer: bytes) -> str:
        return self._sign("TRAILER", previous, hashlib.sha256(trailer).hexdigest())


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sent the request, and what its body claims."""

    access_key: str | None
    payload_hash: str
    seed_signature: str = ""
    chunk_signer: ChunkSigner | None = None
    anonymous: bool = False  # no credentials, on a server that has keys


def _require_signed(headers: Headers, signed: str, exempt: str | None = None) -> None:
    """Rule 5: refuse a request carrying an ``x-amz-*`` header its signature left out."""
    covered = {name.strip().lower() for name in signed.split(";")}
    missing: list[str] = []
    for name in headers:
        lower = name.lower()
        unsigned = lower not in covered and lower != exempt
        if unsigned and lower.startswith("x-amz-") and lower not in missing:
            missing.append(lower)
    if missing:
        raise S3Fault(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": ", ".join(missing)},
        )


def _query_items(raw_query: str) -> list[tuple[str, str]]:
    items = []
    for item in raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            items.append((unquote(name), unquote(value)))
    return items


class Verifier:
    """Checks requests against a keyring; with no keyring every request is anonymous.
    ``strict`` refuses SigV2 as AWS does for new buckets."""

    def __init__(
        self,
        keyring: Keyring | None,
        region: str,
        clock: Callable[[], float],
        *,
        strict: bool = False,
    ) -> None:
        self.keyring = keyring
        self.region = region
        self.clock = clock
        self.strict = strict

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def authenticate(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Headers,
        bucket_path: str | None = None,
    ) -> Identity:
        """The identity behind a request; raises S3Fault when it does not verify.
        ``bucket_path``: the path with the bucket in front, for a virtual-host
        request (SigV2 signs that; SigV4 signs the path as sent)."""
        authorization = headers.get("authorization")
        presigned = "x-amz-algorithm=" in raw_query.lower()
        if self.keyring is None:  # auth off: signatures are ignored, bodies still decoded
            return Identity(None, headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD)
        if authorization and not authorization.startswith("AWS "):
            return self._header_auth(method, raw_path, raw_query, headers, authorization)
        if presigned:
            return self._presigned_auth(method, raw_path, raw_query, headers)
        if authorization or sigv2.is_presigned(raw_query):
            return self._sigv2(method, bucket_path or raw_path, raw_query, headers, authorization)
        payload_hash = headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD
        return Identity(None, payload_hash, anonymous=True)

    def _sigv2(
        self, method: str, path: str, raw_query: str, headers: Headers, authorization: str | None
    ) -> Identity:
        if self.strict:
            raise sigv2.unsupported()
        assert self.keyring is not None
        if authorization:
            found = sigv2.signed_header(
                self.keyring, self._now(), method, path, raw_query, headers, authorization
            )
            token = headers.get("x-amz-security-token")
        else:
            found, token = sigv2.presigned(
                self.keyring, self._now(), method, path, raw_query, headers
            )
        self.check_token(found, token)
        # SigV2 signs no payload (rule 4 of sigv2.py); a hex SHA-256 is still checked.
        declared = headers.get("x-amz-content-sha256") or ""
        return Identity(found.access_key, declared if _HEX64.match(declared) else UNSIGNED_PAYLOAD)

    def credentials(self, credential: str) -> tuple[Credentials, str, str]:
        """(credentials, scope date, scope) from ``AK/date/region/s3/aws4_request``."""
        parts = credential.rsplit("/", 4)
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise S3Fault(
                "AuthorizationHeaderMalformed",
                f'The Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/'
                f'SERVICE/aws4_request", got {credential!r}.',
            )
        access_key, date, region, service, _ = parts
        assert self.keyring is not None
        found = self.keyring.get(access_key)
        if found is None:
            raise S3Fault(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                extra={"AWSAccessKeyId": access_key},
            )
        if region != self.region:
            raise S3Fault(
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; the region '{region}' is wrong; "
                f"expecting '{self.region}'",
                extra={"Region": self.region},
            )
        if service != "s3":
            raise S3Fault(
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; incorrect service '{service}'. "
                "This endpoint belongs to 's3'.",
            )
        return found, date, f"{date}/{region}/{service}/aws4_request"

    @staticmethod
    def check_token(found: Credentials, token: str | None) -> None:
        if (found.session_token or None) != (token or None):
            raise S3Fault("InvalidToken", "The provided token is malformed or otherwise invalid.")

    def _verify(
        self, found: Credentials, canonical_request: str, amz_date: str, signature: str
    ) -> None:
        string_to_sign, expected = request_signature(
            found.secret_key, canonical_request, amz_date=amz_date, region=self.region
        )
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise signature_mismatch(
                found.access_key, string_to_sign, signature, CanonicalRequest=canonical_request
            )

    @staticmethod
    def _canonical(
        method: str, raw_path: str, query: str, headers: Headers, signed: str, payload_hash: str
    ) -> str:
        names = [name for name in signed.split(";") if name]
        if "host" not in names:
            raise S3Fault(
                "AccessDenied", "The host header must be signed (SignedHeaders lacks host)."
            )
        pairs = [(name, value) for name in names for value in headers.getall(name, [""])]
        lines, _ = canonical_headers(pairs)
        text = "\n".join((method, raw_path or "/", query, lines, signed, payload_hash))
        try:
            text.encode()
        except UnicodeEncodeError:  # bytes that are not UTF-8: nothing to sign them as
            raise S3Fault(
                "InvalidArgument", "The request target and signed headers must be UTF-8 text."
            ) from None
        return text

    def _header_auth(
        self, method: str, raw_path: str, raw_query: str, headers: Headers, authorization: str
    ) -> Identity:
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise S3Fault(
                "InvalidRequest", f"Please use {ALGORITHM}: this server speaks SigV4 only."
            )
        fields = {}
        for item in rest.split(","):
            name, _, value = item.strip().partition("=")
            fields[name] = value
        if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
            raise S3Fault(
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed; it needs Credential, "
                "SignedHeaders and Signature.",
            )
        found, scope_date, scope = self.credentials(fields["Credential"])
        amz_header = headers.get("x-amz-date")
        moment = (
            amz_datetime(amz_header) if amz_header else http_datetime(headers.get("date") or "")
        )
        if moment is None:
            raise S3Fault(
                "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
            )
        amz_date = format_amz(moment)
        if scope_date != amz_date[:8]:
            raise S3Fault(
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; Invalid credential date "
                f"{scope_date!r}. Date is not the same as X-Amz-Date: {amz_date[:8]!r}.",
            )
        fault = skewed(amz_header or headers.get("date") or "", moment, self._now())
        if fault is not None:
            raise fault
        self.check_token(found, headers.get("x-amz-security-token"))
        payload_hash = headers.get("x-amz-content-sha256")
        if payload_hash is None:
            raise S3Fault(
                "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
            )
        if payload_hash not in _PAYLOAD_KINDS and not _HEX64.match(payload_hash):
            raise S3Fault(
                "InvalidArgument",
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
                "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or a valid sha256 value.",
            )
        canonical = self._canonical(
            method,
            raw_path,
            canonical_query(raw_query),
            headers,
            fields["SignedHeaders"],
            payload_hash,
        )
        self._verify(found, canonical, amz_date, fields["Signature"])
        _require_signed(headers, fields["SignedHeaders"])
        signer = None
        if payload_hash in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            key = derive_signing_key(found.secret_key, amz_date[:8], self.region, "s3")
            signer = ChunkSigner(key, amz_date, scope)
        return Identity(found.access_key, payload_hash, fields["Signature"].lower(), signer)

    def _presigned_auth(
        self, method: str, raw_path: str, raw_query: str, headers: Headers
    ) -> Identity:
        items = _query_items(raw_query)
        params = {name: value for name, value in items}

        def required(name: str) -> str:
            if not params.get(name):
                raise S3Fault(
                    "AuthorizationQueryParametersError",
                    f"Query-string authentication version 4 requires the X-Amz-Algorithm, "
                    f"X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                    f"and X-Amz-Expires parameters (missing {name}).",
                )
            return params[name]

        if required("X-Amz-Algorithm") != ALGORITHM:
            raise S3Fault(
                "AuthorizationQueryParametersError", f"X-Amz-Algorithm only supports {ALGORITHM}"
            )
        found, scope_date, _ = self.credentials(required("X-Amz-Credential"))
        moment = amz_datetime(required("X-Amz-Date"))
        if moment is None or format_amz(moment)[:8] != scope_date:
            raise S3Fault(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and "
                "match the credential date.",
            )
        expires_text = required("X-Amz-Expires")
        expires = presigned_lifetime(expires_text)
        now = self._now()
        age = (now - moment).total_seconds()
        if age > expires or expires == 0:  # S3: a URL valid for 0 seconds never works
            deadline = datetime.fromtimestamp(moment.timestamp() + expires, UTC)
            raise expired(deadline, now, {"X-Amz-Expires": expires_text})
        if age < -MAX_SKEW:
            raise S3Fault("AccessDenied", "Request is not valid yet")
        self.check_token(found, params.get("X-Amz-Security-Token"))
        signature = required("X-Amz-Signature")
        unsigned = "&".join(
            item
            for item in raw_query.split("&")
            if item and unquote(item.partition("=")[0]) != "X-Amz-Signature"
        )
        canonical = self._canonical(
            method,
            raw_path,
            canonical_query(unsigned),
            headers,
            required("X-Amz-SignedHeaders"),
            UNSIGNED_PAYLOAD,
        )
        self._verify(found, canonical, required("X-Amz-Date"), signature)
        _require_signed(headers, required("X-Amz-SignedHeaders"), "x-amz-content-sha256")
        declared = headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD
        return Identity(found.access_key, declared)
