"""Listings and buckets on the embedded server as S3 answers them: ListObjectVersions
on an unversioned bucket (and the cleanup idiom test suites use), bucket versioning,
ListBuckets paging, CreateBucket's location rules, owners in object listings and
``encoding-type=url``. boto3 drives what it can; raw HTTP checks what boto3 decodes
away (encoded names, element presence)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError
from rawhttp import Reply, signed
from s3errors import error_of
from servers import ServerInfo, boto3_client

from s3_asyncio_client.protocol.documents import XmlNode, parse_xml
from s3_asyncio_client.server import LocalS3Server

ODD = "dir one/a+b~c*d%é"  # a space, "+", "~", "*", "%" and a non-ASCII letter
ODD_ENCODED = "dir%20one/a%2Bb%7Ec*d%25%C3%A9"  # space "%20"; "*" and "/" kept


def fill(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def document(reply: Reply) -> XmlNode:
    assert reply.status == 200, reply.body
    return parse_xml(reply.body)


def texts(node: XmlNode, parent: str, child: str) -> list[str]:
    return [entry.find_text(child) or "" for entry in node.children(parent)]


# ListObjectVersions


def test_versions_list_every_object_once_as_version_null(
    s3: Any, bucket: str, local: ServerInfo
) -> None:
    fill(s3, bucket, ["a", "b/c", "b/d", "e"])
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in listed["Versions"]] == ["a", "b/c", "b/d", "e"]
    for version, key in zip(listed["Versions"], ["a", "b/c", "b/d", "e"], strict=True):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert version["VersionId"] == "null"
        assert version["IsLatest"] is True
        assert version["ETag"] == head["ETag"]
        assert version["Size"] == len(key)
        assert version["StorageClass"] == "STANDARD"
        assert version["Owner"] == {"ID": local.access_key, "DisplayName": local.access_key}
        assert version["ChecksumAlgorithm"] == ["CRC32"]  # what boto3 sent
    assert "DeleteMarkers" not in listed
    assert listed["IsTruncated"] is False
    assert (listed["Name"], listed["MaxKeys"], listed["KeyMarker"]) == (bucket, 1000, "")


def test_versions_page_with_prefix_delimiter_and_markers(s3: Any, bucket: str) -> None:
    fill(s3, bucket, ["a", "b/c", "b/d", "c", "d", "e/f"])
    pages = list(
        s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    keys = [v["Key"] for page in pages for v in page.get("Versions", [])]
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    assert keys == ["a", "c", "d"]
    assert prefixes == ["b/", "e/"]
    assert [page["IsTruncated"] for page in pages] == [True, True, False]
    # A page ending on a key names its version; one ending on a prefix does not.
    assert (pages[0]["NextKeyMarker"], "NextVersionIdMarker" in pages[0]) == ("b/", False)
    assert (pages[1]["NextKeyMarker"], pages[1]["NextVersionIdMarker"]) == ("d", "null")
    under = s3.list_object_versions(Bucket=bucket, Prefix="b/", MaxKeys=1)
    assert [v["Key"] for v in under["Versions"]] == ["b/c"]
    assert (under["NextKeyMarker"], under["NextVersionIdMarker"]) == ("b/c", "null")
    after = s3.list_object_versions(
        Bucket=bucket, Prefix="b/", KeyMarker="b/c", VersionIdMarker="null"
    )
    assert [v["Key"] for v in after["Versions"]] == ["b/d"]
    assert after["VersionIdMarker"] == "null"


def test_test_suite_cleanup_idiom_deletes_everything(s3: Any, bucket: str) -> None:
    fill(s3, bucket, [f"k{i:02d}" for i in range(7)])
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}):
        entries = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if entries:
            deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": entries})
            assert "Errors" not in deleted
            assert [d["VersionId"] for d in deleted["Deleted"]] == ["null"] * len(entries)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)


def test_delete_objects_with_another_version_id_keeps_the_object(s3: Any, bucket: str) -> None:
    fill(s3, bucket, ["kept", "gone"])
    result = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "kept", "VersionId": "3HL4kqtJlcpXroDTDmJ"}, {"Key": "gone"}]},
    )
    assert result["Errors"] == [
        {
            "Key": "kept",
            "VersionId": "3HL4kqtJlcpXroDTDmJ",
            "Code": "NoSuchVersion",
            "Message": "The specified version does not exist.",
        }
    ]
    assert result["Deleted"] == [{"Key": "gone"}]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["kept"]


def test_resource_idiom_deletes_every_version(s3: Any, bucket: str) -> None:
    """``bucket.object_versions.delete()``: boto3's resource form of the same cleanup."""
    fill(s3, bucket, ["x", "y/z"])
    resource = boto3.resource("s3", region_name="us-east-1")
    resource.meta.client = s3  # the test's client: its endpoint, keys and settings
    replies = resource.Bucket(bucket).object_versions.delete()
    deleted = [(d["Key"], d["VersionId"]) for reply in replies for d in reply["Deleted"]]
    assert deleted == [("x", "null"), ("y/z", "null")]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_object_requests_name_only_version_null(s3: Any, bucket: str) -> None:
    fill(s3, bucket, ["k"])
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"k"
    assert s3.head_object(Bucket=bucket, Key="k", VersionId="null")["ContentLength"] == 1
    for call in (s3.get_object, s3.delete_object):
        with pytest.raises(ClientError) as caught:
            call(Bucket=bucket, Key="k", VersionId="3HL4kqtJlcpXroDTDmJ")
        assert error_of(caught) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="k", VersionId="3HL4kqtJlcpXroDTDmJ")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"  # nothing deleted
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize(
    "query",
    ["versions&version-id-marker=null", "versions&key-marker=a&version-id-marker=v1"],
    ids=["without-key-marker", "unknown-version"],
)
def test_version_id_marker_errors(local: ServerInfo, bucket: str, query: str) -> None:
    reply = signed(local, "GET", f"/{bucket}?{query}")
    assert (reply.status, reply.code) == (400, "InvalidArgument")
    assert b"<ArgumentName>version-id-marker</ArgumentName>" in reply.body


