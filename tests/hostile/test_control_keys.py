"""Keys holding control characters (legal in S3, mostly not in XML 1.0) against the
embedded server, over raw HTTP, through our client and through boto3.

Without ``encoding-type`` the server writes such characters as character references
(``&#x1;``), as S3 does; with ``encoding-type=url`` it URL-encodes keys, prefixes,
delimiters and markers, and the document is plain XML 1.0. Error documents always
are (they leave out a Key XML cannot carry: the Resource names it). Nothing is stored
before its reply exists, so no request leaves an upload behind that nobody heard of.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from base64 import b64encode
from collections.abc import AsyncIterator
from urllib.parse import quote, unquote_plus
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError
from rawhttp import signed
from servers import ServerInfo, boto3_client

from s3_asyncio_client import S3Client, S3InvalidRequestError
from s3_asyncio_client.protocol.documents import parse_xml

CONTROL = ["ctl/a\x01b", "ctl/vt\x0bx", "ctl/del\x7fx", "ctl/us\x1fx", "ctl/cr\rx"]
NEIGHBOURS = ["ctl/a", "ctl/a b+c", "ctl/z"]
KEYS = sorted(CONTROL + NEIGHBOURS)
# How each control key appears in a listing without encoding-type (DEL is XML 1.0).
REFERENCED = [
    b"<Key>ctl/a&#x1;b</Key>",
    b"<Key>ctl/vt&#xb;x</Key>",
    b"<Key>ctl/del\x7fx</Key>",
    b"<Key>ctl/us&#x1f;x</Key>",
    b"<Key>ctl/cr&#13;x</Key>",
]


def path_of(bucket: str, key: str) -> str:
    return f"/{bucket}/{quote(key, safe='/')}"


def strict_xml(body: bytes) -> ElementTree.Element:
    """The document as any XML 1.0 parser reads it (no leniency of ours)."""
    return ElementTree.fromstring(body)


def texts(body: bytes, path: str) -> list[str]:
    namespace = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    return [node.text or "" for node in strict_xml(body).findall(path, namespace)]


def uploads_of(local: ServerInfo, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(key, upload id) of every upload under ``prefix``, keys decoded."""
    reply = signed(local, "GET", f"/{bucket}?uploads&encoding-type=url&prefix={quote(prefix)}")
    assert reply.status == 200, reply.body
    keys = [unquote_plus(k) for k in texts(reply.body, "s3:Upload/s3:Key")]
    return list(zip(keys, texts(reply.body, "s3:Upload/s3:UploadId"), strict=True))


@pytest.fixture(scope="module")
def bucket(local: ServerInfo) -> str:
    name = f"c-{uuid.uuid4().hex[:12]}"
    assert signed(local, "PUT", f"/{name}").status == 200
    for key in KEYS:
        assert signed(local, "PUT", path_of(name, key), body=key.encode()).status == 200
    return name


@pytest.fixture
async def client(local: ServerInfo) -> AsyncIterator[S3Client]:
    async with S3Client(
        access_key=local.access_key, secret_key=local.secret_key, endpoint_url=local.endpoint_url
    ) as c:
        yield c


@pytest.mark.parametrize("listing", ["list-type=2&", ""], ids=["v2", "v1"])
def test_listing_without_encoding_type_writes_character_references(
    local: ServerInfo, bucket: str, listing: str
) -> None:
    reply = signed(local, "GET", f"/{bucket}?{listing}prefix=ctl%2F")
    assert reply.status == 200, reply.body
    for element in REFERENCED:
        assert element in reply.body
    assert b"EncodingType" not in reply.body
    root = parse_xml(reply.body)
    assert [node.find_text("Key") for node in root.children("Contents")] == KEYS


