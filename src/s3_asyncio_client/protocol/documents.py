"""S3's XML documents: a hardened parser and the few renderers we need.

The parser refuses any DOCTYPE or ENTITY declaration before expat sees the bytes,
so entity expansion ("billion laughs") and external entities cannot happen. Element
names are returned without their namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ..exceptions import S3ServerError

__all__ = ["S3_NAMESPACE", "XmlNode", "escape_text", "parse_xml", "render"]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_FORBIDDEN = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlNode:
    """A read-only view of an element with namespace-free lookups."""

    __slots__ = ("_element",)

    def __init__(self, element: ElementTree.Element) -> None:
        self._element = element

    @property
    def tag(self) -> str:
        return self._element.tag.rpartition("}")[2]

    @property
    def text(self) -> str:
        return self._element.text or ""

    def children(self, tag: str | None = None) -> list[XmlNode]:
        nodes = (XmlNode(child) for child in self._element)
        return [node for node in nodes if tag is None or node.tag == tag]

    def child(self, tag: str) -> XmlNode | None:
        found = self.children(tag)
        return found[0] if found else None

    def find_text(self, tag: str, default: str | None = None) -> str | None:
        node = self.child(tag)
        return node.text if node is not None else default


def parse_xml(body: bytes) -> XmlNode:
    """Parse an S3 XML document; raise S3ServerError on malformed or unsafe input.

    Leading whitespace (S3 sends it to keep a slow CompleteMultipartUpload alive) is
    skipped. Only UTF-8 is accepted, so the DOCTYPE check cannot be dodged by
    another encoding.
    """
    body = body.lstrip()
    if _FORBIDDEN.search(body):
        raise S3ServerError("refusing an XML document with a DOCTYPE or ENTITY declaration")
    if b"\x00" in body or body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise S3ServerError("malformed XML reply: not UTF-8")
    try:
        return XmlNode(ElementTree.fromstring(body))
    except ElementTree.ParseError as exc:
        raise S3ServerError(f"malformed XML reply: {exc}") from None


Content = str | int | bool | None | Mapping[str, "Content"] | list[tuple[str, "Content"]]


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_text(value: str) -> str:
    """``value`` as XML character data; CR kept as ``&#13;`` (XML would turn it into LF).

    Characters XML 1.0 cannot carry at all raise ValueError.
    """
    if _NOT_XML.search(value):
        raise ValueError(f"{value!r} holds a character XML cannot carry")
    return escape(value).replace("\r", "&#13;")


def _render(tag: str, value: Content) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    if isinstance(value, Mapping):
        value = list(value.items())
    if isinstance(value, list):
        inner = "".join(_render(t, v) for t, v in value)
        return f"<{tag}>{inner}</{tag}>"
    return f"<{tag}>{escape_text(str(value))}</{tag}>"


def render(root: str, items: Iterable[tuple[str, Content]], *, namespace: bool = True) -> bytes:
    """Render ``<root>`` with children from ``(tag, value)`` pairs; ``None`` is skipped.

    A value may be a mapping or a list of pairs (nested elements) or a scalar.
    """
    xmlns = f' xmlns="{S3_NAMESPACE}"' if namespace else ""
    inner = "".join(_render(tag, value) for tag, value in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{xmlns}>{inner}</{root}>'.encode()
