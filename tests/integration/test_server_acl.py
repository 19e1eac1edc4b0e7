"""Canned ACLs on the embedded server as S3 keeps them: ``x-amz-acl`` on CreateBucket,
PutObject, CopyObject and CreateMultipartUpload, Get/Put Bucket and Object ACL (canned,
header grants, AccessControlPolicy documents), and what ``public-read`` opens to a
request with no credentials: reads of that object or bucket, nothing else."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError
from rawhttp import request, signed
from s3errors import error_of
from servers import ServerInfo, boto3_client

from s3_asyncio_client.protocol.documents import parse_xml

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
EC2 = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# What each canned ACL grants beside the owner's FULL_CONTROL: (grantee, permission).
GRANTS = {
    "private": set(),
    "public-read": {(ALL_USERS, "READ")},
    "public-read-write": {(ALL_USERS, "READ"), (ALL_USERS, "WRITE")},
    "authenticated-read": {(AUTHENTICATED, "READ")},
    "aws-exec-read": {(EC2, "READ")},
    "bucket-owner-read": set(),
    "bucket-owner-full-control": set(),
}


@pytest.fixture
def anonymous(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local, signature_version=UNSIGNED)
    yield client
    client.close()


def grants_of(acl: dict[str, Any], owner: str) -> set[tuple[str, str]]:
    """The grants beside the owner's FULL_CONTROL, which must be there."""
    found = set()
    for grant in acl["Grants"]:
        grantee = grant["Grantee"]
        if grantee.get("ID") == owner and grant["Permission"] == "FULL_CONTROL":
            assert grantee["Type"] == "CanonicalUser"
            continue
        found.add((grantee.get("URI") or grantee["ID"], grant["Permission"]))
    assert acl["Owner"] == {"ID": owner, "DisplayName": owner}
    assert {"Grantee": {"ID": owner, "DisplayName": owner, "Type": "CanonicalUser"},
            "Permission": "FULL_CONTROL"} in acl["Grants"]  # fmt: skip
    return found


@pytest.mark.parametrize("canned", sorted(GRANTS))
def test_object_canned_acl_kept(s3: Any, local: ServerInfo, bucket: str, canned: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL=canned)
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert grants_of(acl, local.access_key) == GRANTS[canned]