@pytest.mark.parametrize("listing", ["list-type=2&", ""], ids=["v2", "v1"])
def test_listing_with_encoding_type_url_is_plain_xml(
    local: ServerInfo, bucket: str, listing: str
) -> None:
    reply = signed(local, "GET", f"/{bucket}?{listing}prefix=ctl%2F&encoding-type=url")
    assert reply.status == 200, reply.body
    assert texts(reply.body, "s3:EncodingType") == ["url"]
    assert texts(reply.body, "s3:Prefix") == ["ctl/"]
    keys = texts(reply.body, "s3:Contents/s3:Key")
    assert keys == [quote(key, safe="/") for key in KEYS]
    assert {"ctl/a%20b%2Bc", "ctl/a%01b", "ctl/cr%0Dx"} <= set(keys)  # a space as %20
    assert [unquote_plus(key) for key in keys] == KEYS


def test_v1_markers_are_encoded(local: ServerInfo, bucket: str) -> None:
    marker = "ctl/a\x01b"
    query = f"prefix=ctl%2F&max-keys=2&marker={quote(marker)}"
    encoded = signed(local, "GET", f"/{bucket}?{query}&encoding-type=url")
    assert encoded.status == 200, encoded.body
    after = KEYS[KEYS.index(marker) + 1 :]
    assert texts(encoded.body, "s3:Marker") == ["ctl/a%01b"]
    assert texts(encoded.body, "s3:NextMarker") == [quote(after[1], safe="/")]
    assert texts(encoded.body, "s3:IsTruncated") == ["true"]
    plain = signed(local, "GET", f"/{bucket}?{query}")
    assert plain.status == 200, plain.body
    assert b"<Marker>ctl/a&#x1;b</Marker>" in plain.body
    assert parse_xml(plain.body).find_text("NextMarker") == after[1]


def test_v2_pages_with_start_after_encode_it_and_not_the_token(
    local: ServerInfo, bucket: str
) -> None:
    start = quote("ctl/a\x01b")
    keys: list[str] = []
    token = None
    for _ in range(len(KEYS)):
        query = "list-type=2&prefix=ctl%2F&max-keys=2&encoding-type=url"
        query += (
            f"&continuation-token={quote(token, safe='')}" if token else f"&start-after={start}"
        )
        reply = signed(local, "GET", f"/{bucket}?{query}")
        assert reply.status == 200, reply.body
        if token is None:
            assert texts(reply.body, "s3:StartAfter") == ["ctl/a%01b"]
        else:
            assert texts(reply.body, "s3:ContinuationToken") == [token]
        keys += [unquote_plus(key) for key in texts(reply.body, "s3:Contents/s3:Key")]
        following = texts(reply.body, "s3:NextContinuationToken")
        if not following:
            break
        token = following[0]
    assert keys == KEYS[KEYS.index("ctl/a\x01b") + 1 :]


def test_delimiter_and_prefix_holding_control_characters(local: ServerInfo, bucket: str) -> None:
    query = f"/{bucket}?list-type=2&prefix=ctl%2F&delimiter=%01"
    encoded = signed(local, "GET", f"{query}&encoding-type=url")
    assert encoded.status == 200, encoded.body
    assert texts(encoded.body, "s3:Delimiter") == ["%01"]
    assert texts(encoded.body, "s3:CommonPrefixes/s3:Prefix") == ["ctl/a%01"]
    assert [unquote_plus(k) for k in texts(encoded.body, "s3:Contents/s3:Key")] == [
        key for key in KEYS if key != "ctl/a\x01b"
    ]
    plain = signed(local, "GET", query)
    assert plain.status == 200, plain.body
    assert b"<Delimiter>&#x1;</Delimiter>" in plain.body
    assert b"<CommonPrefixes><Prefix>ctl/a&#x1;</Prefix></CommonPrefixes>" in plain.body
    under = signed(local, "GET", f"/{bucket}?list-type=2&prefix=ctl%2Fa%01&encoding-type=url")
    assert texts(under.body, "s3:Prefix") == ["ctl/a%01"]
    assert texts(under.body, "s3:Contents/s3:Key") == ["ctl/a%01b"]


