"""What the server does not do, answered as S3 answers for a bucket without it: unset
configurations read as none, deleting them succeeds, setting one is refused; and
encryption the server cannot give is refused, never silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3errors import error_of

MISSING: list[tuple[str, str]] = [
    ("get_bucket_policy", "NoSuchBucketPolicy"),
    ("get_bucket_policy_status", "NoSuchBucketPolicy"),
    ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
    ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
    ("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError"),
    ("get_bucket_website", "NoSuchWebsiteConfiguration"),
    ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
    ("get_bucket_replication", "ReplicationConfigurationNotFoundError"),
]


@pytest.mark.parametrize(("operation", "code"), MISSING)
def test_unset_configuration_is_not_found(s3: Any, bucket: str, operation: str, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(s3, operation)(Bucket=bucket)
    assert error_of(caught) == (code, 404)
    assert caught.value.response["Error"]["BucketName"] == bucket


@pytest.mark.parametrize(("operation", "code"), MISSING[:3])
def test_missing_bucket_wins(s3: Any, bucket_name: str, operation: str, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(s3, operation)(Bucket=bucket_name)
    assert error_of(caught) == ("NoSuchBucket", 404)


def test_configurations_s3_always_has_are_empty(s3: Any, bucket: str) -> None:
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not {"TopicConfigurations", "QueueConfigurations"} & notification.keys()
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)


@pytest.mark.parametrize(
    "operation",
    [
        "delete_bucket_policy",
        "delete_bucket_lifecycle",
        "delete_bucket_encryption",
        "delete_public_access_block",
        "delete_bucket_website",
        "delete_bucket_ownership_controls",
        "delete_bucket_replication",
    ],
)
def test_deleting_what_is_not_there_succeeds(s3: Any, bucket: str, operation: str) -> None:
    reply = getattr(s3, operation)(Bucket=bucket)
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.delete_bucket(Bucket=bucket)  # and the bucket is as it was
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


SETTERS: list[Callable[[Any, str], Any]] = [
    lambda s3, b: s3.put_bucket_policy(Bucket=b, Policy='{"Version": "2012-10-17"}'),
    lambda s3, b: s3.put_bucket_lifecycle_configuration(
        Bucket=b,
        LifecycleConfiguration={
            "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
        },
    ),
    lambda s3, b: s3.put_public_access_block(
        Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    ),
]


@pytest.mark.parametrize("setter", SETTERS)
def test_setting_one_is_refused(s3: Any, bucket: str, setter: Callable[[Any, str], Any]) -> None:
    with pytest.raises(ClientError) as caught:
        setter(s3, bucket)
    assert error_of(caught) == ("NotImplemented", 501)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)  # nothing was kept


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"ServerSideEncryption": "aws:kms"}, "aws:kms"),
        ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}, "SSE-C"),
    ],
)
def test_encryption_it_cannot_give_is_refused(
    s3: Any, bucket: str, arguments: dict[str, str], named: str
) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="secret", Body=b"plain", **arguments)
    assert error_of(caught) == ("NotImplemented", 501)
    assert named in caught.value.response["Error"]["Message"]
    assert "k" * 32 not in str(caught.value.response)  # the key is never echoed
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_sse_s3_is_accepted(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
