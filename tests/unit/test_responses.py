"""Every parser in protocol/responses.py against replies written as S3 documents them."""

from __future__ import annotations

import pytest

from s3_asyncio_client.protocol import responses
from s3_asyncio_client.protocol.errors import RemoteLengthError, RemoteProtocolError
from s3_asyncio_client.protocol.http import HttpResponse
from s3_asyncio_client.protocol.responses import (
    parse_complete_multipart_upload,
    parse_copy_object,
    parse_create_multipart_upload,
    parse_delete_objects,
    parse_get_object,
    parse_head_object,
    parse_list_buckets,
    parse_list_multipart_uploads,
    parse_list_objects_v2,
    parse_list_parts,
    parse_put_object,
    parse_upload_part_copy,
)

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NS = b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def _ok(body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(200, headers or {"x-amz-request-id": "4442587FB7D0A2F9"}, body)


def test_every_parser_is_covered_here() -> None:
    covered = {
        "parse_complete_multipart_upload",
        "parse_copy_object",
        "parse_create_multipart_upload",
        "parse_delete_objects",
        "parse_get_object",
        "parse_head_object",
        "parse_list_buckets",
        "parse_list_multipart_uploads",
        "parse_list_objects_v2",
        "parse_list_parts",
        "parse_put_object",
        "parse_upload_part_copy",
    }
    assert {name for name in responses.__all__ if name.startswith("parse_")} == covered


# --- ListBuckets ----------------------------------------------------------------------

LIST_BUCKETS = (
    DECL
    + b"<ListAllMyBucketsResult"
    + NS
    + b""">
  <Owner>
    <ID>bcaf1ffd86f461ca5fb16fd081034f</ID>
    <DisplayName>webfile</DisplayName>
  </Owner>
  <Buckets>
    <Bucket>
      <Name>amzn-s3-demo-bucket</Name>
      <CreationDate>2006-02-03T16:45:09.000Z</CreationDate>
    </Bucket>
    <Bucket>
      <Name>my.dotted.bucket</Name>
      <CreationDate>2006-02-03T16:41:58.000Z</CreationDate>
    </Bucket>
  </Buckets>
</ListAllMyBucketsResult>"""
)


def test_list_buckets() -> None:
    assert parse_list_buckets(_ok(LIST_BUCKETS)) == [
        {"name": "amzn-s3-demo-bucket", "creation_date": "2006-02-03T16:45:09.000Z"},
        {"name": "my.dotted.bucket", "creation_date": "2006-02-03T16:41:58.000Z"},
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>",
        b"<ListAllMyBucketsResult" + NS + b"><Owner><ID>x</ID></Owner></ListAllMyBucketsResult>",
    ],
)
def test_list_buckets_empty(body: bytes) -> None:
    assert parse_list_buckets(_ok(body)) == []


def test_malformed_reply_is_a_server_error() -> None:
    with pytest.raises(RemoteProtocolError, match="malformed XML reply"):
        parse_list_buckets(_ok(b"<ListAllMyBucketsResult><Buckets>"))


# --- PutObject / HeadObject --------------------------------------------------------------


def test_put_object_minimal_reply() -> None:
    reply = _ok(b"", {"etag": '"d41d8cd98f00b204e9800998ecf8427e"', "content-length": "0"})
    assert parse_put_object(reply) == {"etag": '"d41d8cd98f00b204e9800998ecf8427e"'}


def test_put_object_with_version_and_checksums() -> None:
    headers = {
        "etag": '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
        "x-amz-version-id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
        "x-amz-checksum-crc32c": "yZRlqg==",
        "x-amz-checksum-sha256": "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
        "x-amz-checksum-type": "FULL_OBJECT",
        "x-amz-server-side-encryption": "AES256",
    }
    assert parse_put_object(_ok(b"", headers)) == {
        "etag": '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
        "version_id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
        "checksums": {
            "crc32c": "yZRlqg==",
            "sha256": "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
        },
    }


def test_put_object_without_etag() -> None:
    assert parse_put_object(_ok(b"", {})) == {"etag": ""}


