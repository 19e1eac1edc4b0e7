"""The policy of a browser POST form: its signature, expiry and conditions.

Rules (S3's POST policy, as its documentation states them):

1. The policy is base64 JSON: ``expiration`` (ISO 8601) and ``conditions``. Once
   expired: 403 AccessDenied "Invalid according to Policy: Policy expired."
2. Signed with SigV4 (``x-amz-algorithm`` AWS4-HMAC-SHA256, ``x-amz-credential``,
   ``x-amz-date``, ``x-amz-signature`` = hex HMAC-SHA256 of the base64 policy with
   the signing key) or SigV2 (``AWSAccessKeyId``, ``signature`` = base64
   HMAC-SHA1; refused under ``strict``, as for other SigV2 requests). A session
   token must come as ``x-amz-security-token``.
3. Conditions: ``{"field": "value"}`` and ``["eq", "$field", "value"]`` match
   exactly, ``["starts-with", "$field", "prefix"]`` by prefix (``""``: anything),
   ``{"bucket": ...}`` the bucket, ``["content-length-range", min, max]`` the file's
   size (EntityTooSmall / EntityTooLarge). Field names are case-insensitive, values
   are not; ``key`` is matched after ``${filename}`` is replaced. A failing condition
   is 403 AccessDenied naming it.
4. Every form field must be named by a condition, except ``file``, ``policy``,
   ``x-amz-signature``, the SigV2 ``AWSAccessKeyId``/``signature`` and ``x-ignore-*``
   fields: 403 AccessDenied "Invalid according to Policy: Extra input fields: ...".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from ..protocol.signing import ALGORITHM, Credentials, derive_signing_key
from . import sigv2
from .auth import Verifier
from .call import Settings
from .errors import S3Fault, signature_mismatch
from .timestamps import amz_datetime

__all__ = ["Policy", "parse_policy", "verify_form"]

_EXEMPT = frozenset({"file", "policy", "x-amz-signature", "awsaccesskeyid", "signature"})
# What a condition names that is not a form field.
_NOT_FIELDS = frozenset({"bucket", "content-length-range"})


def _invalid(why: str) -> S3Fault:
    return S3Fault("InvalidPolicyDocument", f"Invalid Policy: {why}")


def _denied(why: str) -> S3Fault:
    return S3Fault("AccessDenied", f"Invalid according to Policy: {why}")


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy: (operator, field, value) conditions and the size range."""

    expiration: datetime
    conditions: tuple[tuple[str, str, str], ...]
    sizes: tuple[int, int] | None

    def check(self, fields: dict[str, str], bucket: str, now: datetime) -> None:
        """Rules 1, 3 (all but the size) and 4 for the fields before the file."""
        if now > self.expiration:
            raise _denied("Policy expired.")
        for operator, name, value in self.conditions:
            actual = bucket if name == "bucket" else fields.get(name, "")
            ok = actual == value if operator == "eq" else actual.startswith(value)
            if not ok:
                shown = json.dumps([operator, "$" + name, value], ensure_ascii=False)
                raise _denied(f"Policy Condition failed: {shown}")
        named = {name for _, name, _ in self.conditions}
        extra = [
            name
            for name in fields
            if name not in named and name not in _EXEMPT and not name.startswith("x-ignore-")
        ]
        if extra:
            raise _denied(f"Extra input fields: {', '.join(extra)}")

    @property
    def max_size(self) -> int | None:
        return None if self.sizes is None else self.sizes[1]

    def check_size(self, size: int) -> None:
        """Rule 3's ``content-length-range``, once the file's size is known."""
        if self.sizes is None:
            return
        low, high = self.sizes
        if size > high:
            raise S3Fault(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                extra={"ProposedSize": str(size), "MaxSizeAllowed": str(high)},
            )
        if size < low:
            raise S3Fault(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                extra={"ProposedSize": str(size), "MinSizeAllowed": str(low)},
            )


def _bound(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    raise _invalid("Invalid content-length-range bounds.")


def _condition(item: object) -> list[tuple[str, str, str]] | tuple[int, int]:
    if isinstance(item, dict):
        if not all(isinstance(v, str) for v in item.values()):
            raise _invalid("Invalid condition: values must be strings.")
        return [("eq", str(name).lower().removeprefix("$"), v) for name, v in item.items()]
    if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str):
        operator = item[0].lower()
        if operator == "content-length-range":
            return _bound(item[1]), _bound(item[2])
        name, value = item[1], item[2]
        ok = isinstance(name, str) and name.startswith("$") and isinstance(value, str)
        if operator in ("eq", "starts-with") and ok:
            return [(operator, name[1:].lower(), value)]
    raise _invalid(f"Invalid condition: {json.dumps(item)[:200]}")


def parse_policy(encoded: str) -> Policy:
    """Rule 1's document, with its conditions read (InvalidPolicyDocument if not one)."""
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    text = document.get("expiration")
    if text is None:
        raise _invalid("Policy missing expiration.")
    try:
        expiration = datetime.fromisoformat(str(text))
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{text}'") from None
    if expiration.tzinfo is None:
        raise _invalid(f"Invalid 'expiration' value: '{text}'")
    items = document.get("conditions")
    if not isinstance(items, list):
        raise _invalid("Policy missing conditions.")
    conditions: list[tuple[str, str, str]] = []
    sizes = None
    for item in items:
        found = _condition(item)
        if isinstance(found, tuple):
            sizes = found
        else:
            conditions += found
    return Policy(expiration, tuple(conditions), sizes)


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise S3Fault(
            "InvalidArgument",
            f"Bucket POST must contain a field named '{name}'.  If it is specified, please "
            "check the order of the fields.",
            extra={"ArgumentName": name, "ArgumentValue": ""},
        )
    return value


def verify_form(settings: Settings, fields: dict[str, str]) -> Credentials:
    """Rule 2: who signed the form's policy (S3Fault if nobody verifiably did)."""
    assert settings.keyring is not None
    verifier = Verifier(settings.keyring, settings.region, settings.clock, strict=settings.strict)
    policy = _required(fields, "policy")
    if "awsaccesskeyid" in fields and "x-amz-algorithm" not in fields:
        if settings.strict:
            raise sigv2.unsupported()
        found = settings.keyring.get(fields["awsaccesskeyid"])
        if found is None:
            raise S3Fault(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                extra={"AWSAccessKeyId": fields["awsaccesskeyid"]},
            )
        signature = _required(fields, "signature")
        digest = hmac.new(found.secret_key.encode(), policy.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
    else:
        if _required(fields, "x-amz-algorithm") != ALGORITHM:
            raise S3Fault(
                "InvalidArgument",
                f"Only {ALGORITHM} is supported as x-amz-algorithm.",
                extra={"ArgumentName": "x-amz-algorithm"},
            )
        found, scope_date, _ = verifier.credentials(_required(fields, "x-amz-credential"))
        moment = amz_datetime(_required(fields, "x-amz-date"))
        if moment is None or moment.strftime("%Y%m%d") != scope_date:
            raise S3Fault(
                "InvalidArgument",
                "x-amz-date must be in the ISO8601 Long Format and match the credential date.",
                extra={"ArgumentName": "x-amz-date"},
            )
        signature = _required(fields, "x-amz-signature").lower()
        key = derive_signing_key(found.secret_key, scope_date, settings.region, "s3")
        expected = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise signature_mismatch(found.access_key, policy, signature)
    verifier.check_token(found, fields.get("x-amz-security-token"))
    return found
