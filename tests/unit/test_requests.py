"""Every builder in protocol/requests.py, compared as a whole HttpRequest value.

Expected URLs, bodies and checksums are written out by hand or computed here with
zlib/hashlib/base64 (and a bitwise CRC32C), never with the library's own helpers.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from urllib.parse import urlsplit

import pytest

from s3_asyncio_client.protocol import requests
from s3_asyncio_client.protocol.addressing import Endpoint
from s3_asyncio_client.protocol.documents import parse_xml
from s3_asyncio_client.protocol.errors import LocalProtocolError
from s3_asyncio_client.protocol.http import HttpRequest
from s3_asyncio_client.protocol.requests import (
    build_abort_multipart_upload,
    build_complete_multipart_upload,
    build_copy_object,
    build_create_bucket,
    build_create_multipart_upload,
    build_delete_bucket,
    build_delete_object,
    build_delete_objects,
    build_get_object,
    build_head_bucket,
    build_head_object,
    build_list_buckets,
    build_list_multipart_uploads,
    build_list_objects_v2,
    build_list_parts,
    build_put_object,
    build_upload_part,
    build_upload_part_copy,
    object_headers,
)

LOCAL = Endpoint("http://127.0.0.1:9000")
AWS = Endpoint("https://s3.eu-west-1.amazonaws.com")
L = "http://127.0.0.1:9000"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


# --- independent checksum helpers -------------------------------------------------


def _crc32c(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _md5_b64(data: bytes) -> str:
    return _b64(hashlib.md5(data).digest())


def _expected_checksum(algorithm: str, data: bytes) -> str:
    if algorithm == "crc32":
        return _b64(zlib.crc32(data).to_bytes(4, "big"))
    if algorithm == "crc32c":
        return _b64(_crc32c(data).to_bytes(4, "big"))
    return _b64(hashlib.new(algorithm, data).digest())


def test_independent_crc32c_matches_the_published_check_value() -> None:
    # The CRC-32C check value from RFC 3720 / the CRC catalogue.
    assert _crc32c(b"123456789") == 0xE3069283


def test_every_builder_is_covered_here() -> None:
    covered = {
        "build_abort_multipart_upload",
        "build_complete_multipart_upload",
        "build_copy_object",
        "build_create_bucket",
        "build_create_multipart_upload",
        "build_delete_bucket",
        "build_delete_object",
        "build_delete_objects",
        "build_get_object",
        "build_head_bucket",
        "build_head_object",
        "build_list_buckets",
        "build_list_multipart_uploads",
        "build_list_objects_v2",
        "build_list_parts",
        "build_put_object",
        "build_upload_part",
        "build_upload_part_copy",
    }
    assert {name for name in requests.__all__ if name.startswith("build_")} == covered


# --- service and bucket operations ----------------------------------------------


def test_list_buckets() -> None:
    assert build_list_buckets(LOCAL) == HttpRequest("GET", f"{L}/", {}, b"", False)
    assert build_list_buckets(AWS) == HttpRequest("GET", "https://s3.eu-west-1.amazonaws.com/")


def test_create_bucket_outside_us_east_1_sends_a_location_constraint() -> None:
    expected_body = (
        f"{XML_HEAD}<CreateBucketConfiguration{NS}>"
        "<LocationConstraint>eu-west-1</LocationConstraint>"
        "</CreateBucketConfiguration>"
    ).encode()
    assert build_create_bucket(LOCAL, "bucket", region="eu-west-1") == HttpRequest(
        "PUT", f"{L}/bucket", {}, expected_body, False
    )


@pytest.mark.parametrize("region", [None, "", "us-east-1"])
def test_create_bucket_in_us_east_1_has_an_empty_body(region: str | None) -> None:
    assert build_create_bucket(LOCAL, "bucket", region=region) == HttpRequest(
        "PUT", f"{L}/bucket", {}, b"", False
    )


def test_create_bucket_virtual_host() -> None:
    request = build_create_bucket(AWS, "my-bucket", region="eu-west-1")
    assert request.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/"
    assert b"<LocationConstraint>eu-west-1</LocationConstraint>" in request.body


def test_delete_and_head_bucket() -> None:
    assert build_delete_bucket(LOCAL, "bucket") == HttpRequest("DELETE", f"{L}/bucket")
    assert build_head_bucket(LOCAL, "bucket") == HttpRequest("HEAD", f"{L}/bucket")
    assert build_head_bucket(AWS, "my-bucket") == HttpRequest(
        "HEAD", "https://my-bucket.s3.eu-west-1.amazonaws.com/"
    )


@pytest.mark.parametrize(
    ("bucket", "url"),
    [
        ("my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com/k"),
        # Dots break the wildcard TLS certificate: path-style over https.
        ("my.dotted.bucket", "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k"),
        ("MyBucket", "https://s3.eu-west-1.amazonaws.com/MyBucket/k"),
        ("under_score", "https://s3.eu-west-1.amazonaws.com/under_score/k"),
    ],
)
def test_aws_auto_addressing_for_objects(bucket: str, url: str) -> None:
    assert build_get_object(AWS, bucket, "k") == HttpRequest("GET", url)


# --- key encoding -------------------------------------------------------------------

KEYS = [
    ("my file.txt", "my%20file.txt"),
    ("a+b", "a%2Bb"),
    ("tilde~name", "tilde~name"),
    ("100%", "100%25"),
    ("already%20encoded", "already%2520encoded"),
    ("a#b", "a%23b"),
    ("what?x=1", "what%3Fx%3D1"),
    ("café/日本.txt", "caf%C3%A9/%E6%97%A5%E6%9C%AC.txt"),
    ("emoji😀", "emoji%F0%9F%98%80"),
    ("a//b", "a//b"),
    ("../x", "../x"),
    ("./y", "./y"),
    ("dir/", "dir/"),
    ("/leading", "/leading"),
    ("a&b=c;d,e:f@g$h", "a%26b%3Dc%3Bd%2Ce%3Af%40g%24h"),
    ("*'()!", "%2A%27%28%29%21"),
    ("safe-_.~AZaz09", "safe-_.~AZaz09"),
]


@pytest.mark.parametrize(("key", "encoded"), KEYS)
def test_object_keys_are_encoded_exactly_once(key: str, encoded: str) -> None:
    assert build_get_object(LOCAL, "bucket", key) == HttpRequest("GET", f"{L}/bucket/{encoded}")
    assert build_delete_object(LOCAL, "bucket", key) == HttpRequest(
        "DELETE", f"{L}/bucket/{encoded}"
    )
    assert build_get_object(AWS, "my-bucket", key).url == (
        f"https://my-bucket.s3.eu-west-1.amazonaws.com/{encoded}"
    )


# --- objects -------------------------------------------------------------------------


def test_put_object_plain() -> None:
    body = b"hello world"
    assert build_put_object(LOCAL, "bucket", "dir/my file.txt", body) == HttpRequest(
        "PUT", f"{L}/bucket/dir/my%20file.txt", {}, body, False
    )


def test_put_object_with_every_header() -> None:
    body = b"hello world"
    request = build_put_object(
        LOCAL,
        "bucket",
        "k+1",
        body,
        content_type="text/plain; charset=utf-8",
        metadata={"Owner": "alice", "project-id": "42"},
        checksum="crc32",
        content_md5=True,
        extra_headers={"Cache-Control": "max-age=60", "X-Amz-Storage-Class": "STANDARD_IA"},
    )
    assert request == HttpRequest(
        "PUT",
        f"{L}/bucket/k%2B1",
        {
            "content-type": "text/plain; charset=utf-8",
            "x-amz-meta-owner": "alice",
            "x-amz-meta-project-id": "42",
            "cache-control": "max-age=60",
            "x-amz-storage-class": "STANDARD_IA",
            "x-amz-checksum-crc32": "DUoRhQ==",
            "content-md5": "XrY7u+Ae7tCTyyK7j1rNww==",
        },
        body,
        False,
    )
    # The literals above are the well-known CRC32/MD5 of b"hello world".
    assert request.headers["x-amz-checksum-crc32"] == _expected_checksum("crc32", body)
    assert request.headers["content-md5"] == _md5_b64(body)


def test_put_object_virtual_host() -> None:
    assert build_put_object(AWS, "my-bucket", "photos/2024 jan.jpg", b"x") == HttpRequest(
        "PUT", "https://my-bucket.s3.eu-west-1.amazonaws.com/photos/2024%20jan.jpg", {}, b"x"
    )


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "sha1", "sha256"])
@pytest.mark.parametrize("body", [b"", b"hello world", bytes(range(256)) * 9])
def test_checksum_headers_match_independent_computation(algorithm: str, body: bytes) -> None:
    request = build_put_object(LOCAL, "bucket", "k", body, checksum=algorithm)  # type: ignore[arg-type]
    assert request.headers == {f"x-amz-checksum-{algorithm}": _expected_checksum(algorithm, body)}


def test_empty_body_content_md5_is_the_md5_of_nothing() -> None:
    request = build_put_object(LOCAL, "bucket", "k", b"", content_md5=True)
    assert request.headers == {"content-md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}


def test_unknown_checksum_algorithm_is_an_invalid_request() -> None:
    with pytest.raises(LocalProtocolError, match="md5"):
        build_put_object(LOCAL, "bucket", "k", b"x", checksum="md5")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("byte_range", "header"),
    [
        ((0, 99), "bytes=0-99"),
        ((0, 0), "bytes=0-0"),
        ((100, None), "bytes=100-"),
        ((-500, None), "bytes=-500"),
    ],
)
def test_get_object_range(byte_range: tuple[int, int | None], header: str) -> None:
    assert build_get_object(LOCAL, "bucket", "k", byte_range=byte_range) == HttpRequest(
        "GET", f"{L}/bucket/k", {"range": header}
    )


@pytest.mark.parametrize("byte_range", [(5, 3), (-5, 10), (-1, 0)])
def test_get_object_bad_range_is_refused(byte_range: tuple[int, int | None]) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(repr(byte_range))):
        build_get_object(LOCAL, "bucket", "k", byte_range=byte_range)


def test_get_object_if_match_and_range() -> None:
    request = build_get_object(LOCAL, "bucket", "k", byte_range=(10, 19), if_match='"abc"')
    assert request == HttpRequest(
        "GET", f"{L}/bucket/k", {"range": "bytes=10-19", "if-match": '"abc"'}
    )


def test_head_object() -> None:
    assert build_head_object(LOCAL, "bucket", "a b") == HttpRequest("HEAD", f"{L}/bucket/a%20b")
    assert build_head_object(AWS, "my-bucket", "k") == HttpRequest(
        "HEAD", "https://my-bucket.s3.eu-west-1.amazonaws.com/k"
    )


# --- metadata ------------------------------------------------------------------------


def test_object_headers() -> None:
    assert object_headers() == {}
    assert object_headers(
        content_type="image/png", metadata={"Camera": "X100"}, extra={"Content-Encoding": "gzip"}
    ) == {"content-type": "image/png", "x-amz-meta-camera": "X100", "content-encoding": "gzip"}


@pytest.mark.parametrize(
    ("metadata", "bad"),
    [
        ({"city": "Zürich"}, "Zürich"),
        ({"näme": "x"}, "näme"),
        ({"note": "line\nbreak"}, "line\\nbreak"),
        ({"emoji": "😀"}, "😀"),
    ],
)
def test_non_ascii_metadata_is_refused_naming_the_value(metadata: dict[str, str], bad: str) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(bad)):
        build_put_object(LOCAL, "bucket", "k", b"", metadata=metadata)
    with pytest.raises(LocalProtocolError, match=re.escape(bad)):
        build_create_multipart_upload(LOCAL, "bucket", "k", metadata=metadata)
    with pytest.raises(LocalProtocolError, match=re.escape(bad)):
        build_copy_object(LOCAL, "src", "a", "bucket", "k", metadata=metadata)


def test_non_string_metadata_value_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="42"):
        build_put_object(LOCAL, "bucket", "k", b"", metadata={"n": 42})  # type: ignore[dict-item]


# --- copy ------------------------------------------------------------------------


def test_copy_object_keeps_source_metadata_by_default() -> None:
    request = build_copy_object(LOCAL, "src-bucket", "dir/my file+1%.txt", "bucket", "dst key")
    assert request == HttpRequest(
        "PUT",
        f"{L}/bucket/dst%20key",
        {"x-amz-copy-source": "/src-bucket/dir/my%20file%2B1%25.txt"},
        b"",
        True,
    )


def test_copy_object_with_new_metadata_replaces_it() -> None:
    request = build_copy_object(
        LOCAL, "src", "café", "bucket", "k", content_type="text/csv", metadata={"Rev": "2"}
    )
    assert request == HttpRequest(
        "PUT",
        f"{L}/bucket/k",
        {
            "content-type": "text/csv",
            "x-amz-meta-rev": "2",
            "x-amz-copy-source": "/src/caf%C3%A9",
            "x-amz-metadata-directive": "REPLACE",
        },
        b"",
        True,
    )


def test_copy_object_content_type_alone_replaces() -> None:
    request = build_copy_object(LOCAL, "src", "a", "bucket", "k", content_type="text/plain")
    assert request.headers == {
        "content-type": "text/plain",
        "x-amz-copy-source": "/src/a",
        "x-amz-metadata-directive": "REPLACE",
    }


def test_copy_object_virtual_host_and_source_with_special_keys() -> None:
    request = build_copy_object(AWS, "my.src", "a//b/../c?#", "my-bucket", "k")
    assert request == HttpRequest(
        "PUT",
        "https://my-bucket.s3.eu-west-1.amazonaws.com/k",
        {"x-amz-copy-source": "/my.src/a//b/../c%3F%23"},
        b"",
        True,
    )


def test_copy_object_validates_the_source() -> None:
    with pytest.raises(LocalProtocolError):
        build_copy_object(LOCAL, "src", "", "bucket", "k")
    with pytest.raises(LocalProtocolError, match="'bad bucket'"):
        build_copy_object(LOCAL, "bad bucket", "a", "bucket", "k")


# --- listing ---------------------------------------------------------------------------


def test_list_objects_v2_minimal() -> None:
    """Keys come URL-encoded, always: XML 1.0 cannot carry every character of a key."""
    assert build_list_objects_v2(LOCAL, "bucket") == HttpRequest(
        "GET", f"{L}/bucket?list-type=2&encoding-type=url"
    )
    assert build_list_objects_v2(AWS, "my-bucket") == HttpRequest(
        "GET", "https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2&encoding-type=url"
    )


def test_list_objects_v2_every_parameter_is_encoded() -> None:
    request = build_list_objects_v2(
        LOCAL,
        "bucket",
        prefix="photos/2024 jan/",
        delimiter="/",
        max_keys=1000,
        continuation_token="1/abC==+x",
        start_after="photos/a~b",
    )
    assert request == HttpRequest(
        "GET",
        f"{L}/bucket?list-type=2&prefix=photos%2F2024%20jan%2F&delimiter=%2F&max-keys=1000"
        "&continuation-token=1%2FabC%3D%3D%2Bx&start-after=photos%2Fa~b&encoding-type=url",
    )


def test_list_objects_v2_empty_prefix_is_sent() -> None:
    assert build_list_objects_v2(LOCAL, "bucket", prefix="").url == (
        f"{L}/bucket?list-type=2&prefix=&encoding-type=url"
    )


def test_list_multipart_uploads() -> None:
    assert build_list_multipart_uploads(LOCAL, "bucket") == HttpRequest(
        "GET", f"{L}/bucket?uploads"
    )
    request = build_list_multipart_uploads(
        LOCAL,
        "bucket",
        prefix="logs/",
        key_marker="k m",
        upload_id_marker="id+1/2=",
        max_uploads=50,
    )
    assert request == HttpRequest(
        "GET",
        f"{L}/bucket?uploads&prefix=logs%2F&key-marker=k%20m&upload-id-marker=id%2B1%2F2%3D"
        "&max-uploads=50",
    )
    assert build_list_multipart_uploads(AWS, "my-bucket").url == (
        "https://my-bucket.s3.eu-west-1.amazonaws.com/?uploads"
    )


def test_list_parts() -> None:
    assert build_list_parts(LOCAL, "bucket", "k", "up/1+") == HttpRequest(
        "GET", f"{L}/bucket/k?uploadId=up%2F1%2B"
    )
    request = build_list_parts(LOCAL, "bucket", "a b", "u", part_number_marker=3, max_parts=100)
    assert request == HttpRequest(
        "GET", f"{L}/bucket/a%20b?uploadId=u&part-number-marker=3&max-parts=100"
    )


# --- delete objects --------------------------------------------------------------------


def test_delete_objects_body_and_md5() -> None:
    request = build_delete_objects(LOCAL, "bucket", ["a.txt", "dir/b&c<d>e.txt", "ünï"])
    body = (
        f"{XML_HEAD}<Delete{NS}><Quiet>false</Quiet>"
        "<Object><Key>a.txt</Key></Object>"
        "<Object><Key>dir/b&amp;c&lt;d&gt;e.txt</Key></Object>"
        "<Object><Key>ünï</Key></Object>"
        "</Delete>"
    ).encode()
    assert request == HttpRequest(
        "POST",
        f"{L}/bucket?delete=",
        {"content-type": "application/xml", "content-md5": _md5_b64(body)},
        body,
        False,
    )


def test_delete_objects_quiet_virtual_host() -> None:
    request = build_delete_objects(AWS, "my-bucket", ["k"], quiet=True)
    body = f"{XML_HEAD}<Delete{NS}><Quiet>true</Quiet><Object><Key>k</Key></Object></Delete>"
    assert request == HttpRequest(
        "POST",
        "https://my-bucket.s3.eu-west-1.amazonaws.com/?delete=",
        {"content-type": "application/xml", "content-md5": _md5_b64(body.encode())},
        body.encode(),
    )


def test_delete_objects_key_limits() -> None:
    assert len(parse_xml(build_delete_objects(LOCAL, "b", ["k"] * 1000).body).children()) == 1001
    with pytest.raises(LocalProtocolError, match="got 1001"):
        build_delete_objects(LOCAL, "bucket", [f"k{i}" for i in range(1001)])
    with pytest.raises(LocalProtocolError, match="got 0"):
        build_delete_objects(LOCAL, "bucket", [])
    with pytest.raises(LocalProtocolError, match="key must be a non-empty string"):
        build_delete_objects(LOCAL, "bucket", ["ok", ""])
    with pytest.raises(LocalProtocolError, match="invalid bucket name"):
        build_delete_objects(LOCAL, "a/b", ["ok"])


def test_delete_objects_refuses_a_bare_string() -> None:
    with pytest.raises(LocalProtocolError):
        build_delete_objects(LOCAL, "bucket", "logs")


def test_delete_objects_key_with_carriage_return_survives_xml() -> None:
    request = build_delete_objects(LOCAL, "bucket", ["a\rb"])
    objects = parse_xml(request.body).children("Object")
    assert [o.find_text("Key") for o in objects] == ["a\rb"]


def test_delete_objects_key_with_control_character_is_refused() -> None:
    """S3 answers MalformedXML to ``&#x1;`` in a request document: refused here first."""
    with pytest.raises(LocalProtocolError, match="XML cannot carry"):
        build_delete_objects(LOCAL, "bucket", ["a\x01b"])