def test_head_object() -> None:
    headers = {
        "x-amz-id-2": "ef8yU9AS1ed4OpIszj7UDNEHGran",
        "x-amz-request-id": "318BC8BC143432E5",
        "last-modified": "Sun, 1 Jan 2006 12:00:00 GMT",
        "etag": '"fba9dede5f27731c9771645a39863328"',
        "content-length": "434234",
        "content-type": "text/plain",
        "x-amz-meta-owner": "alice",
        "x-amz-meta-project-id": "42",
        "x-amz-checksum-crc32": "i9aeUg==",
        "x-amz-checksum-type": "COMPOSITE",
        "x-amz-storage-class": "STANDARD_IA",
    }
    assert parse_head_object(HttpResponse(200, headers)) == {
        "etag": '"fba9dede5f27731c9771645a39863328"',
        "content_length": 434234,
        "content_type": "text/plain",
        "last_modified": "Sun, 1 Jan 2006 12:00:00 GMT",
        "metadata": {"owner": "alice", "project-id": "42"},
        "checksums": {"crc32": "i9aeUg=="},
        "checksum_type": "COMPOSITE",
    }


def test_head_of_a_part_reports_the_parts_length_and_count() -> None:
    headers = {
        "etag": '"abc-3"',
        "content-length": "5242880",
        "content-range": "bytes 5242880-10485759/11534336",
        "x-amz-mp-parts-count": "3",
    }
    whole = parse_head_object(HttpResponse(206, headers))
    part = parse_head_object(HttpResponse(206, headers), part=True)
    assert (whole["content_length"], part["content_length"]) == (11534336, 5242880)
    assert whole["parts_count"] == part["parts_count"] == 3


def test_head_object_ranged_reply_reports_the_total_length() -> None:
    headers = {"etag": '"abc-3"', "content-length": "100", "content-range": "bytes 0-99/5368709120"}
    assert parse_head_object(HttpResponse(206, headers)) == {
        "etag": '"abc-3"',
        "content_length": 5368709120,
        "content_type": None,
        "last_modified": None,
        "metadata": {},
    }


def test_head_object_without_headers() -> None:
    assert parse_head_object(HttpResponse(200, {"content-length": "0"})) == {
        "etag": "",
        "content_length": 0,
        "content_type": None,
        "last_modified": None,
        "metadata": {},
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-length": "-1"},
        {"content-length": "abc"},
        {"content-length": "100", "content-range": "bytes 0-98/5000"},
        {"content-length": "100", "content-range": "bytes */5000"},
    ],
)
def test_head_object_lengths_missing_or_at_odds_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(RemoteLengthError) as caught:
        parse_head_object(HttpResponse(200, headers), bucket="b", key="k")
    assert (caught.value.bucket, caught.value.key) == ("b", "k")


def test_get_object_lengths() -> None:
    headers = {"etag": '"e"', "content-length": "3", "content-range": "bytes 10-12/100"}
    info = parse_get_object(HttpResponse(206, headers, b"abc"), (10, 12))
    assert (info["etag"], info["content_length"]) == ('"e"', 3)
    whole = parse_get_object(HttpResponse(200, {"content-length": "3"}, b"abc"), None)
    assert whole["content_length"] == 3
    with pytest.raises(RemoteLengthError, match="the body is 2 bytes"):
        parse_get_object(HttpResponse(206, headers, b"ab"), (10, 12))
    with pytest.raises(RemoteLengthError, match="asked for bytes 10-11"):
        parse_get_object(HttpResponse(206, headers, b"abc"), (10, 11))


# --- ListObjectsV2 -----------------------------------------------------------------------

LIST_OBJECTS_TRUNCATED = (
    DECL
    + b"<ListBucketResult"
    + NS
    + b""">
  <Name>amzn-s3-demo-bucket</Name>
  <Prefix>photos/</Prefix>
  <KeyCount>3</KeyCount>
  <MaxKeys>3</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>photos/my image.jpg</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>photos/a&amp;b&lt;c&gt;.png</Key>
    <LastModified>2009-10-12T17:50:31.000Z</LastModified>
    <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
    <Size>0</Size>
  </Contents>
  <CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>photos/2007/</Prefix></CommonPrefixes>
</ListBucketResult>"""
)


def test_list_objects_v2_truncated_page() -> None:
    assert parse_list_objects_v2(_ok(LIST_OBJECTS_TRUNCATED)) == {
        "contents": [
            {
                "key": "photos/my image.jpg",
                "size": 434234,
                "etag": '"fba9dede5f27731c9771645a39863328"',
                "last_modified": "2009-10-12T17:50:30.000Z",
                "storage_class": "STANDARD",
            },
            {
                "key": "photos/a&b<c>.png",
                "size": 0,
                "etag": '"3858f62230ac3c915f300c664312c11f-9"',
                "last_modified": "2009-10-12T17:50:31.000Z",
            },
        ],
        "common_prefixes": ["photos/2006/", "photos/2007/"],
        "is_truncated": True,
        "next_continuation_token": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
    }


