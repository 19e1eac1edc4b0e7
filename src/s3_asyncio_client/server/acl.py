"""Canned ACLs: kept per bucket and per object, served as S3's AccessControlPolicy.

Rules:

1. An ACL is kept as the canned ACL it stands for, with its owner (who created the
   bucket or wrote the object): JSON ``{"acl": name, "owner": {"ID", "DisplayName"}}``,
   an object's in its stored headers under ``:acl``, a bucket's as its ``acl`` setting.
   None kept (older data): ``private``, owned by the caller.
2. ``x-amz-acl`` names one of S3's canned ACLs (InvalidArgument otherwise);
   ``x-amz-grant-*`` headers or an AccessControlPolicy body are read as grants and kept
   when they are what a canned ACL grants, beside the owner's FULL_CONTROL (implied for
   header grants, as a canned ACL implies it). Grants no canned ACL makes (another
   user, an e-mail grantee, a partial owner grant) are refused with NotImplemented,
   naming the grant: the server cannot keep them, and saying so beats dropping them.
3. Every user of the server owns every bucket (one namespace), so ``bucket-owner-read``
   and ``bucket-owner-full-control`` grant nothing beyond the owner's FULL_CONTROL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from ..protocol.documents import S3_NAMESPACE, Content, XmlNode, escape_text
from .call import Call
from .errors import S3Fault
from .payload import read_xml
from .subresource import Handler, handler_for, no_such_key, target_object

__all__ = [
    "ACL_HEADER",
    "BUCKET_SETTING",
    "bucket_acl_setting",
    "bucket_is_public",
    "get_bucket_acl",
    "get_object_acl",
    "object_acl_headers",
    "object_is_public",
    "put_bucket_acl",
    "put_object_acl",
    "route",
]

ACL_HEADER = ":acl"
BUCKET_SETTING = "acl"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
# The canonical user aws-exec-read grants READ to (Amazon EC2), as S3 names it.
EC2_ID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
EC2_NAME = "za-team"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")

# A grant beside the owner's: ("uri", group, permission) or ("id", user, permission).
Grant = tuple[str, str, str]
CANNED: dict[str, tuple[Grant, ...]] = {
    "private": (),
    "public-read": (("uri", ALL_USERS, "READ"),),
    "public-read-write": (("uri", ALL_USERS, "READ"), ("uri", ALL_USERS, "WRITE")),
    "authenticated-read": (("uri", AUTHENTICATED_USERS, "READ"),),
    "aws-exec-read": (("id", EC2_ID, "READ"),),
    "bucket-owner-read": (),  # rule 3
    "bucket-owner-full-control": (),
    "log-delivery-write": (("uri", LOG_DELIVERY, "WRITE"), ("uri", LOG_DELIVERY, "READ_ACP")),
}
_BUCKET_ONLY = frozenset({"log-delivery-write"})
PUBLIC_READ = frozenset({"public-read", "public-read-write"})
_GRANT_HEADERS = {
    "x-amz-grant-full-control": "FULL_CONTROL",
    "x-amz-grant-read": "READ",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-write-acp": "WRITE_ACP",
}
_MALFORMED = (
    "The ACL that you provided was not well formed or did not validate against our published schema"
)


def _not_kept(what: str) -> S3Fault:
    return S3Fault(
        "NotImplemented",
        f"This server keeps only canned ACLs (the owner's FULL_CONTROL plus what "
        f"x-amz-acl grants); it cannot keep {what}.",
    )


def _canned_of(grants: set[Grant]) -> str:
    """The canned ACL that grants exactly ``grants`` beside the owner's (rule 2)."""
    for name, granted in CANNED.items():
        if set(granted) == grants:
            return name
    extra = sorted(grants - {grant for granted in CANNED.values() for grant in granted})
    kind, who, permission = (extra or sorted(grants))[0]
    raise _not_kept(f"the grant of {permission} to {kind}={who}")


def _header_grants(call: Call, owner_id: str) -> set[Grant] | None:
    """The grants of the ``x-amz-grant-*`` headers, None when there are none."""
    sent = {name: call.headers[name] for name in _GRANT_HEADERS if name in call.headers}
    if not sent:
        return None
    grants: set[Grant] = set()
    for name, value in sent.items():
        for item in value.split(","):
            kind, equals, who = item.strip().partition("=")
            who = who.strip().strip('"')
            if not equals or not who or kind.strip() not in ("id", "uri", "emailAddress"):
                raise S3Fault(
                    "InvalidArgument",
                    f'{name} must list grantees as id="...", uri="..." or '
                    f'emailAddress="...", not {item.strip()!r}',
                    extra={"ArgumentName": name, "ArgumentValue": value},
                )
            grant = (kind.strip(), who, _GRANT_HEADERS[name])
            if grant != ("id", owner_id, "FULL_CONTROL"):  # implied anyway (rule 2)
                grants.add(grant)
    return grants