def test_get_of_a_missing_control_key_is_no_such_key(local: ServerInfo, bucket: str) -> None:
    path = path_of(bucket, "ctl/missing\x01")
    reply = signed(local, "GET", path)
    assert (reply.status, reply.code) == (404, "NoSuchKey"), reply.body
    document = strict_xml(reply.body)  # well-formed XML 1.0
    assert document.findtext("Resource") == path
    assert document.find("Key") is None  # it cannot carry this key; Resource names it
    plain = signed(local, "GET", path_of(bucket, "ctl/missing"))
    assert (plain.status, strict_xml(plain.body).findtext("Key")) == (404, "ctl/missing")


def test_create_multipart_upload_of_a_control_key(local: ServerInfo, bucket: str) -> None:
    folder = f"mpu-{uuid.uuid4().hex[:8]}"
    key = f"{folder}/up\x0b"
    created = signed(local, "POST", f"{path_of(bucket, key)}?uploads")
    assert created.status == 200, created.body
    assert f"<Key>{folder}/up&#xb;</Key>".encode() in created.body
    upload_id = parse_xml(created.body).find_text("UploadId")
    # Exactly the upload the reply named: no orphan beside it.
    assert uploads_of(local, bucket, folder) == [(key, upload_id)]
    plain = signed(local, "GET", f"/{bucket}?uploads&prefix={quote(key)}")
    assert f"<Key>{folder}/up&#xb;</Key>".encode() in plain.body
    other = folder + "/sub\x01/x"
    second = signed(local, "POST", f"{path_of(bucket, other)}?uploads")
    assert second.status == 200, second.body
    query = f"/{bucket}?uploads&encoding-type=url&prefix={folder}%2F"
    page = signed(local, "GET", f"{query}&max-uploads=1")
    assert texts(page.body, "s3:NextKeyMarker") == [f"{folder}/sub%01/x"]
    folded = signed(local, "GET", f"{query}&delimiter=%01")
    assert texts(folded.body, "s3:Delimiter") == ["%01"]
    assert texts(folded.body, "s3:CommonPrefixes/s3:Prefix") == [f"{folder}/sub%01"]
    for upload_key, upload in uploads_of(local, bucket, folder):
        abort = signed(local, "DELETE", f"{path_of(bucket, upload_key)}?uploadId={upload}")
        assert abort.status == 204
    assert uploads_of(local, bucket, folder) == []


def test_complete_of_a_control_key_names_it_in_a_url(local: ServerInfo, bucket: str) -> None:
    key = f"mpu-{uuid.uuid4().hex[:8]}/a b\x01"
    created = signed(local, "POST", f"{path_of(bucket, key)}?uploads")
    upload_id = parse_xml(created.body).find_text("UploadId")
    target = f"{path_of(bucket, key)}?uploadId={upload_id}"
    part = signed(local, "PUT", f"{target}&partNumber=1", body=b"data")
    etag = part.headers["etag"]
    document = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
        "</Part></CompleteMultipartUpload>"
    ).encode()
    done = signed(local, "POST", target, body=document)
    assert done.status == 200, done.body
    assert (
        parse_xml(done.body).find_text("Location")
        == f"{local.endpoint_url}/{bucket}/{quote(key, safe='/')}"
    )
    assert signed(local, "GET", path_of(bucket, key)).body == b"data"


def test_refused_create_leaves_no_upload(local: ServerInfo, bucket: str) -> None:
    key = f"mpu-{uuid.uuid4().hex[:8]}/refused\x01"
    reply = signed(
        local,
        "POST",
        f"{path_of(bucket, key)}?uploads",
        headers={"x-amz-checksum-algorithm": "md4"},
    )
    assert (reply.status, reply.code) == (400, "InvalidRequest"), reply.body
    assert uploads_of(local, bucket, key.partition("/")[0]) == []


def test_delete_objects_refuses_character_references(local: ServerInfo, bucket: str) -> None:
    # S3 answers MalformedXML to a request document with &#x1;: so does the server.
    body = b"<Delete><Object><Key>ctl/a&#x1;b</Key></Object></Delete>"
    md5 = b64encode(hashlib.md5(body).digest()).decode()
    reply = signed(local, "POST", f"/{bucket}?delete", body=body, headers={"content-md5": md5})
    assert (reply.status, reply.code) == (400, "MalformedXML"), reply.body
    assert signed(local, "GET", path_of(bucket, "ctl/a\x01b")).body == b"ctl/a\x01b"