def test_list_objects_v2_last_page_without_namespace() -> None:
    body = (
        b"<ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
        b"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
        b"<Contents><Key>k</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
        b'<ETag>"e"</ETag><Size>12</Size><StorageClass>GLACIER</StorageClass></Contents>'
        b"</ListBucketResult>"
    )
    assert parse_list_objects_v2(_ok(body)) == {
        "contents": [
            {
                "key": "k",
                "size": 12,
                "etag": '"e"',
                "last_modified": "2024-01-01T00:00:00.000Z",
                "storage_class": "GLACIER",
            }
        ],
        "common_prefixes": [],
        "is_truncated": False,
        "next_continuation_token": None,
    }


def test_list_objects_v2_empty_bucket() -> None:
    body = DECL + b"<ListBucketResult" + NS + b"><Name>b</Name><KeyCount>0</KeyCount>"
    body += b"<IsTruncated>false</IsTruncated></ListBucketResult>"
    assert parse_list_objects_v2(_ok(body)) == {
        "contents": [],
        "common_prefixes": [],
        "is_truncated": False,
        "next_continuation_token": None,
    }


@pytest.mark.parametrize("size", ["big", "-1", "", "+5", " 5", "\u0663", "9" * 20])
def test_list_objects_v2_bad_size_is_a_length_error(size: str) -> None:
    body = f"<ListBucketResult><Contents><Key>k</Key><Size>{size}</Size></Contents>"
    with pytest.raises(RemoteLengthError, match="the <Size> of 'k'") as caught:
        parse_list_objects_v2(_ok(body.encode() + b"</ListBucketResult>"))
    assert caught.value.value == size


def _listing(*elements: str) -> HttpResponse:
    return _ok(f"<ListBucketResult>{''.join(elements)}</ListBucketResult>".encode())


def _content(key: str) -> str:
    return f"<Contents><Key>{key}</Key><Size>1</Size><ETag>e</ETag></Contents>"


def test_list_objects_v2_url_encoded_keys_are_decoded() -> None:
    """As S3 encodes them: ``+`` for a space, ``%2B`` for a plus; the token is opaque."""
    page = parse_list_objects_v2(
        _listing(
            "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>",
            "<NextContinuationToken>a+b%2F==</NextContinuationToken>",
            _content("a+b%2Bc"),
            _content("ctl/a%01b%0D%E6%97%A5"),
            "<CommonPrefixes><Prefix>dir%01+x/</Prefix></CommonPrefixes>",
        )
    )
    assert [item["key"] for item in page["contents"]] == ["a b+c", "ctl/a\x01b\r日"]
    assert page["common_prefixes"] == ["dir\x01 x/"]
    assert page["next_continuation_token"] == "a+b%2F=="


def test_list_objects_v2_keys_are_raw_unless_the_reply_says_encoded() -> None:
    """A server that ignored ``encoding-type=url`` sends keys as they are: a ``%`` or
    a ``+`` in them is part of the key."""
    page = parse_list_objects_v2(_listing(_content("100%25 a+b"), _content("x&#x1;y")))
    assert [item["key"] for item in page["contents"]] == ["100%25 a+b", "x\x01y"]


def test_list_objects_v2_badly_encoded_key_is_a_server_error() -> None:
    with pytest.raises(RemoteProtocolError, match="not URL-encoded UTF-8"):
        parse_list_objects_v2(_listing("<EncodingType>url</EncodingType>", _content("%FF")))


# --- DeleteObjects -----------------------------------------------------------------------

DELETE_RESULT = (
    DECL
    + b"<DeleteResult"
    + NS
    + b""">
  <Deleted>
    <Key>sample1.txt</Key>
  </Deleted>
  <Deleted>
    <Key>dir/sample 2.txt</Key>
    <VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>
    <DeleteMarker>true</DeleteMarker>
    <DeleteMarkerVersionId>NeQt5xeFTfgPJD8B4CGWnkSLtluMr11s</DeleteMarkerVersionId>
  </Deleted>
  <Error>
    <Key>sample3.txt</Key>
    <Code>AccessDenied</Code>
    <Message>Access Denied</Message>
  </Error>
</DeleteResult>"""
)


def test_delete_objects() -> None:
    assert parse_delete_objects(_ok(DELETE_RESULT)) == {
        "deleted": ["sample1.txt", "dir/sample 2.txt"],
        "errors": [{"key": "sample3.txt", "code": "AccessDenied", "message": "Access Denied"}],
    }


