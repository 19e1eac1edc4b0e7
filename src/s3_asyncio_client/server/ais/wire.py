"""What AIStore's native API puts on the wire: its JSON errors, msgpack listings, and
the bearer token that stands for a key pair.

Rules:

1. An error is AIStore's JSON document (``message``, ``method``, ``url_path``,
   ``status``); its message names the bucket as ``ais://b`` or the object as
   ``ais://b/o``, which is how the AIStore SDK picks its error class (404 with
   ``ais://b/``: object not found; 404 with ``ais://b``: bucket not found; 409 with
   ``ais://b``: bucket exists).
2. A user error is never a 5xx: the SDK retries 429, 500, 502, 503 and 504 for
   about 90 seconds. 501 (not retried) says what is not supported.
3. The bearer token of an identity is ``<access key>.<hex HMAC-SHA256 of
   TOKEN_LABEL keyed with the secret key>``: whoever holds the secret can make it,
   and the token never reveals the secret. Comparison is constant-time, and no
   error ever echoes a token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

from aiohttp import web

from ..call import Call
from ..keys import Keyring
from ..payload import Digests, receive

__all__ = [
    "MSGPACK",
    "AisFault",
    "aistore_token",
    "check_token",
    "error_reply",
    "json_reply",
    "msgpack",
    "read_action",
]

MSGPACK = "application/msgpack"
TOKEN_LABEL = b"AIStore bearer token"
ACTION_LIMIT = 1024 * 1024  # an action message is a few hundred bytes
Packable = None | bool | int | str | list["Packable"] | dict[str, "Packable"]


class AisFault(Exception):
    """An AIStore error reply: its status and message (rule 1)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def aistore_token(access_key: str, secret_key: str) -> str:
    """The bearer token the AIStore SDK sends (``AIS_AUTHN_TOKEN``) for this key pair."""
    digest = hmac.new(secret_key.encode(), TOKEN_LABEL, hashlib.sha256).hexdigest()
    return f"{access_key}.{digest}"


def check_token(keyring: Keyring | None, authorization: str | None) -> str | None:
    """The access key a request's ``Authorization: Bearer`` token stands for (rule 3);
    None when auth is off; 401 otherwise."""
    if keyring is None:
        return None
    scheme, _, token = (authorization or "").partition(" ")
    access_key, dot, _ = token.strip().rpartition(".")
    found = keyring.get(access_key) if dot else None
    if scheme.lower() != "bearer" or found is None:
        raise AisFault(
            401, "unauthorized: this server needs a valid bearer token (AIS_AUTHN_TOKEN)"
        )
    expected = aistore_token(found.access_key, found.secret_key)
    if not hmac.compare_digest(expected.encode(), token.strip().encode()):
        raise AisFault(401, "unauthorized: the bearer token does not match the server's keys")
    return access_key


async def read_action(call: Call, *expected: str) -> dict[str, object]:
    """The request's JSON action message (``{"action": ..., "value": ...}``), whose
    action must be one of ``expected``; 400 otherwise."""
    digests = Digests(set(), sha256=False)
    _, body = await receive(call.request, call.identity, digests, None, limit=ACTION_LIMIT)
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("action"), str):
        raise AisFault(400, 'the request body is not a JSON action message ({"action": ...})')
    if message["action"] not in expected:
        raise AisFault(
            400,
            f"action {message['action']!r} is not supported on {call.request.method} "
            f"{call.request.path} by this server (supported: {', '.join(expected)})",
        )
    return message


def json_reply(value: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(value).encode(), content_type="application/json"
    )


def error_reply(request: web.BaseRequest, fault: AisFault) -> web.Response:
    """Rule 1's document (no body on HEAD)."""
    document = {
        "message": fault.message,
        "method": request.method,
        "url_path": request.path,
        "remote_addr": request.remote or "",
        "caller": "",
        "node": "s3aio",
        "status": fault.status,
    }
    if request.method == "HEAD":
        return web.Response(status=fault.status)
    response = json_reply(document, fault.status)
    if not request.content.at_eof() and request.method in ("PUT", "POST"):
        response.force_close()  # the body was never read: the connection cannot go on
    return response


def msgpack(value: Packable) -> bytes:
    """MessagePack of ``value`` (what the SDK decodes listings with)."""
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _pack(value: Packable, out: bytearray) -> None:
    if value is None:
        out.append(0xC0)
    elif isinstance(value, bool):
        out.append(0xC3 if value else 0xC2)
    elif isinstance(value, int):
        if 0 <= value < 0x80:
            out.append(value)
        elif 0 <= value < 2**64:
            out += b"\xcf" + struct.pack(">Q", value)
        else:
            out += b"\xd3" + struct.pack(">q", value)
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        _head(len(data), out, 0xA0, 0xDA, 0xDB, 0xD9)
        out += data
    elif isinstance(value, list):
        _head(len(value), out, 0x90, 0xDC, 0xDD)
        for item in value:
            _pack(item, out)
    else:
        _head(len(value), out, 0x80, 0xDE, 0xDF)
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)


def _head(size: int, out: bytearray, fix: int, b16: int, b32: int, b8: int | None = None) -> None:
    """A str, array or map header: fix form, 8-bit (str), 16-bit or 32-bit size."""
    if size < (32 if fix == 0xA0 else 16):
        out.append(fix | size)
    elif b8 is not None and size < 0x100:
        out += bytes((b8, size))
    elif size < 0x10000:
        out += bytes((b16,)) + struct.pack(">H", size)
    else:
        out += bytes((b32,)) + struct.pack(">I", size)