# --- multipart -------------------------------------------------------------------------


def test_create_multipart_upload() -> None:
    assert build_create_multipart_upload(LOCAL, "bucket", "big file.bin") == HttpRequest(
        "POST", f"{L}/bucket/big%20file.bin?uploads"
    )
    request = build_create_multipart_upload(
        AWS,
        "my-bucket",
        "k",
        content_type="application/octet-stream",
        metadata={"Origin": "test"},
        checksum="crc32c",
    )
    assert request == HttpRequest(
        "POST",
        "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploads",
        {
            "content-type": "application/octet-stream",
            "x-amz-meta-origin": "test",
            "x-amz-checksum-algorithm": "CRC32C",
        },
    )


def test_upload_part() -> None:
    body = b"part one data" * 100
    request = build_upload_part(
        LOCAL, "bucket", "a+b", "2~xyz/def+=", 7, body, checksum="crc32c", content_md5=True
    )
    assert request == HttpRequest(
        "PUT",
        f"{L}/bucket/a%2Bb?partNumber=7&uploadId=2~xyz%2Fdef%2B%3D",
        {
            "x-amz-checksum-crc32c": _expected_checksum("crc32c", body),
            "content-md5": _md5_b64(body),
        },
        body,
        False,
    )


def test_upload_part_plain() -> None:
    assert build_upload_part(LOCAL, "bucket", "k", "u", 10000, b"x") == HttpRequest(
        "PUT", f"{L}/bucket/k?partNumber=10000&uploadId=u", {}, b"x"
    )