def test_delete_objects_quiet_reply_is_empty() -> None:
    assert parse_delete_objects(_ok(DECL + b"<DeleteResult" + NS + b"/>")) == {
        "deleted": [],
        "errors": [],
    }


# --- CopyObject / UploadPartCopy -----------------------------------------------------------


def test_copy_object() -> None:
    body = (
        DECL + b"<CopyObjectResult" + NS + b">"
        b"<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
        b"<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
        b"</CopyObjectResult>"
    )
    assert parse_copy_object(_ok(body)) == {
        "etag": '"9b2cf535f27731c974343645a3985328"',
        "last_modified": "2009-10-12T17:50:30.000Z",
    }


def test_upload_part_copy() -> None:
    body = (
        b"<CopyPartResult><LastModified>2011-04-11T20:34:56.000Z</LastModified>"
        b'<ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyPartResult>'
    )
    assert parse_upload_part_copy(_ok(body)) == {
        "etag": '"9b2cf535f27731c974343645a3985328"',
        "last_modified": "2011-04-11T20:34:56.000Z",
    }
    assert parse_upload_part_copy(_ok(b'<CopyPartResult><ETag>"e"</ETag></CopyPartResult>')) == {
        "etag": '"e"',
        "last_modified": None,
    }


# --- multipart ---------------------------------------------------------------------------


def test_create_multipart_upload() -> None:
    body = (
        DECL + b"<InitiateMultipartUploadResult" + NS + b">"
        b"<Bucket>amzn-s3-demo-bucket</Bucket><Key>example-object</Key>"
        b"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
        b"</InitiateMultipartUploadResult>"
    )
    assert (
        parse_create_multipart_upload(_ok(body))
        == "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>",
        b"<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
    ],
)
def test_create_multipart_upload_without_upload_id(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="no UploadId"):
        parse_create_multipart_upload(_ok(body))


LIST_PARTS = (
    DECL
    + b"<ListPartsResult"
    + NS
    + b""">
  <Bucket>amzn-s3-demo-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <Initiator>
      <ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID>
      <DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName>
  </Initiator>
  <Owner>
    <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
    <DisplayName>someName</DisplayName>
  </Owner>
  <StorageClass>STANDARD</StorageClass>
  <ChecksumAlgorithm>CRC32C</ChecksumAlgorithm>
  <PartNumberMarker>1</PartNumberMarker>
  <NextPartNumberMarker>3</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
    <Size>10485760</Size>
    <ChecksumCRC32C>AAAAAA==</ChecksumCRC32C>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <LastModified>2010-11-10T20:48:33.000Z</LastModified>
    <ETag>&quot;aaaa18db4cc2f85cedef654fccc4a4x8&quot;</ETag>
    <Size>10485760</Size>
    <ChecksumCRC32C>yZRlqg==</ChecksumCRC32C>
  </Part>
</ListPartsResult>"""
)


def test_list_parts_truncated_page() -> None:
    assert parse_list_parts(_ok(LIST_PARTS)) == {
        "parts": [
            {
                "part_number": 2,
                "etag": '"7778aef83f66abc1fa1e8477f296d394"',
                "size": 10485760,
                "last_modified": "2010-11-10T20:48:34.000Z",
                "checksum": "AAAAAA==",
            },
            {
                "part_number": 3,
                "etag": '"aaaa18db4cc2f85cedef654fccc4a4x8"',
                "size": 10485760,
                "last_modified": "2010-11-10T20:48:33.000Z",
                "checksum": "yZRlqg==",
            },
        ],
        "is_truncated": True,
        "next_part_number_marker": 3,
    }


def test_list_parts_last_page_without_namespace_or_checksums() -> None:
    body = (
        b"<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>"
        b"<PartNumberMarker>0</PartNumberMarker><MaxParts>1000</MaxParts>"
        b"<IsTruncated>false</IsTruncated>"
        b'<Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><Size>5242880</Size></Part>'
        b"</ListPartsResult>"
    )
    assert parse_list_parts(_ok(body)) == {
        "parts": [{"part_number": 1, "etag": '"e1"', "size": 5242880}],
        "is_truncated": False,
        "next_part_number_marker": None,
    }


def test_list_parts_no_parts() -> None:
    body = DECL + b"<ListPartsResult" + NS + b"><IsTruncated>false</IsTruncated></ListPartsResult>"
    assert parse_list_parts(_ok(body)) == {
        "parts": [],
        "is_truncated": False,
        "next_part_number_marker": None,
    }


