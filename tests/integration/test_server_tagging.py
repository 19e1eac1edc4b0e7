"""Object and bucket tagging on the embedded server as S3 answers it: Put/Get/Delete
ObjectTagging, ``x-amz-tagging`` on PutObject, CopyObject (with its directive) and
CreateMultipartUpload, ``x-amz-tagging-count`` on GET/HEAD, and S3's limits with S3's
error codes; bucket tagging with NoSuchTagSet."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from rawhttp import signed
from s3errors import error_of
from servers import ServerInfo


def tag_set(pairs: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    found = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in found}


def count_of(s3: Any, bucket: str, key: str) -> str | None:
    head = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    got = s3.get_object(Bucket=bucket, Key=key)
    got["Body"].read()
    assert got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count") == head.get(
        "x-amz-tagging-count"
    )
    return head.get("x-amz-tagging-count")


def test_object_tagging_round_trip(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert tags_of(s3, bucket, "k") == {}
    assert count_of(s3, bucket, "k") is None
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"b": "2", "a": "1 é"}))
    listed = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert listed == [{"Key": "a", "Value": "1 é"}, {"Key": "b", "Value": "2"}]  # key order
    assert count_of(s3, bucket, "k") == "2"
    assert tags_of(s3, bucket, "k") == {"a": "1 é", "b": "2"}
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # data untouched
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId="null", Tagging=tag_set({"c": ""}))
    assert tags_of(s3, bucket, "k") == {"c": ""}
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "k") == {}
    assert count_of(s3, bucket, "k") is None


def test_tagging_of_missing_object_or_version(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object_tagging(Bucket=bucket, Key="absent", Tagging=tag_set({"a": "1"}))
    assert error_of(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_object_tagging(Bucket=bucket, Key="absent")
    assert error_of(caught) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.get_object_tagging(Bucket=bucket, Key="k", VersionId="3HL4kqtJlcpXroDTDmJ")
    assert error_of(caught) == ("InvalidArgument", 400)


def test_tagging_header_on_put(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="b=two+words&a=%C3%A9%3D&empty")
    assert tags_of(s3, bucket, "k") == {"a": "é=", "b": "two words", "empty": ""}
    assert count_of(s3, bucket, "k") == "3"
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")  # a new object: no tags
    assert tags_of(s3, bucket, "k") == {}


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("a=1&a=2", "InvalidArgument"),
        ("TagSet=[{Key=string,Value=string}]", "InvalidArgument"),
        ("a=%FF", "InvalidArgument"),
        ("&".join(f"k{n}=v" for n in range(11)), "BadRequest"),
        ("a*b=1", "InvalidTag"),
        ("aws%3Akey=1", "InvalidTag"),
        ("=value", "InvalidTag"),
        ("k" * 129 + "=v", "InvalidTag"),
        ("k=" + "v" * 257, "InvalidTag"),
    ],
)
def test_bad_tagging_header_stores_nothing(s3: Any, bucket: str, header: str, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging=header)
    assert error_of(caught) == (code, 400)
    with pytest.raises(ClientError) as caught:
        s3.create_multipart_upload(Bucket=bucket, Key="k", Tagging=header)
    assert error_of(caught) == (code, 400)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({f"k{n}": "v" for n in range(11)}, "BadRequest"),
        ({"k" * 129: "v"}, "InvalidTag"),
        ({"𠀀" * 65: "v"}, "InvalidTag"),  # a letter of two UTF-16 units: 130
        ({"k": "v" * 257}, "InvalidTag"),
        ({"k": "new\nline"}, "InvalidTag"),
        ({"k": "😀"}, "InvalidTag"),  # a symbol, not a letter
        ({"aws:k": "v"}, "InvalidTag"),
    ],
)
def test_put_object_tagging_limits(s3: Any, bucket: str, tags: dict[str, str], code: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="kept=1")
    with pytest.raises(ClientError) as caught:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert error_of(caught) == (code, 400)
    assert tags_of(s3, bucket, "k") == {"kept": "1"}


def test_limits_at_their_edge_are_accepted(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    widest = {f"{n}" + "k" * 127: "語" * 256 for n in range(10)}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(widest))
    assert tags_of(s3, bucket, "k") == widest
    wide = {"𠀀" * 64: "𠀀" * 128, "a-z_A.Z:0/9=+@ ü": "x"}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(wide))
    assert tags_of(s3, bucket, "k") == wide


def test_duplicate_and_malformed_tag_documents(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    twice = (
        b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        b"<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>"
    )
    reply = signed(local, "PUT", f"/{bucket}/k?tagging", body=twice)
    assert (reply.status, reply.code) == (400, "InvalidTag")
    no_value = b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>"
    reply = signed(local, "PUT", f"/{bucket}/k?tagging", body=no_value)
    assert (reply.status, reply.code) == (400, "MalformedXML")
    reply = signed(local, "PUT", f"/{bucket}/k?tagging", body=b"<Other/>")
    assert (reply.status, reply.code) == (400, "MalformedXML")
    assert tags_of(s3, bucket, "k") == {}


def test_copy_tagging_directive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    source = f"{bucket}/src"
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=source)
    assert tags_of(s3, bucket, "copied") == {"a": "1"}
    s3.copy_object(Bucket=bucket, Key="copied2", CopySource=source, TaggingDirective="COPY",
                   Tagging="ignored=1")  # fmt: skip
    assert tags_of(s3, bucket, "copied2") == {"a": "1"}
    s3.copy_object(
        Bucket=bucket, Key="replaced", CopySource=source, TaggingDirective="REPLACE", Tagging="b=2"
    )
    assert tags_of(s3, bucket, "replaced") == {"b": "2"}
    s3.copy_object(Bucket=bucket, Key="none", CopySource=source, TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "none") == {}
    assert count_of(s3, bucket, "none") is None
    s3.copy_object(Bucket=bucket, Key="meta", CopySource=source, MetadataDirective="REPLACE")
    assert tags_of(s3, bucket, "meta") == {"a": "1"}  # the metadata directive is another matter
    reply_error = None
    try:
        s3.copy_object(Bucket=bucket, Key="bad", CopySource=source, TaggingDirective="MOVE")
    except ClientError as exc:
        reply_error = (
            exc.response["Error"]["Code"],
            exc.response["ResponseMetadata"]["HTTPStatusCode"],
        )
    assert reply_error == ("InvalidArgument", 400)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "bad" not in keys


def test_multipart_object_gets_the_uploads_tags(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="a=1&b=2")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    assert tags_of(s3, bucket, "mp") == {"a": "1", "b": "2"}
    assert count_of(s3, bucket, "mp") == "2"


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(caught) == ("NoSuchTagSet", 404)
    many = {f"k{n}": f"v{n}" for n in range(50)}
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(many))
    found = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {tag["Key"]: tag["Value"] for tag in found} == many
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({**many, "one-more": "x"}))
    assert error_of(caught) == ("InvalidTag", 400)
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(caught) == ("NoSuchTagSet", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_tagging(Bucket=bucket + "-absent")
    assert error_of(caught) == ("NoSuchBucket", 404)