def test_upload_part_copy() -> None:
    request = build_upload_part_copy(
        LOCAL, "bucket", "k", "u", 2, "src", "dir/a b", byte_range=(0, 5 * 1024 * 1024 - 1)
    )
    assert request == HttpRequest(
        "PUT",
        f"{L}/bucket/k?partNumber=2&uploadId=u",
        {"x-amz-copy-source": "/src/dir/a%20b", "x-amz-copy-source-range": "bytes=0-5242879"},
        b"",
        True,
    )
    assert build_upload_part_copy(LOCAL, "bucket", "k", "u", 1, "src", "s") == HttpRequest(
        "PUT", f"{L}/bucket/k?partNumber=1&uploadId=u", {"x-amz-copy-source": "/src/s"}, b"", True
    )


def test_upload_part_copy_bad_range() -> None:
    with pytest.raises(LocalProtocolError, match=re.escape("(9, 3)")):
        build_upload_part_copy(LOCAL, "bucket", "k", "u", 1, "src", "s", byte_range=(9, 3))


def test_complete_multipart_upload_body() -> None:
    request = build_complete_multipart_upload(
        LOCAL, "bucket", "k", "up+id", [(1, '"etag1"'), (2, '"etag2"')]
    )
    body = (
        f"{XML_HEAD}<CompleteMultipartUpload{NS}>"
        '<Part><PartNumber>1</PartNumber><ETag>"etag1"</ETag></Part>'
        '<Part><PartNumber>2</PartNumber><ETag>"etag2"</ETag></Part>'
        "</CompleteMultipartUpload>"
    ).encode()
    assert request == HttpRequest(
        "POST", f"{L}/bucket/k?uploadId=up%2Bid", {"content-type": "application/xml"}, body, True
    )