COMPLETE = (
    DECL
    + b"<CompleteMultipartUploadResult"
    + NS
    + b""">
  <Location>https://amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com/my%20file.bin</Location>
  <Bucket>amzn-s3-demo-bucket</Bucket>
  <Key>my file.bin</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
  <ChecksumCRC32C>bRsYcw==-9</ChecksumCRC32C>
  <ChecksumType>COMPOSITE</ChecksumType>
</CompleteMultipartUploadResult>"""
)


def test_complete_multipart_upload() -> None:
    assert parse_complete_multipart_upload(_ok(COMPLETE)) == {
        "etag": '"3858f62230ac3c915f300c664312c11f-9"',
        "location": "https://amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com/my%20file.bin",
        "bucket": "amzn-s3-demo-bucket",
        "key": "my file.bin",
    }


def test_complete_multipart_upload_minimal_reply() -> None:
    body = b'<CompleteMultipartUploadResult><ETag>"e-2"</ETag></CompleteMultipartUploadResult>'
    assert parse_complete_multipart_upload(_ok(body)) == {
        "etag": '"e-2"',
        "location": None,
        "bucket": None,
        "key": None,
    }


def test_complete_multipart_upload_after_keepalive_whitespace_without_declaration() -> None:
    body = b"\n \n  \n" + COMPLETE[len(DECL) :]
    assert parse_complete_multipart_upload(_ok(body))["etag"] == (
        '"3858f62230ac3c915f300c664312c11f-9"'
    )


def test_complete_multipart_upload_after_keepalive_whitespace() -> None:
    body = b"\n\r\n\r\n  " + COMPLETE
    assert parse_complete_multipart_upload(_ok(body))["etag"] == (
        '"3858f62230ac3c915f300c664312c11f-9"'
    )


LIST_UPLOADS = (
    DECL
    + b"<ListMultipartUploadsResult"
    + NS
    + b""">
  <Bucket>amzn-s3-demo-bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator>
      <ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID>
      <DisplayName>user1-11111a31-17b5-4fb7-9df5-b111111f13de</DisplayName>
    </Initiator>
    <Owner>
      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
      <DisplayName>OwnerDisplayName</DisplayName>
    </Owner>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload>
    <Key>my-movie.m2ts</Key>
    <UploadId>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
</ListMultipartUploadsResult>"""
)


def test_list_multipart_uploads_truncated_page() -> None:
    assert parse_list_multipart_uploads(_ok(LIST_UPLOADS)) == {
        "uploads": [
            {
                "key": "my-divisor",
                "upload_id": "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw",
                "initiated": "2010-11-10T20:48:33.000Z",
            },
            {
                "key": "my-movie.m2ts",
                "upload_id": "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ",
                "initiated": "2010-11-10T20:48:33.000Z",
            },
        ],
        "is_truncated": True,
        "next_key_marker": "my-movie.m2ts",
        "next_upload_id_marker": "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ",
    }


def test_list_multipart_uploads_last_page_without_namespace() -> None:
    body = (
        b"<ListMultipartUploadsResult><Bucket>b</Bucket><NextKeyMarker></NextKeyMarker>"
        b"<NextUploadIdMarker></NextUploadIdMarker><IsTruncated>false</IsTruncated>"
        b"</ListMultipartUploadsResult>"
    )
    assert parse_list_multipart_uploads(_ok(body)) == {
        "uploads": [],
        "is_truncated": False,
        "next_key_marker": None,
        "next_upload_id_marker": None,
    }


def test_list_multipart_uploads_url_encoded_keys_are_decoded() -> None:
    body = (
        b"<ListMultipartUploadsResult><EncodingType>url</EncodingType>"
        b"<NextKeyMarker>b%0B+c</NextKeyMarker><NextUploadIdMarker>u+2</NextUploadIdMarker>"
        b"<IsTruncated>true</IsTruncated><Upload><Key>a%01+b</Key><UploadId>u+1</UploadId>"
        b"<Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload></ListMultipartUploadsResult>"
    )
    assert parse_list_multipart_uploads(_ok(body)) == {
        "uploads": [
            {"key": "a\x01 b", "upload_id": "u+1", "initiated": "2010-11-10T20:48:33.000Z"}
        ],
        "is_truncated": True,
        "next_key_marker": "b\x0b c",
        "next_upload_id_marker": "u+2",
    }
