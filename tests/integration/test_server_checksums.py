"""The embedded server keeps the checksums S3 keeps: CRC32, CRC32C, CRC64NVME, SHA1 and
SHA256, sent as headers or aws-chunked trailers, verified (BadDigest) and returned on
GET/HEAD with ``x-amz-checksum-mode: ENABLED``. boto3, an independent client,
computes the values and validates what comes back."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from rawhttp import signed
from servers import ServerInfo, boto3_client

from s3_asyncio_client.protocol.checksums import RunningChecksum, crc64nvme_slow

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
DATA = b"checksums the way stores keep them\n" * 1000


@pytest.fixture
def client(local: ServerInfo) -> Iterator[Any]:
    """boto3 with its default checksums (CRC32 unless asked for another)."""
    made = boto3_client(local)
    yield made
    made.close()


def value(algorithm: str, data: bytes) -> str:
    running = RunningChecksum(algorithm.lower(), slow_ok=True)  # type: ignore[arg-type]
    running.update(data)
    return running.value()


@pytest.fixture
def bucket(client: Any) -> str:
    name = "c-" + uuid.uuid4().hex[:12]
    client.create_bucket(Bucket=name)
    return name


def stored_keys(client: Any, bucket: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_crc64nvme_of_the_check_string_is_the_catalogue_value() -> None:
    assert crc64nvme_slow(b"123456789") == 0xAE8B14860A799888
    assert value("CRC64NVME", b"123456789") == "rosUhgp5mIg="


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_put_with_each_algorithm_is_verified_kept_and_returned(
    local: ServerInfo, client: Any, bucket: str, algorithm: str
) -> None:
    reply = client.put_object(Bucket=bucket, Key="k", Body=DATA, ChecksumAlgorithm=algorithm)
    assert reply[f"Checksum{algorithm}"] == value(algorithm, DATA)
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value(algorithm, DATA)
    assert head["ChecksumType"] == "FULL_OBJECT"
    got = client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA  # botocore validates the checksum as it reads
    assert got[f"Checksum{algorithm}"] == value(algorithm, DATA)


def test_botocore_default_checksum_is_accepted(client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="k", Body=DATA)
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == value("CRC32", DATA)
    client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert stored_keys(client, bucket) == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_wrong_checksum_header_is_bad_digest_and_nothing_is_stored(
    local: ServerInfo, client: Any, bucket: str, algorithm: str
) -> None:
    wrong = value(algorithm, DATA + b"!")
    name = f"x-amz-checksum-{algorithm.lower()}"
    reply = signed(local, "PUT", f"/{bucket}/k", body=DATA, headers={name: wrong})
    assert (reply.status, reply.code) == (400, "BadDigest")
    reply = signed(local, "PUT", f"/{bucket}/k", body=DATA, headers={name: "AAAA"})
    assert (reply.status, reply.code) == (400, "InvalidRequest")
    assert stored_keys(client, bucket) == []


def _trailer_body(data: bytes, trailer: str) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\n{trailer}\r\n\r\n".encode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksums_in_aws_chunked_trailers(
    local: ServerInfo, client: Any, bucket: str, algorithm: str
) -> None:
    name = f"x-amz-checksum-{algorithm.lower()}"
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(DATA)),
        "x-amz-trailer": name,
        "x-amz-sdk-checksum-algorithm": algorithm,
    }
    options: dict[str, Any] = {
        "headers": headers,
        "payload_hash": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    }
    bad = _trailer_body(DATA, f"{name}:{value(algorithm, b'other')}")
    reply = signed(local, "PUT", f"/{bucket}/k", body=bad, **options)
    assert (reply.status, reply.code) == (400, "BadDigest")
    assert stored_keys(client, bucket) == []
    good = _trailer_body(DATA, f"{name}:{value(algorithm, DATA)}")
    reply = signed(local, "PUT", f"/{bucket}/k", body=good, **options)
    assert reply.status == 200, reply.body
    assert reply.headers[name] == value(algorithm, DATA)
    got = client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got[f"Checksum{algorithm}"] == value(algorithm, DATA)


def test_sdk_checksum_algorithm_alone_makes_the_server_keep_that_checksum(
    local: ServerInfo, client: Any, bucket: str
) -> None:
    headers = {"x-amz-sdk-checksum-algorithm": "CRC64NVME"}
    reply = signed(local, "PUT", f"/{bucket}/k", body=DATA, headers=headers)
    assert reply.status == 200
    assert reply.headers["x-amz-checksum-crc64nvme"] == value("CRC64NVME", DATA)
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == value("CRC64NVME", DATA)
    headers = {"x-amz-sdk-checksum-algorithm": "MD4"}
    reply = signed(local, "PUT", f"/{bucket}/other", body=DATA, headers=headers)
    assert (reply.status, reply.code) == (400, "InvalidRequest")
    assert stored_keys(client, bucket) == ["k"]


def test_delete_objects_with_a_crc64nvme_header(
    local: ServerInfo, client: Any, bucket: str
) -> None:
    for key in ("a", "b"):
        client.put_object(Bucket=bucket, Key=key, Body=DATA)
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>a</Key></Object></Delete>"
    )
    wrong = {"x-amz-checksum-crc64nvme": value("CRC64NVME", body + b" ")}
    reply = signed(local, "POST", f"/{bucket}?delete", body=body, headers=wrong)
    assert (reply.status, reply.code) == (400, "BadDigest")
    assert stored_keys(client, bucket) == ["a", "b"]
    right = {"x-amz-checksum-crc64nvme": value("CRC64NVME", body)}
    reply = signed(local, "POST", f"/{bucket}?delete", body=body, headers=right)
    assert reply.status == 200, reply.body
    assert stored_keys(client, bucket) == ["b"]
    client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "b"}]}, ChecksumAlgorithm="CRC64NVME"
    )
    assert stored_keys(client, bucket) == []


PARTS = [b"a" * 70_000, b"b" * 50_001, b"c" * 3]


def _upload_parts(client: Any, bucket: str, algorithm: str, kind: str | None) -> tuple[str, list]:
    options = {"ChecksumType": kind} if kind else {}
    created = client.create_multipart_upload(
        Bucket=bucket, Key="mp", ChecksumAlgorithm=algorithm, **options
    )
    upload = created["UploadId"]
    default = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    assert created["ChecksumType"] == (kind or default)
    assert created["ChecksumAlgorithm"] == algorithm
    parts = []
    for number, data in enumerate(PARTS, 1):
        reply = client.upload_part(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm=algorithm,
        )
        assert reply[f"Checksum{algorithm}"] == value(algorithm, data)
        parts.append(
            {
                "PartNumber": number,
                "ETag": reply["ETag"],
                f"Checksum{algorithm}": reply[f"Checksum{algorithm}"],
            }
        )
    listed = client.list_parts(Bucket=bucket, Key="mp", UploadId=upload)
    assert listed["ChecksumAlgorithm"] == algorithm
    assert listed["ChecksumType"] == (kind or default)
    assert [p[f"Checksum{algorithm}"] for p in listed["Parts"]] == [
        value(algorithm, data) for data in PARTS
    ]
    return upload, parts


def _composite(algorithm: str) -> str:
    digests = b"".join(base64.b64decode(value(algorithm, data)) for data in PARTS)
    return f"{value(algorithm, digests)}-{len(PARTS)}"


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        ("CRC64NVME", None),
        ("CRC64NVME", "FULL_OBJECT"),
        ("CRC32", "FULL_OBJECT"),
        ("CRC32C", "FULL_OBJECT"),
        ("CRC32", None),
        ("CRC32C", "COMPOSITE"),
        ("SHA1", None),
        ("SHA256", "COMPOSITE"),
    ],
)
def test_multipart_checksum_is_full_object_or_composite_as_s3_computes_it(
    client: Any, bucket: str, algorithm: str, kind: str | None
) -> None:
    upload, parts = _upload_parts(client, bucket, algorithm, kind)
    done = client.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    whole = b"".join(PARTS)
    full = (kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")) == "FULL_OBJECT"
    expected = value(algorithm, whole) if full else _composite(algorithm)
    assert done[f"Checksum{algorithm}"] == expected
    assert done["ChecksumType"] == ("FULL_OBJECT" if full else "COMPOSITE")
    head = client.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected
    assert head["ChecksumType"] == ("FULL_OBJECT" if full else "COMPOSITE")
    assert (
        "x-amz-checksum-type"
        not in client.head_object(Bucket=bucket, Key="mp")["ResponseMetadata"]["HTTPHeaders"]
    )
    got = client.get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert got["Body"].read() == whole  # botocore validates a full-object value
    for number, data in enumerate(PARTS, 1):
        part = client.get_object(Bucket=bucket, Key="mp", PartNumber=number, ChecksumMode="ENABLED")
        assert part[f"Checksum{algorithm}"] == value(algorithm, data)
        assert part["Body"].read() == data  # validated against the part's value


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("CRC64NVME", "COMPOSITE"), ("SHA1", "FULL_OBJECT")]
)
def test_a_checksum_type_the_algorithm_cannot_have_is_refused(
    local: ServerInfo, client: Any, bucket: str, algorithm: str, kind: str
) -> None:
    headers = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": kind}
    reply = signed(local, "POST", f"/{bucket}/mp?uploads", headers=headers)
    assert (reply.status, reply.code) == (400, "InvalidRequest")
    reply = signed(local, "POST", f"/{bucket}/mp?uploads", headers={"x-amz-checksum-type": kind})
    assert (reply.status, reply.code) == (400, "InvalidRequest")
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_complete_checks_the_part_and_object_checksums_given(client: Any, bucket: str) -> None:
    upload, parts = _upload_parts(client, bucket, "CRC64NVME", None)
    wrong = [dict(part) for part in parts]
    wrong[1]["ChecksumCRC64NVME"] = value("CRC64NVME", b"not the part")
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": wrong}
        )
    assert caught.value.response["Error"]["Code"] == "InvalidPart"
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            MultipartUpload={"Parts": parts},
            ChecksumCRC64NVME=value("CRC64NVME", b"not the object"),
        )
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert stored_keys(client, bucket) == []
    done = client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": parts},
        ChecksumCRC64NVME=value("CRC64NVME", b"".join(PARTS)),
    )
    assert done["ChecksumCRC64NVME"] == value("CRC64NVME", b"".join(PARTS))
    assert stored_keys(client, bucket) == ["mp"]


def test_complete_must_name_the_checksum_type_of_the_upload(client: Any, bucket: str) -> None:
    upload, parts = _upload_parts(client, bucket, "CRC64NVME", None)
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            MultipartUpload={"Parts": parts},
            ChecksumType="COMPOSITE",
        )
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"
    assert "FULL_OBJECT checksum mode" in caught.value.response["Error"]["Message"]
    assert stored_keys(client, bucket) == []
    done = client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": parts},
        ChecksumType="FULL_OBJECT",
    )
    assert done["ChecksumType"] == "FULL_OBJECT"


def test_get_object_attributes_reports_checksum_and_parts(client: Any, bucket: str) -> None:
    upload, parts = _upload_parts(client, bucket, "CRC32C", None)
    client.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    every = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    got = client.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=every)
    assert got["Checksum"] == {
        "ChecksumCRC32C": _composite("CRC32C").rpartition("-")[0],
        "ChecksumType": "COMPOSITE",
    }
    assert got["ObjectSize"] == sum(len(data) for data in PARTS)
    assert got["StorageClass"] == "STANDARD"
    assert got["ObjectParts"]["TotalPartsCount"] == len(PARTS)
    assert [
        (p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in got["ObjectParts"]["Parts"]
    ] == [(number, len(data), value("CRC32C", data)) for number, data in enumerate(PARTS, 1)]
    page = client.get_object_attributes(
        Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1
    )["ObjectParts"]
    assert (page["IsTruncated"], [p["PartNumber"] for p in page["Parts"]]) == (True, [2])
    client.put_object(Bucket=bucket, Key="one", Body=DATA, ChecksumAlgorithm="CRC64NVME")
    single = client.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=every)
    assert single["Checksum"] == {
        "ChecksumCRC64NVME": value("CRC64NVME", DATA),
        "ChecksumType": "FULL_OBJECT",
    }
    assert "ObjectParts" not in single
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_object_attributes(Bucket=bucket, Key="nothing", ObjectAttributes=every)
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


def test_botocore_default_multipart_upload_keeps_its_checksum(client: Any, bucket: str) -> None:
    data = bytes(range(256)) * 50_000  # 12.2 MiB: three parts of 5 MiB at most
    config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    client.upload_fileobj(io.BytesIO(data), bucket, "big", Config=config)
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"')
    algorithm = next(a for a in ALGORITHMS if f"Checksum{a}" in head)
    # botocore asks for CRC32 and no type: S3's default, COMPOSITE
    assert (algorithm, head["ChecksumType"]) == ("CRC32", "COMPOSITE")
    pieces = [data[i : i + 5 * 2**20] for i in range(0, len(data), 5 * 2**20)]
    digests = b"".join(base64.b64decode(value("CRC32", piece)) for piece in pieces)
    assert head["ChecksumCRC32"] == f"{value('CRC32', digests)}-3"
    got = client.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
