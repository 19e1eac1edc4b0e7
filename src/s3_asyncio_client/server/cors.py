"""Bucket CORS: Put/Get/DeleteBucketCors, preflight ``OPTIONS``, and the CORS headers
of requests that carry an ``Origin``.

Rules (S3's):

1. A configuration is 1 to 100 ``CORSRule`` elements, in a body of at most 64 KB.
   Each rule has at least one ``AllowedOrigin`` and one ``AllowedMethod`` (GET, PUT,
   POST, DELETE or HEAD: another is InvalidRequest), and optionally an ``ID``,
   ``AllowedHeader`` and ``ExposeHeader`` elements and ``MaxAgeSeconds``. An origin
   or allowed header holds at most one ``*`` wildcard. It is kept as a bucket
   setting (JSON), dropped with the bucket.
2. A rule matches when the origin matches one of its origins (exactly, with the
   wildcard), the method is one of its methods, and each requested header matches
   one of its headers (case-insensitively). The first rule that matches decides.
3. A preflight (``OPTIONS``) needs no signature: it carries none. Without ``Origin``
   it is 400 BadRequest, so is an absent or unknown
   ``Access-Control-Request-Method``; no bucket, no configuration, or no matching
   rule is 403 AccessForbidden (naming the method and the resource type).
4. Any other request with an ``Origin`` gets the matching rule's headers, on errors
   too; the method matched is ``Access-Control-Request-Method`` when the request has
   one, else its own. No rule, no headers: the browser then refuses the reply.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ..protocol.documents import Content, XmlNode
from .call import Call
from .errors import S3Fault
from .index import Index
from .payload import read_xml

__all__ = ["LIMIT", "MAX_RULES", "SETTING", "origin_headers", "preflight", "route"]

SETTING = "cors"
LIMIT = 64 * 1024
MAX_RULES = 100
_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
_NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the "
    "evalution of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
Rule = dict[str, Any]


def _malformed() -> S3Fault:
    return S3Fault(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def _one_wildcard(kind: str, values: list[str]) -> None:
    for value in values:
        if value.count("*") > 1:
            raise S3Fault(
                "InvalidRequest", f'{kind} "{value}" can not have more than one wildcard.'
            )


def _texts(node: XmlNode, tag: str) -> list[str]:
    return [child.text.strip() for child in node.children(tag)]


def _rules(document: XmlNode) -> list[Rule]:
    """Rule 1: the configuration's rules, checked."""
    if document.tag != "CORSConfiguration":
        raise _malformed()
    nodes = document.children("CORSRule")
    if not nodes or len(nodes) > MAX_RULES:
        raise _malformed()
    rules = []
    for node in nodes:
        origins, methods = _texts(node, "AllowedOrigin"), _texts(node, "AllowedMethod")
        if not origins or not methods:
            raise _malformed()
        for method in methods:
            if method not in _METHODS:
                raise S3Fault(
                    "InvalidRequest",
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
                )
        headers = _texts(node, "AllowedHeader")
        _one_wildcard("AllowedOrigin", origins)
        _one_wildcard("AllowedHeader", headers)
        max_age = node.find_text("MaxAgeSeconds")
        if max_age is not None and not max_age.strip().lstrip("-").isdigit():
            raise _malformed()
        rules.append(
            {
                "id": node.find_text("ID"),
                "origins": origins,
                "methods": methods,
                "headers": headers,
                "expose": _texts(node, "ExposeHeader"),
                "max_age": int(max_age) if max_age is not None else None,
            }
        )
    return rules