def _check_group(uri: str) -> None:
    if uri not in (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY):
        raise S3Fault("InvalidArgument", "Invalid group uri", extra={"ArgumentName": "uri"})


def _requested(call: Call, owner_id: str, *, bucket: bool) -> str | None:
    """The canned ACL the request's headers name (rule 2), None when they name none."""
    canned = call.headers.get("x-amz-acl")
    grants = _header_grants(call, owner_id)
    if canned is not None and grants is not None:
        raise S3Fault(
            "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if canned is not None:
        if canned not in CANNED or (canned in _BUCKET_ONLY and not bucket):
            raise S3Fault(
                "InvalidArgument",
                f"{canned!r} is not a canned ACL: expected one of "
                + ", ".join(name for name in CANNED if bucket or name not in _BUCKET_ONLY),
                extra={"ArgumentName": "x-amz-acl", "ArgumentValue": canned},
            )
        return canned
    if grants is None:
        return None
    for kind, who, _ in grants:
        if kind == "uri":
            _check_group(who)
        elif kind == "emailAddress":
            raise _not_kept(f"a grant to an e-mail address ({who})")
    return _canned_of(grants)


def _setting(canned: str, owner: Mapping[str, Content]) -> str:
    return json.dumps({"acl": canned, "owner": dict(owner)})


def object_acl_headers(call: Call) -> dict[str, str]:
    """What a new object keeps of the request's ACL (rule 1): owned by the caller,
    ``private`` unless the request names another."""
    canned = _requested(call, str(call.owner["ID"]), bucket=False) or "private"
    return {ACL_HEADER: _setting(canned, call.owner)}


def bucket_acl_setting(call: Call) -> str:
    """The ``acl`` setting of a bucket the request creates (checked before it exists)."""
    return _setting(_requested(call, str(call.owner["ID"]), bucket=True) or "private", call.owner)


def _kept(call: Call, text: str | None) -> tuple[str, dict[str, Content]]:
    """(canned ACL, owner) from a kept setting (rule 1)."""
    if text is None:
        return "private", dict(call.owner)
    kept = json.loads(text)
    return kept["acl"], kept["owner"]


def bucket_is_public(call: Call) -> bool:
    """Whether the bucket's ACL lets anyone read (``public-read``, ``public-read-write``)."""
    assert call.bucket is not None
    setting = call.storage.index.bucket_setting(call.bucket, BUCKET_SETTING)
    return setting is not None and _kept(call, setting)[0] in PUBLIC_READ


def object_is_public(call: Call) -> bool:
    """Whether the object exists and its ACL lets anyone read it."""
    assert call.bucket is not None
    assert call.key is not None
    record = call.storage.index.get_object(call.bucket, call.key)
    setting = record.headers.get(ACL_HEADER) if record is not None else None
    return setting is not None and _kept(call, setting)[0] in PUBLIC_READ


def _grantee(kind: str, who: str, name: str | None = None) -> str:
    if kind == "uri":
        return (
            f'<Grantee xmlns:xsi="{_XSI}" xsi:type="Group"><URI>{escape_text(who)}</URI></Grantee>'
        )
    display = f"<DisplayName>{escape_text(name)}</DisplayName>" if name else ""
    return (
        f'<Grantee xmlns:xsi="{_XSI}" xsi:type="CanonicalUser"><ID>{escape_text(who)}</ID>'
        f"{display}</Grantee>"
    )


def _policy(canned: str, owner: Mapping[str, Content]) -> bytes:
    """S3's AccessControlPolicy for ``canned`` (rendered here: grantees carry the
    ``xsi:type`` attribute, which the generic renderer has no notion of)."""
    owner_id, owner_name = str(owner["ID"]), str(owner["DisplayName"])
    grants = [(_grantee("id", owner_id, owner_name), "FULL_CONTROL")]
    for kind, who, permission in CANNED[canned]:
        grants.append((_grantee(kind, who, EC2_NAME if who == EC2_ID else None), permission))
    body = "".join(
        f"<Grant>{grantee}<Permission>{permission}</Permission></Grant>"
        for grantee, permission in grants
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="{S3_NAMESPACE}">'
        f"<Owner><ID>{escape_text(owner_id)}</ID>"
        f"<DisplayName>{escape_text(owner_name)}</DisplayName></Owner>"
        f"<AccessControlList>{body}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _reply(call: Call, text: str | None) -> web.Response:
    canned, owner = _kept(call, text)
    return call.reply(200, {"Content-Type": "application/xml"}, _policy(canned, owner))


def _body_grants(document: XmlNode, owner_id: str) -> str:
    """The canned ACL an AccessControlPolicy document stands for (rule 2)."""
    acl = document.child("AccessControlList")
    if document.tag != "AccessControlPolicy" or acl is None:
        raise S3Fault("MalformedACLError", _MALFORMED)
    grants: set[Grant] = set()
    owner_full = False
    for node in acl.children("Grant"):
        grantee = node.child("Grantee")
        permission = (node.find_text("Permission") or "").strip()
        if grantee is None or permission not in PERMISSIONS:
            raise S3Fault("MalformedACLError", _MALFORMED)
        user = (grantee.find_text("ID") or "").strip()
        uri = (grantee.find_text("URI") or "").strip()
        email = (grantee.find_text("EmailAddress") or "").strip()
        if email:
            raise _not_kept(f"a grant to an e-mail address ({email})")
        if uri:
            _check_group(uri)
            grants.add(("uri", uri, permission))
        elif user == owner_id and permission == "FULL_CONTROL":
            owner_full = True
        elif user:
            grants.add(("id", user, permission))
        else:
            raise S3Fault("MalformedACLError", _MALFORMED)
    if not owner_full:
        raise _not_kept("an ACL without the owner's FULL_CONTROL grant")
    return _canned_of(grants)


async def _put_request(call: Call, owner_id: str, *, bucket: bool) -> str:
    """The canned ACL a Put*Acl request sets: from its headers or its body."""
    canned = _requested(call, owner_id, bucket=bucket)
    if call.request.body_exists:
        if canned is not None:
            raise S3Fault(
                "UnexpectedContent", "This request does not support content with ACL headers"
            )
        try:
            document = await read_xml(call.request, call.identity)
        except S3Fault as fault:
            if fault.code != "MalformedXML":
                raise
            raise S3Fault("MalformedACLError", _MALFORMED) from None
        return _body_grants(document, owner_id)
    if canned is None:
        raise S3Fault(
            "MissingSecurityHeader",
            "Your request was missing a required header",
            extra={"MissingHeaderName": "x-amz-acl"},
        )
    return canned


async def get_bucket_acl(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    return _reply(call, call.storage.index.bucket_setting(call.bucket, BUCKET_SETTING))


async def put_bucket_acl(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    _, owner = _kept(call, index.bucket_setting(call.bucket, BUCKET_SETTING))
    canned = await _put_request(call, str(owner["ID"]), bucket=True)
    _, owner = _kept(call, index.bucket_setting(call.bucket, BUCKET_SETTING))
    index.set_bucket_setting(call.bucket, BUCKET_SETTING, _setting(canned, owner))
    return call.reply(200)


async def get_object_acl(call: Call) -> web.StreamResponse:
    return _reply(call, target_object(call).headers.get(ACL_HEADER))


async def put_object_acl(call: Call) -> web.StreamResponse:
    _, owner = _kept(call, target_object(call).headers.get(ACL_HEADER))
    canned = await _put_request(call, str(owner["ID"]), bucket=False)
    record = target_object(call)  # again: the body was read meanwhile
    assert call.key is not None
    headers = dict(record.headers)
    _, owner = _kept(call, headers.get(ACL_HEADER))
    headers[ACL_HEADER] = _setting(canned, owner)
    if not call.storage.index.set_object_headers(record.bucket, record.key, headers):
        raise no_such_key(call.key)
    return call.reply(200)


def route(method: str, key: str | None, query: Mapping[str, str]) -> Handler | None:
    """The handler of an ``?acl`` request, None for any other request."""
    if "acl" not in query:
        return None
    if key is None:
        return handler_for({"GET": get_bucket_acl, "PUT": put_bucket_acl}, method)
    return handler_for({"GET": get_object_acl, "PUT": put_object_acl}, method)