@pytest.mark.parametrize("canned", [*sorted(GRANTS), "log-delivery-write"])
def test_bucket_canned_acl_kept(s3: Any, local: ServerInfo, bucket_name: str, canned: str) -> None:
    s3.create_bucket(Bucket=bucket_name, ACL=canned)
    expected = {(LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")}
    if canned != "log-delivery-write":
        expected = GRANTS[canned]
    assert grants_of(s3.get_bucket_acl(Bucket=bucket_name), local.access_key) == expected
    s3.put_bucket_acl(Bucket=bucket_name, ACL="private")
    assert grants_of(s3.get_bucket_acl(Bucket=bucket_name), local.access_key) == set()


def test_default_acl_is_private_and_owned_by_the_writer(local: ServerInfo, bucket: str) -> None:
    other = boto3_client(local, access_key="your-access-key", secret_key="your-secret-key")
    try:
        other.put_object(Bucket=bucket, Key="theirs", Body=b"x")
        acl = boto3_client(local)
        try:
            assert (
                grants_of(acl.get_object_acl(Bucket=bucket, Key="theirs"), "your-access-key")
                == set()
            )
            assert grants_of(acl.get_bucket_acl(Bucket=bucket), local.access_key) == set()
        finally:
            acl.close()
    finally:
        other.close()


def test_acl_document_as_s3_writes_it(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    reply = signed(local, "GET", f"/{bucket}/k?acl")
    assert reply.status == 200
    assert (
        b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
        b"<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>" in reply.body
    )
    document = parse_xml(reply.body)
    assert document.tag == "AccessControlPolicy"
    assert reply.body.count(f'xmlns:xsi="{XSI}" xsi:type="CanonicalUser"'.encode()) == 1


@pytest.mark.parametrize("value", ["public", "Private", "log-delivery-write", ""])
def test_bad_canned_acl_refused_and_nothing_stored(s3: Any, bucket: str, value: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    calls = [
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL=value),
        lambda: s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/src", ACL=value),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="k", ACL=value),
        lambda: s3.put_object_acl(Bucket=bucket, Key="src", ACL=value),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == ("InvalidArgument", 400)
        assert caught.value.response["Error"]["ArgumentName"] == "x-amz-acl"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="src"), s3_key(s3)) == set()


def s3_key(client: Any) -> str:
    return str(client._request_signer._credentials.access_key)


def test_bad_canned_acl_creates_no_bucket(s3: Any, bucket_name: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=bucket_name, ACL="public")
    assert error_of(caught) == ("InvalidArgument", 400)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket_name not in names


def test_copy_gets_the_requests_acl(s3: Any, local: ServerInfo, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", ACL="public-read")
    s3.copy_object(Bucket=bucket, Key="plain", CopySource=f"{bucket}/src")
    s3.copy_object(Bucket=bucket, Key="named", CopySource=f"{bucket}/src", ACL="authenticated-read")
    owner = local.access_key
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="plain"), owner) == set()
    assert (
        grants_of(s3.get_object_acl(Bucket=bucket, Key="named"), owner)
        == GRANTS["authenticated-read"]
    )


def test_multipart_object_gets_the_uploads_acl(s3: Any, local: ServerInfo, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ACL="public-read")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    acl = s3.get_object_acl(Bucket=bucket, Key="mp")
    assert grants_of(acl, local.access_key) == GRANTS["public-read"]


def test_put_acl_document_read_modify_write(s3: Any, local: ServerInfo, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    policy = s3.get_object_acl(Bucket=bucket, Key="k")
    policy.pop("ResponseMetadata")
    policy["Grants"].append({"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"})
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert grants_of(acl, local.access_key) == GRANTS["public-read"]
    bucket_policy = s3.get_bucket_acl(Bucket=bucket)
    bucket_policy.pop("ResponseMetadata")
    bucket_policy["Grants"] += [
        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "WRITE"},
        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "READ_ACP"},
    ]
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=bucket_policy)
    assert grants_of(s3.get_bucket_acl(Bucket=bucket), local.access_key) == {
        (LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP"),
    }  # fmt: skip


def test_acl_the_server_cannot_keep_is_refused(s3: Any, local: ServerInfo, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    owner = {"ID": local.access_key, "DisplayName": local.access_key}
    full = {
        "Grantee": {"Type": "CanonicalUser", "ID": local.access_key},
        "Permission": "FULL_CONTROL",
    }
    policies = [
        [full, {"Grantee": {"Type": "CanonicalUser", "ID": "someone-else"}, "Permission": "READ"}],
        [full, {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE_ACP"}],
        [{"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}],  # no owner
    ]
    for grants in policies:
        with pytest.raises(ClientError) as caught:
            s3.put_object_acl(
                Bucket=bucket, Key="k", AccessControlPolicy={"Owner": owner, "Grants": grants}
            )
        assert error_of(caught) == ("NotImplemented", 501)
    bad_group = [
        full,
        {"Grantee": {"Type": "Group", "URI": "http://example.com/g"}, "Permission": "READ"},
    ]
    with pytest.raises(ClientError) as caught:
        s3.put_object_acl(
            Bucket=bucket, Key="k", AccessControlPolicy={"Owner": owner, "Grants": bad_group}
        )
    assert error_of(caught) == ("InvalidArgument", 400)
    assert (
        grants_of(s3.get_object_acl(Bucket=bucket, Key="k"), local.access_key)
        == GRANTS["public-read"]
    )  # unchanged


def test_malformed_acl_document(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for body in [b"<NotAPolicy/>", b"<AccessControlPolicy><AccessControlList><Grant>"
                 b"<Permission>READ</Permission></Grant></AccessControlList>"
                 b"</AccessControlPolicy>", b"not xml"]:  # fmt: skip
        reply = signed(local, "PUT", f"/{bucket}/k?acl", body=body)
        assert (reply.status, reply.code) == (400, "MalformedACLError")
    reply = signed(local, "PUT", f"/{bucket}?acl")
    assert (reply.status, reply.code) == (400, "MissingSecurityHeader")


def test_header_grants(s3: Any, local: ServerInfo, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantRead=f'uri="{ALL_USERS}"')
    assert (
        grants_of(s3.get_object_acl(Bucket=bucket, Key="k"), local.access_key)
        == GRANTS["public-read"]
    )
    s3.put_object_acl(Bucket=bucket, Key="k", GrantFullControl=f'id="{local.access_key}"')
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="k"), local.access_key) == set()
    with pytest.raises(ClientError) as caught:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private", GrantRead=f'uri="{ALL_USERS}"')
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="mail", Body=b"x", GrantRead='emailAddress="a@b.c"')
    assert error_of(caught) == ("NotImplemented", 501)
    assert "mail" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]


def test_acl_of_missing_things(s3: Any, bucket: str) -> None:
    for call in (
        lambda: s3.get_object_acl(Bucket=bucket, Key="absent"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="absent", ACL="public-read"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_acl(Bucket=bucket + "-absent")
    assert error_of(caught) == ("NoSuchBucket", 404)


# Anonymous access


def test_public_object_readable_anonymously(s3: Any, anonymous: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"0123456789", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"secret")
    assert anonymous.get_object(Bucket=bucket, Key="open")["Body"].read() == b"0123456789"
    assert anonymous.head_object(Bucket=bucket, Key="open")["ContentLength"] == 10
    ranged = anonymous.get_object(Bucket=bucket, Key="open", Range="bytes=2-4")
    assert ranged["Body"].read() == b"234"
    part = anonymous.get_object(Bucket=bucket, Key="open", PartNumber=1)
    assert part["Body"].read() == b"0123456789"
    for call in (
        lambda: anonymous.get_object(Bucket=bucket, Key="closed"),
        lambda: anonymous.get_object(Bucket=bucket, Key="absent"),
        lambda: anonymous.list_objects_v2(Bucket=bucket),
        lambda: anonymous.get_object_acl(Bucket=bucket, Key="open"),
        lambda: anonymous.put_object(Bucket=bucket, Key="open", Body=b"overwrite"),
        lambda: anonymous.delete_object(Bucket=bucket, Key="open"),
        lambda: anonymous.put_object_acl(Bucket=bucket, Key="closed", ACL="public-read"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as caught:
        anonymous.head_object(Bucket=bucket, Key="closed")
    assert error_of(caught) == ("403", 403)
    assert s3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"0123456789"
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="closed"), s3_key(s3)) == set()


def test_anonymous_response_overrides_refused(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"x", ACL="public-read")
    reply = request(local.endpoint_url, "GET", f"/{bucket}/open?response-content-type=text/html")
    assert (reply.status, reply.code) == (400, "InvalidRequest")
    with urllib.request.urlopen(f"{local.endpoint_url}/{bucket}/open") as plain:
        assert plain.read() == b"x"


@pytest.mark.parametrize("canned", ["public-read", "public-read-write"])
def test_public_bucket_lists_and_nothing_more(
    s3: Any, anonymous: Any, bucket_name: str, canned: str
) -> None:
    """As S3: a bucket's READ grant lists its objects; each object is read by its own ACL."""
    s3.create_bucket(Bucket=bucket_name, ACL=canned)
    s3.put_object(Bucket=bucket_name, Key="a/private", Body=b"x")
    s3.put_object(Bucket=bucket_name, Key="a/public", Body=b"y", ACL="public-read")
    listed = ["a/private", "a/public"]
    assert [o["Key"] for o in anonymous.list_objects_v2(Bucket=bucket_name)["Contents"]] == listed
    assert [o["Key"] for o in anonymous.list_objects(Bucket=bucket_name)["Contents"]] == listed
    assert anonymous.head_bucket(Bucket=bucket_name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert anonymous.get_object(Bucket=bucket_name, Key="a/public")["Body"].read() == b"y"
    with pytest.raises(ClientError) as caught:
        anonymous.get_object(Bucket=bucket_name, Key="absent")
    assert error_of(caught) == ("NoSuchKey", 404)  # who may list may learn it is absent
    for call in (
        lambda: anonymous.get_object(Bucket=bucket_name, Key="a/private"),
        lambda: anonymous.put_object(Bucket=bucket_name, Key="new", Body=b"x"),
        lambda: anonymous.delete_object(Bucket=bucket_name, Key="a/public"),
        lambda: anonymous.get_bucket_acl(Bucket=bucket_name),
        lambda: anonymous.get_object_tagging(Bucket=bucket_name, Key="a/public"),
        lambda: anonymous.list_multipart_uploads(Bucket=bucket_name),
        lambda: anonymous.create_multipart_upload(Bucket=bucket_name, Key="new"),
        lambda: anonymous.delete_bucket(Bucket=bucket_name),
        lambda: anonymous.list_buckets(),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == ("AccessDenied", 403)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name)["Contents"]] == listed
    assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []


def test_private_bucket_hides_what_is_absent(s3: Any, anonymous: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        anonymous.get_object(Bucket=bucket, Key="absent")
    assert error_of(caught) == ("AccessDenied", 403)


def test_private_server_refuses_anonymous_reads(local: ServerInfo, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{local.endpoint_url}/{bucket}/k")
    assert caught.value.code == 403
    assert b"<Code>AccessDenied</Code>" in caught.value.read()
    caught.value.close()


def test_other_methods_on_subresources_touch_nothing(
    local: ServerInfo, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    for method, path in [
        ("DELETE", f"/{bucket}/k?acl"),
        ("POST", f"/{bucket}/k?acl"),
        ("DELETE", f"/{bucket}?acl"),
        ("POST", f"/{bucket}/k?tagging"),
        ("HEAD", f"/{bucket}/k?tagging"),
    ]:
        reply = signed(local, method, path)
        assert reply.status == 405, (method, path)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