async def put_bucket_cors(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    if call.request.content_length == 0:
        raise S3Fault("MissingRequestBodyError", "Request Body is empty")
    document = await read_xml(call.request, call.identity, limit=LIMIT)
    index.set_bucket_setting(call.bucket, SETTING, json.dumps(_rules(document)))
    return call.reply(200)


def _stored(index: Index, bucket: str) -> list[Rule] | None:
    text = index.bucket_setting(bucket, SETTING)
    return None if text is None else list(json.loads(text))


async def get_bucket_cors(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    index = call.storage.index
    index.require_bucket(call.bucket)
    rules = _stored(index, call.bucket)
    if rules is None:
        raise S3Fault(
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist",
            extra={"BucketName": call.bucket},
        )
    items: list[tuple[str, Content]] = []
    for rule in rules:
        fields: list[tuple[str, Content]] = [("ID", rule["id"])]
        fields += [("AllowedHeader", value) for value in rule["headers"]]
        fields += [("AllowedMethod", value) for value in rule["methods"]]
        fields += [("AllowedOrigin", value) for value in rule["origins"]]
        fields += [("ExposeHeader", value) for value in rule["expose"]]
        fields.append(("MaxAgeSeconds", rule["max_age"]))
        items.append(("CORSRule", fields))
    return call.xml("CORSConfiguration", items)


async def delete_bucket_cors(call: Call) -> web.StreamResponse:
    assert call.bucket is not None
    call.storage.index.require_bucket(call.bucket)
    call.storage.index.set_bucket_setting(call.bucket, SETTING, None)
    return call.reply(204)


_HANDLERS: dict[str, Callable[[Call], Awaitable[web.StreamResponse]]] = {
    "PUT": put_bucket_cors,
    "GET": get_bucket_cors,
    "DELETE": delete_bucket_cors,
}


def route(
    method: str, key: str | None, query: Mapping[str, str]
) -> Callable[[Call], Awaitable[web.StreamResponse]] | None:
    """The handler of a ``?cors`` bucket request, if this is one."""
    if key is None and "cors" in query:
        return _HANDLERS.get(method)
    return None


def _matches(pattern: str, value: str) -> bool:
    """``value`` against ``pattern`` with at most one ``*`` (any run of characters)."""
    head, star, tail = pattern.partition("*")
    if not star:
        return value == pattern
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def _match(rules: list[Rule], origin: str, method: str, asked: list[str]) -> Rule | None:
    """Rule 2: the first rule allowing ``origin``, ``method`` and every header asked."""
    for rule in rules:
        if method not in rule["methods"]:
            continue
        if not any(_matches(pattern, origin) for pattern in rule["origins"]):
            continue
        allowed = [pattern.lower() for pattern in rule["headers"]]
        if all(any(_matches(p, name) for p in allowed) for name in asked):
            return rule
    return None


def _headers(rule: Rule, origin: str, asked: list[str]) -> dict[str, str]:
    anyone = "*" in rule["origins"]
    headers = {
        "Access-Control-Allow-Origin": "*" if anyone else origin,
        "Access-Control-Allow-Methods": ", ".join(rule["methods"]),
        "Vary": _VARY,
    }
    if not anyone:
        headers["Access-Control-Allow-Credentials"] = "true"
    if asked:
        headers["Access-Control-Allow-Headers"] = ", ".join(asked)
    if rule["expose"]:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["expose"])
    if rule["max_age"] is not None:
        headers["Access-Control-Max-Age"] = str(rule["max_age"])
    return headers


def _asked(request: web.BaseRequest) -> list[str]:
    text = request.headers.get("access-control-request-headers", "")
    return [name.strip().lower() for name in text.split(",") if name.strip()]


def preflight(
    index: Index,
    request: web.BaseRequest,
    bucket: str | None,
    key: str | None,
    headers: dict[str, str],
) -> web.Response:
    """Rule 3: the answer to an ``OPTIONS`` request, from the bucket's rules, with
    ``headers`` (the request id) besides."""
    origin = request.headers.get("origin")
    if origin is None:
        raise S3Fault("BadRequest", "Insufficient information. Origin request header needed.")
    method = request.headers.get("access-control-request-method")
    if method not in _METHODS:
        raise S3Fault("BadRequest", f"Invalid Access-Control-Request-Method: {method}")
    where = {"Method": method, "ResourceType": "BUCKET" if key is None else "OBJECT"}
    if bucket is None or not index.bucket_exists(bucket):
        raise S3Fault("AccessForbidden", "CORSResponse: Bucket not found", extra=where)
    rules = _stored(index, bucket)
    if rules is None:
        raise S3Fault(
            "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", extra=where
        )
    asked = _asked(request)
    rule = _match(rules, origin, method, asked)
    if rule is None:
        raise S3Fault("AccessForbidden", _NOT_ALLOWED, extra=where)
    return web.Response(status=200, headers={**headers, **_headers(rule, origin, asked)})


def origin_headers(index: Index, request: web.BaseRequest, bucket: str | None) -> dict[str, str]:
    """Rule 4: the CORS headers for a request that is not a preflight."""
    origin = request.headers.get("origin")
    if origin is None or bucket is None or not index.bucket_exists(bucket):
        return {}
    rules = _stored(index, bucket)
    if not rules:
        return {}
    method = request.headers.get("access-control-request-method") or request.method
    rule = _match(rules, origin, method, [])
    return {} if rule is None else _headers(rule, origin, [])