def test_complete_multipart_upload_with_part_checksums() -> None:
    request = build_complete_multipart_upload(
        AWS,
        "my-bucket",
        "k",
        "u",
        [(1, '"e1"'), (2, '"e2"'), (3, '"e3"')],
        checksums={
            1: ("crc32c", "yZRlqg=="),
            2: ("x-amz-checksum-sha256", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
        },
    )
    body = (
        f"{XML_HEAD}<CompleteMultipartUpload{NS}>"
        '<Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><ChecksumCRC32C>yZRlqg==</ChecksumCRC32C></Part>'
        '<Part><PartNumber>2</PartNumber><ETag>"e2"</ETag>'
        "<ChecksumSHA256>n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=</ChecksumSHA256></Part>"
        '<Part><PartNumber>3</PartNumber><ETag>"e3"</ETag></Part>'
        "</CompleteMultipartUpload>"
    ).encode()
    assert request == HttpRequest(
        "POST",
        "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u",
        {"content-type": "application/xml"},
        body,
        True,
    )


@pytest.mark.parametrize("parts", [[], [(0, '"e"')], [(10001, '"e"')]])
def test_complete_multipart_upload_validates_parts(parts: list[tuple[int, str]]) -> None:
    with pytest.raises(LocalProtocolError):
        build_complete_multipart_upload(LOCAL, "bucket", "k", "u", parts)


def test_abort_multipart_upload() -> None:
    assert build_abort_multipart_upload(LOCAL, "bucket", "dir/k", "a/b=c") == HttpRequest(
        "DELETE", f"{L}/bucket/dir/k?uploadId=a%2Fb%3Dc"
    )
    assert build_abort_multipart_upload(AWS, "my-bucket", "k", "u") == HttpRequest(
        "DELETE", "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u"
    )


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 10001, -1, True, False, "1", 1.0, None])
def test_bad_part_numbers_are_refused(bad: object) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(f"got {bad!r}")):
        build_upload_part(LOCAL, "bucket", "k", "u", bad, b"")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=re.escape(f"got {bad!r}")):
        build_upload_part_copy(LOCAL, "bucket", "k", "u", bad, "s", "k")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", None, 5])
