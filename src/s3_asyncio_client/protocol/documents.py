"""S3's XML documents: a hardened parser and the few renderers we need.

The parser refuses any DOCTYPE or ENTITY declaration before expat sees the bytes,
so entity expansion ("billion laughs") and external entities cannot happen. Element
names are returned without their namespace.

Keys may hold any character, XML 1.0 cannot carry most C0 controls (U+0001 ...). S3
writes them as character references (``<Key>a&#x1;b</Key>``) in its replies, which
strict XML 1.0 parsers refuse; listings avoid them with ``encoding-type=url``, other
replies (CreateMultipartUpload, ListParts, CompleteMultipartUpload) cannot. So:

1. ``render`` writes such characters as references, as S3 does; with ``strict`` (a
   request document: S3 answers MalformedXML to one) it raises LocalProtocolError.
2. ``parse_xml`` reads those references (and the raw characters some servers send)
   back into the characters; with ``strict`` (a request document, again) they are
   malformed XML, as for S3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.etree import ElementTree

from .errors import LocalProtocolError, RemoteProtocolError

__all__ = ["S3_NAMESPACE", "XmlNode", "escape_text", "parse_xml", "render", "representable"]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_MALFORMED = "MalformedXML"  # the code S3 answers a bad request document with
_FORBIDDEN = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Characters XML 1.0 cannot carry, not even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_REFERENCE = re.compile(rb"&#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}));")
_RAW_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f]")
# Stand-ins for referenced control characters while expat parses: private-use
# characters the document does not hold (checked), mapped back in ``XmlNode.text``.
_STAND_INS = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE))
_UNCARRIED = frozenset((*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF))


class XmlNode:
    """A read-only view of an element with namespace-free lookups."""

    __slots__ = ("_element", "_restore")

    def __init__(self, element: ElementTree.Element, restore: dict[int, str] | None = None) -> None:
        self._element = element
        self._restore = restore

    @property
    def tag(self) -> str:
        return _local(self._element.tag)

    @property
    def text(self) -> str:
        text = self._element.text or ""
        return text.translate(self._restore) if self._restore else text

    # A listing page has 1,000 children of 6 each: a view is made only for a child
    # that matches, and ``child`` stops at the first.
    def children(self, tag: str | None = None) -> list[XmlNode]:
        restore = self._restore
        return [
            XmlNode(child, restore)
            for child in self._element
            if tag is None or _local(child.tag) == tag
        ]

    def child(self, tag: str) -> XmlNode | None:
        for child in self._element:
            if _local(child.tag) == tag:
                return XmlNode(child, self._restore)
        return None

    def find_text(self, tag: str, default: str | None = None) -> str | None:
        node = self.child(tag)
        return node.text if node is not None else default


def _local(tag: str) -> str:
    """An element name without its ``{namespace}``."""
    return tag.rpartition("}")[2]


def _code_point(match: re.Match[bytes]) -> int:
    hexadecimal, decimal = match.groups()
    return int(hexadecimal, 16) if hexadecimal is not None else int(decimal)


def _control_references(body: bytes) -> tuple[bytes, dict[int, str] | None]:
    """``body`` with control characters XML cannot carry, referenced (``&#x1;``, as S3
    writes them) or raw (as some servers do), replaced by stand-ins; and the table
    that maps the stand-ins back. The body unchanged when it has none."""
    raw = {match[0] for match in _RAW_CONTROL.findall(body)}
    if b"&#" not in body and not raw:
        return body, None
    referenced = {_code_point(m) for m in _REFERENCE.finditer(body)}
    wanted = sorted({cp for cp in referenced if cp in _UNCARRIED} | raw)
    if not wanted or b"<![CDATA[" in body:  # in CDATA a reference is plain text
        return body, None
    try:
        taken = set(body.decode("utf-8")) | {chr(cp) for cp in referenced if cp <= 0x10FFFF}
    except UnicodeDecodeError:
        return body, None  # expat reports it
    free = (chr(cp) for block in _STAND_INS for cp in block if chr(cp) not in taken)
    stand_in = {cp: char.encode() for cp, char in zip(wanted, free, strict=False)}
    if len(stand_in) < len(wanted):
        raise RemoteProtocolError(
            "malformed XML reply: no room to decode its control characters", code=_MALFORMED
        )

    def reference(match: re.Match[bytes]) -> bytes:
        return stand_in.get(_code_point(match), match.group())

    body = _RAW_CONTROL.sub(lambda match: stand_in[match.group()[0]], body)
    body = _REFERENCE.sub(reference, body)
    return body, {ord(char.decode()): chr(cp) for cp, char in stand_in.items()}


def parse_xml(body: bytes, *, strict: bool = False) -> XmlNode:
    """Parse an S3 XML document; raise RemoteProtocolError on malformed or unsafe input.

    Leading whitespace (S3 sends it to keep a slow CompleteMultipartUpload alive) is
    skipped. Only UTF-8 is accepted, so the DOCTYPE check cannot be dodged by
    another encoding. Control characters in text, referenced (``&#x1;``, as S3
    writes them in keys) or raw, are read as those characters unless ``strict``.
    """
    body = body.lstrip()
    if _FORBIDDEN.search(body):
        raise RemoteProtocolError(
            "refusing an XML document with a DOCTYPE or ENTITY declaration", code=_MALFORMED
        )
    if b"\x00" in body or body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise RemoteProtocolError("malformed XML reply: not UTF-8", code=_MALFORMED)
    restore = None
    if not strict:
        body, restore = _control_references(body)
    try:
        return XmlNode(ElementTree.fromstring(body), restore)
    except ElementTree.ParseError as exc:
        raise RemoteProtocolError(f"malformed XML reply: {exc}", code=_MALFORMED) from None


Content = str | int | bool | None | Mapping[str, "Content"] | list[tuple[str, "Content"]]


def representable(value: str) -> bool:
    """Whether XML 1.0 can carry ``value`` as it is (no character references)."""
    return _NOT_XML.search(value) is None


def _reference(match: re.Match[str]) -> str:
    return f"&#x{ord(match.group()):x};"


def escape_text(value: str, *, strict: bool = True) -> str:
    """``value`` as XML character data; CR kept as ``&#13;`` (XML would turn it into LF).

    Characters XML 1.0 cannot carry raise LocalProtocolError if ``strict``, else become
    character references (``&#x1;``), as S3 writes them.
    """
    # xml.sax.saxutils.escape does the same three, at the cost of importing urllib.
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    if _NOT_XML.search(text):
        if strict:
            raise LocalProtocolError(
                f"{value!r} holds a character XML cannot carry", value=value, code=_MALFORMED
            )
        text = _NOT_XML.sub(_reference, text)
    return text


def _render(tag: str, value: Content, strict: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    if isinstance(value, Mapping):
        value = list(value.items())
    if isinstance(value, list):
        inner = "".join(_render(t, v, strict) for t, v in value)
        return f"<{tag}>{inner}</{tag}>"
    return f"<{tag}>{escape_text(str(value), strict=strict)}</{tag}>"


def render(
    root: str, items: Iterable[tuple[str, Content]], *, namespace: bool = True, strict: bool = False
) -> bytes:
    """Render ``<root>`` with children from ``(tag, value)`` pairs; ``None`` is skipped.

    A value may be a mapping or a list of pairs (nested elements) or a scalar.
    Characters XML 1.0 cannot carry become references (as in S3's replies), or raise
    LocalProtocolError if ``strict`` (for request documents, which S3 would refuse).
    """
    xmlns = f' xmlns="{S3_NAMESPACE}"' if namespace else ""
    inner = "".join(_render(tag, value, strict) for tag, value in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{xmlns}>{inner}</{root}>'.encode()