async def test_our_client_lists_and_uploads_control_keys(
    local: ServerInfo, bucket: str, client: S3Client
) -> None:
    assert [o["key"] async for o in client.iter_objects(bucket, prefix="ctl/")] == KEYS
    paged = [o["key"] async for o in client.iter_objects(bucket, prefix="ctl/", page_size=2)]
    assert paged == KEYS
    page = await client.list_objects(bucket, prefix="ctl/", delimiter="\x01")
    assert page["common_prefixes"] == ["ctl/a\x01"]
    key = f"mpu-{uuid.uuid4().hex[:8]}/client\x1f\r"
    upload = await client.create_multipart_upload(bucket, key)
    listed = [(u["key"], u["upload_id"]) async for u in client.iter_multipart_uploads(bucket)]
    assert (key, upload.upload_id) in listed
    await upload.upload_part(1, b"part one")
    assert [p["part_number"] for p in await upload.list_parts()] == [1]
    await upload.complete()
    assert (await client.get_object(bucket, key))["body"] == b"part one"
    with pytest.raises(S3InvalidRequestError, match="XML cannot carry"):
        await client.delete_objects(bucket, [key])  # S3 would answer MalformedXML
    await client.delete_object(bucket, key)
    assert [u async for u in client.iter_multipart_uploads(bucket, prefix=key)] == []


def test_boto3_lists_control_keys(local: ServerInfo, bucket: str) -> None:
    s3 = boto3_client(local)
    try:
        v2 = s3.list_objects_v2(Bucket=bucket, Prefix="ctl/")
        assert [o["Key"] for o in v2["Contents"]] == KEYS
        v1 = s3.list_objects(Bucket=bucket, Prefix="ctl/")
        assert [o["Key"] for o in v1["Contents"]] == KEYS
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="ctl/", PaginationConfig={"PageSize": 2}
        )
        assert [o["Key"] for p in pages for o in p["Contents"]] == KEYS
        folded = s3.list_objects_v2(Bucket=bucket, Prefix="ctl/", Delimiter="\x01")
        assert folded["CommonPrefixes"] == [{"Prefix": "ctl/a\x01"}]
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="ctl/missing\x01")
        assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    finally:
        s3.close()


def test_encoding_type_other_than_url_is_refused(local: ServerInfo, bucket: str) -> None:
    for query in ("list-type=2&encoding-type=base64", "uploads&encoding-type=xml"):
        reply = signed(local, "GET", f"/{bucket}?{query}")
        assert (reply.status, reply.code) == (400, "InvalidArgument"), query
        assert re.search(rb"<Message>Invalid Encoding Method", reply.body)


async def test_our_client_reads_exact_keys_from_every_server(s3_server: ServerInfo) -> None:
    """Keys a wrong decoding would change (``+``, ``%2B``, a space, U+0001), listed by
    every test server. ListMultipartUploads is asked for no encoding: SeaweedFS says
    ``url`` there but sends its keys raw (``m p+q`` would read as ``m p q``)."""
    keys = sorted(["a b", "a+b", "c%2Bd", "x\x01y", "e&f<g"])
    upload_keys = sorted(["m p+q", "n%2Bx"])
    name = f"e-{uuid.uuid4().hex[:12]}"
    async with S3Client(
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        endpoint_url=s3_server.endpoint_url,
    ) as client:
        await client.create_bucket(name)
        for key in keys:
            await client.put_object(name, key, b"v")
        uploads = [await client.create_multipart_upload(name, key) for key in upload_keys]
        assert [o["key"] async for o in client.iter_objects(name)] == keys
        assert [o["key"] async for o in client.iter_objects(name, page_size=2)] == keys
        listed = sorted([u["key"] async for u in client.iter_multipart_uploads(name)])
        assert listed == upload_keys
        for upload in uploads:
            await upload.abort()
        for key in keys:
            await client.delete_object(name, key)
        await client.delete_bucket(name)