def test_bad_upload_ids_are_refused(bad: object) -> None:
    pattern = re.escape(f"upload_id must be a non-empty string, got {bad!r}")
    with pytest.raises(LocalProtocolError, match=pattern):
        build_upload_part(LOCAL, "bucket", "k", bad, 1, b"")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=pattern):
        build_list_parts(LOCAL, "bucket", "k", bad)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=pattern):
        build_complete_multipart_upload(LOCAL, "bucket", "k", bad, [(1, "e")])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=pattern):
        build_abort_multipart_upload(LOCAL, "bucket", "k", bad)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=pattern):
        build_upload_part_copy(LOCAL, "bucket", "k", bad, 1, "s", "k")  # type: ignore[arg-type]


def test_empty_key_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="key must be a non-empty string, got ''"):
        build_get_object(LOCAL, "bucket", "")
    with pytest.raises(LocalProtocolError, match="got None"):
        build_put_object(LOCAL, "bucket", None, b"")  # type: ignore[arg-type]


def test_key_length_is_counted_in_utf8_bytes() -> None:
    assert build_get_object(LOCAL, "b", "a" * 1024).url == f"{L}/b/{'a' * 1024}"
    assert build_get_object(LOCAL, "b", "é" * 512).url == f"{L}/b/{'%C3%A9' * 512}"
    with pytest.raises(LocalProtocolError, match="key is 1025 bytes long"):
        build_get_object(LOCAL, "b", "a" * 1025)
    with pytest.raises(LocalProtocolError, match="key is 1026 bytes long"):
        build_put_object(LOCAL, "b", "é" * 513, b"")