def test_versions_of_a_missing_bucket(s3: Any, bucket_name: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.list_object_versions(Bucket=bucket_name)
    assert error_of(caught) == ("NoSuchBucket", 404)


# Bucket versioning


def test_versioning_is_never_enabled(s3: Any, bucket: str, local: ServerInfo) -> None:
    reply = signed(local, "GET", f"/{bucket}?versioning")
    assert document(reply).tag == "VersioningConfiguration"
    assert b"<Status>" not in reply.body
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert error_of(caught) == ("NotImplemented", 501)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    bad = signed(local, "PUT", f"/{bucket}?versioning", body=b"<VersioningConfiguration><Status>On")
    assert (bad.status, bad.code) == (400, "MalformedXML")
    wrong = b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"
    reply = signed(local, "PUT", f"/{bucket}?versioning", body=wrong)
    assert (reply.status, reply.code) == (400, "MalformedXML")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


# ListBuckets


def test_list_buckets_pages_by_prefix_and_token(s3: Any, local: ServerInfo) -> None:
    stem = f"p{uuid.uuid4().hex[:8]}-"
    names = [f"{stem}{i}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(Prefix=stem, MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == names[:2]
    assert first["Prefix"] == stem
    assert first["ContinuationToken"]
    assert {b["BucketRegion"] for b in first["Buckets"]} == {"us-east-1"}
    pages = list(
        s3.get_paginator("list_buckets").paginate(Prefix=stem, PaginationConfig={"PageSize": 2})
    )
    assert [b["Name"] for page in pages for b in page["Buckets"]] == names
    assert ["ContinuationToken" in page for page in pages] == [True, True, False]
    assert [b["Name"] for b in s3.list_buckets(Prefix=stem)["Buckets"]] == names
    everything = signed(local, "GET", "/")
    assert b"<ContinuationToken>" not in everything.body
    assert b"<Prefix>" not in everything.body
    listed = document(everything).child("Buckets")
    assert listed is not None
    assert set(names) <= set(texts(listed, "Bucket", "Name"))
    elsewhere = s3.list_buckets(Prefix=stem, BucketRegion="eu-west-1")
    assert elsewhere["Buckets"] == []


@pytest.mark.parametrize(
    "query", ["max-buckets=0", "max-buckets=10001", "max-buckets=x", "continuation-token=%25%25"]
)
def test_list_buckets_refuses_bad_paging(local: ServerInfo, query: str) -> None:
    reply = signed(local, "GET", f"/?{query}")
    assert (reply.status, reply.code) == (400, "InvalidArgument")


# CreateBucket and GetBucketLocation


def region_server(root: Path, region: str, *, strict: bool = False) -> LocalS3Server:
    return LocalS3Server(root, region=region, strict=strict, durable=False)


def client_of(server: LocalS3Server) -> Any:
    info = ServerInfo(
        name="region",
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
        checks_signatures=True,
        min_part_size=0,
    )
    return boto3_client(info)


def test_create_bucket_in_us_east_1(s3: Any, local: ServerInfo, bucket_name: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(
            Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    assert error_of(caught) == ("IllegalLocationConstraintException", 400)
    assert caught.value.response["Error"]["Message"] == (
        "The eu-west-1 location constraint is incompatible for the region specific "
        "endpoint this request was sent to."
    )
    malformed = signed(local, "PUT", f"/{bucket_name}", body=b"<CreateBucketConfiguration>")
    assert (malformed.status, malformed.code) == (400, "MalformedXML")
    other_root = signed(local, "PUT", f"/{bucket_name}", body=b"<Other/>")
    assert (other_root.status, other_root.code) == (400, "MalformedXML")
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    configuration = b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>"
    assert signed(local, "PUT", f"/{bucket_name}", body=configuration).status == 200
    again = s3.create_bucket(Bucket=bucket_name)  # S3's legacy answer in us-east-1
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.create_bucket(
        Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
    )  # AWS refuses an explicit us-east-1; accepted unless strict
    reply = signed(local, "GET", f"/{bucket_name}?location")
    assert document(reply).tag == "LocationConstraint"
    assert document(reply).text == ""
    assert s3.get_bucket_location(Bucket=bucket_name)["LocationConstraint"] is None


def test_create_bucket_in_another_region(tmp_path: Path) -> None:
    with region_server(tmp_path, "eu-west-1") as server:
        client = client_of(server)
        try:
            client.create_bucket(
                Bucket="mine", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
            location = client.get_bucket_location(Bucket="mine")
            assert location["LocationConstraint"] == "eu-west-1"
            with pytest.raises(ClientError) as caught:
                client.create_bucket(
                    Bucket="mine", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
                )
            assert error_of(caught) == ("BucketAlreadyOwnedByYou", 409)
            with pytest.raises(ClientError) as caught:
                client.create_bucket(
                    Bucket="other", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
                )
            assert error_of(caught) == ("IllegalLocationConstraintException", 400)
            client.create_bucket(Bucket="unspecified")  # AWS refuses; accepted unless strict
            assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["mine", "unspecified"]
        finally:
            client.close()


def test_strict_refuses_what_aws_refuses(tmp_path: Path) -> None:
    with region_server(tmp_path / "eu", "eu-west-1", strict=True) as server:
        client = client_of(server)
        try:
            with pytest.raises(ClientError) as caught:
                client.create_bucket(Bucket="unspecified")
            assert error_of(caught) == ("IllegalLocationConstraintException", 400)
            assert caught.value.response["Error"]["Message"].startswith(
                "The unspecified location constraint is incompatible"
            )
            assert client.list_buckets()["Buckets"] == []
        finally:
            client.close()
    with region_server(tmp_path / "us", "us-east-1", strict=True) as server:
        client = client_of(server)
        try:
            with pytest.raises(ClientError) as caught:
                client.create_bucket(
                    Bucket="explicit", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
                )
            assert error_of(caught) == ("InvalidLocationConstraint", 400)
            assert client.list_buckets()["Buckets"] == []
        finally:
            client.close()


# Owners and encoding-type in object listings


def test_owner_in_listings(s3: Any, bucket: str, local: ServerInfo) -> None:
    fill(s3, bucket, ["k"])
    owner = {"ID": local.access_key, "DisplayName": local.access_key}
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    fetched = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]
    assert fetched["Owner"] == owner
    assert s3.list_objects(Bucket=bucket)["Contents"][0]["Owner"] == owner
    plain = signed(local, "GET", f"/{bucket}?list-type=2&fetch-owner=false")
    assert b"<Owner>" not in plain.body


@pytest.fixture
def odd_bucket(s3: Any, bucket: str) -> str:
    fill(s3, bucket, [ODD, "dir one/z", "zz"])
    return bucket


def encoded_listing(local: ServerInfo, bucket: str, query: str) -> XmlNode:
    root = document(signed(local, "GET", f"/{bucket}?{query}&encoding-type=url"))
    assert root.find_text("EncodingType") == "url"
    return root


def test_v1_and_v2_encode_names_as_s3_does(local: ServerInfo, odd_bucket: str) -> None:
    prefix = quote("dir one/")
    v2 = encoded_listing(
        local, odd_bucket, f"list-type=2&prefix={prefix}&start-after={quote('dir one/a')}"
    )
    assert (v2.find_text("Prefix"), v2.find_text("StartAfter")) == ("dir%20one/", "dir%20one/a")
    assert texts(v2, "Contents", "Key") == [ODD_ENCODED, "dir%20one/z"]
    v1 = encoded_listing(local, odd_bucket, f"prefix={prefix}&marker={quote(ODD)}")
    assert v1.find_text("Marker") == ODD_ENCODED
    assert texts(v1, "Contents", "Key") == ["dir%20one/z"]
    paged = encoded_listing(local, odd_bucket, "max-keys=1")
    assert paged.find_text("NextMarker") == ODD_ENCODED
    folded = encoded_listing(local, odd_bucket, "delimiter=%20&max-keys=1")
    assert folded.find_text("Delimiter") == "%20"
    assert texts(folded, "CommonPrefixes", "Prefix") == ["dir%20"]
    assert folded.find_text("NextMarker") == "dir%20"


def test_versions_encode_names_as_s3_does(local: ServerInfo, odd_bucket: str) -> None:
    root = encoded_listing(local, odd_bucket, f"versions&key-marker={quote('dir one/a')}")
    assert root.find_text("KeyMarker") == "dir%20one/a"
    assert texts(root, "Version", "Key") == [ODD_ENCODED, "dir%20one/z", "zz"]
    paged = encoded_listing(local, odd_bucket, "versions&prefix=dir%20&max-keys=1")
    assert paged.find_text("Prefix") == "dir%20"
    assert (paged.find_text("NextKeyMarker"), paged.find_text("NextVersionIdMarker")) == (
        ODD_ENCODED,
        "null",
    )
    folded = encoded_listing(local, odd_bucket, "versions&delimiter=%2B")
    assert folded.find_text("Delimiter") == "%2B"
    assert texts(folded, "CommonPrefixes", "Prefix") == ["dir%20one/a%2B"]
    assert texts(folded, "Version", "Key") == ["dir%20one/z", "zz"]
    resumed = encoded_listing(
        local, odd_bucket, f"versions&key-marker={quote(ODD)}&version-id-marker=null"
    )
    assert resumed.find_text("VersionIdMarker") == "null"
    assert texts(resumed, "Version", "Key") == ["dir%20one/z", "zz"]


def test_uploads_encode_names_as_s3_does(s3: Any, local: ServerInfo, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=ODD)["UploadId"]
    try:
        root = encoded_listing(local, bucket, f"uploads&prefix={quote('dir one/')}")
        assert root.find_text("Prefix") == "dir%20one/"
        assert texts(root, "Upload", "Key") == [ODD_ENCODED]
        folded = encoded_listing(local, bucket, "uploads&delimiter=~")
        assert folded.find_text("Delimiter") == "%7E"
        assert texts(folded, "CommonPrefixes", "Prefix") == ["dir%20one/a%2Bb%7E"]
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key=ODD, UploadId=upload)