def test_bad_key_error_carries_the_bucket() -> None:
    with pytest.raises(LocalProtocolError) as caught:
        build_head_object(LOCAL, "my-bucket", "")
    assert caught.value.bucket == "my-bucket"


def test_key_with_lone_surrogate_is_an_invalid_request() -> None:
    with pytest.raises(LocalProtocolError):
        build_get_object(LOCAL, "bucket", "a\ud800b")


@pytest.mark.parametrize(
    "bucket", ["", "a/b", "a b", "tab\tname", "new\nline", "x" * 256, None, 123]
)
def test_invalid_bucket_names_are_refused(bucket: object) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(repr(bucket))):
        build_head_bucket(LOCAL, bucket)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=re.escape(repr(bucket))):
        build_get_object(LOCAL, bucket, "k")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=re.escape(repr(bucket))):
        build_list_objects_v2(LOCAL, bucket)  # type: ignore[arg-type]


@pytest.mark.parametrize("bucket", ["evil.example?", "evil.example#"])
def test_virtual_addressing_never_changes_the_host(bucket: str) -> None:
    endpoint = Endpoint("https://s3.eu-west-1.amazonaws.com", addressing="virtual")
    try:
        request = build_get_object(endpoint, bucket, "k")
    except LocalProtocolError:
        return
    assert urlsplit(request.url).hostname == "s3.eu-west-1.amazonaws.com"
