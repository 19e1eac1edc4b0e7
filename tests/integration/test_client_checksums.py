"""Downloads verified against every checksum a store keeps, written by boto3 (an
independent client) to the embedded server and to SeaweedFS: CRC32 as botocore sends
it by default, CRC64NVME (botocore computes it with awscrt), CRC32C, and SHA256/SHA1
composites. A byte flipped on the way fails the download with nothing at the target;
an object with no checksum fails only when ``require_checksum`` is set."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig as Boto3TransferConfig
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo, boto3_client, s3_client

from s3_asyncio_client import S3IntegrityError, S3InvalidRequestError, TransferConfig

MiB = 1024 * 1024
PART = 5 * MiB
SIZE = 2 * PART + 12345  # three parts, the last one short
CONFIG = TransferConfig(part_size=PART, max_concurrency=4, fsync=False)


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture(params=["local", "seaweedfs"])
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(request.param)
    return info


@pytest.fixture
def boto3(server: ServerInfo, bucket_name: str) -> Iterator[Any]:
    client = boto3_client(server)
    client.create_bucket(Bucket=bucket_name)
    try:
        yield client
    finally:
        client.close()


def multipart(s3: Any, bucket: str, key: str, data: bytes, algorithm: str, kind: str) -> None:
    """A multipart upload by boto3 with ``algorithm`` of type ``kind``; botocore
    computes every part's checksum and the Complete body lists them."""
    created = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm, ChecksumType=kind
    )
    upload_id, parts = created["UploadId"], []
    for number, start in enumerate(range(0, len(data), PART), start=1):
        reply = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data[start : start + PART],
            ChecksumAlgorithm=algorithm,
        )
        field = f"Checksum{algorithm}"
        parts.append({"PartNumber": number, "ETag": reply["ETag"], field: reply[field]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


def upload(s3: Any, bucket: str, key: str, data: bytes, how: str) -> None:
    """``how``: "default" (boto3's own choice: a PUT, or its transfer manager in parts)
    or "ALGORITHM/put", "ALGORITHM/COMPOSITE", "ALGORITHM/FULL_OBJECT"."""
    if how == "default-put":
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    elif how == "default-multipart":
        config = Boto3TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
        s3.upload_fileobj(io.BytesIO(data), bucket, key, Config=config)
    else:
        algorithm, kind = how.split("/")
        if kind == "put":
            s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
        else:
            multipart(s3, bucket, key, data, algorithm, kind)


CASES = [
    ("default-put", "crc32 "),
    ("default-multipart", "crc32 "),
    ("CRC64NVME/put", "crc64nvme "),
    ("CRC64NVME/FULL_OBJECT", "crc64nvme "),
    ("CRC32C/COMPOSITE", "crc32c "),
    ("CRC32/FULL_OBJECT", "crc32 "),
    ("SHA256/put", "sha256 "),
    ("SHA256/COMPOSITE", "sha256 "),
    ("SHA1/COMPOSITE", "sha1 "),
]


@pytest.mark.parametrize(("how", "matched"), CASES, ids=[how for how, _ in CASES])
async def test_download_verifies_what_boto3_stored(
    server: ServerInfo,
    boto3: Any,
    bucket_name: str,
    data: bytes,
    tmp_path: Path,
    how: str,
    matched: str,
) -> None:
    upload(boto3, bucket_name, "obj", data, how)
    target = tmp_path / "obj.bin"
    async with s3_client(server) as client:
        result = await client.download_file(bucket_name, "obj", target, config=CONFIG)
    assert result["checksum"].startswith(matched)
    assert result["size"] == SIZE
    assert target.read_bytes() == data


@pytest.mark.parametrize("how", ["default-multipart", "CRC64NVME/put", "SHA256/COMPOSITE"])
async def test_a_flipped_byte_fails_the_download(
    server: ServerInfo, boto3: Any, bucket_name: str, data: bytes, tmp_path: Path, how: str
) -> None:
    upload(boto3, bucket_name, "obj", data, how)
    target = tmp_path / "obj.bin"
    rule = FaultRule("corrupt_reply", match=matching("GET", path_contains="/obj"), times=1)
    with FaultProxy(server.endpoint_url) as proxy:
        proxy.set_rules([rule])
        async with s3_client(server, endpoint_url=proxy.url) as client:
            with pytest.raises(S3IntegrityError) as caught:
                await client.download_file(bucket_name, "obj", target, config=CONFIG)
    assert "do not match the object's checksum" in str(caught.value)
    assert caught.value.key == "obj"
    assert list(tmp_path.iterdir()) == []  # no target, no temporary


async def test_require_checksum_fails_an_object_without_one(
    moto: ServerInfo, bucket_name: str, data: bytes, tmp_path: Path
) -> None:
    """moto keeps no checksum for an object sent without one (S3 and the embedded
    server keep their default CRC64NVME: see the test below)."""
    target = tmp_path / "obj.bin"
    async with s3_client(moto, checksum=None) as client:
        await client.create_bucket(bucket_name)
        await client.put_object(bucket_name, "obj", data)
        head = await client.head_object(bucket_name, "obj", checksum_mode=True)
        assert not head.get("checksums")
        required = TransferConfig(part_size=PART, fsync=False, require_checksum=True)
        with pytest.raises(S3IntegrityError) as caught:
            await client.download_file(bucket_name, "obj", target, config=required)
        assert "require_checksum" in str(caught.value)
        assert list(tmp_path.iterdir()) == []
        result = await client.download_file(bucket_name, "obj", target, config=CONFIG)
    assert "checksum" not in result  # unverified, and said so
    assert target.read_bytes() == data


@pytest.mark.parametrize("multipart", [False, True], ids=["put", "multipart"])
async def test_an_object_sent_without_a_checksum_gets_the_default_one(
    local: ServerInfo, bucket_name: str, data: bytes, tmp_path: Path, multipart: bool
) -> None:
    """As S3 does: no checksum sent, CRC64NVME kept (FULL_OBJECT, combined over the
    parts of a multipart upload), so the download is verified all the same."""
    target = tmp_path / "obj.bin"
    async with s3_client(local, checksum=None) as client:
        await client.create_bucket(bucket_name)
        if multipart:
            await client.upload_file_multipart(bucket_name, "obj", data, part_size=PART)
        else:
            await client.put_object(bucket_name, "obj", data)
        head = await client.head_object(bucket_name, "obj", checksum_mode=True)
        assert list(head.get("checksums", {})) == ["crc64nvme"]
        assert head.get("checksum_type") == "FULL_OBJECT"
        required = TransferConfig(part_size=PART, fsync=False, require_checksum=True)
        result = await client.download_file(bucket_name, "obj", target, config=required)
    assert result["checksum"].startswith("crc64nvme ")
    assert target.read_bytes() == data


UPLOADS = [
    ("crc64nvme", None),
    ("crc32c", "COMPOSITE"),
    ("crc32c", "FULL_OBJECT"),
    ("crc32", "COMPOSITE"),
    ("crc32", "FULL_OBJECT"),
    ("sha256", "COMPOSITE"),
    ("sha1", None),
]


@pytest.mark.parametrize(
    ("algorithm", "kind"), UPLOADS, ids=[f"{a}-{k or 'default'}" for a, k in UPLOADS]
)
async def test_boto3_validates_what_we_upload(
    server: ServerInfo,
    boto3: Any,
    bucket_name: str,
    data: bytes,
    tmp_path: Path,
    algorithm: Any,
    kind: Any,
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    config = TransferConfig(part_size=PART, multipart_threshold=PART, resume=False)
    async with s3_client(server, checksum="crc32c") as client:
        await client.put_object(bucket_name, "single", data[:1000], checksum=algorithm)
        await client.upload_file(
            bucket_name, "multi", source, config=config, checksum=algorithm, checksum_type=kind
        )
    field = f"Checksum{algorithm.upper()}"
    single = boto3.get_object(Bucket=bucket_name, Key="single", ChecksumMode="ENABLED")
    assert single["Body"].read() == data[:1000]  # botocore validated the CRC or SHA
    assert "-" not in single[field]
    multi = boto3.get_object(Bucket=bucket_name, Key="multi", ChecksumMode="ENABLED")
    assert multi["Body"].read() == data
    expected_kind = kind or ("FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE")
    assert multi[field].endswith("-3") == (expected_kind == "COMPOSITE")
    assert multi.get("ChecksumType", expected_kind) == expected_kind


async def test_a_checksum_type_s3_does_not_allow_fails_before_sending(
    local: ServerInfo, bucket_name: str
) -> None:
    async with s3_client(local) as client:
        with pytest.raises(S3InvalidRequestError, match="'COMPOSITE' is not possible"):
            await client.create_multipart_upload(
                bucket_name, "obj", checksum="crc64nvme", checksum_type="COMPOSITE"
            )
        with pytest.raises(S3InvalidRequestError, match="'FULL_OBJECT' is not possible"):
            await client.create_multipart_upload(
                bucket_name, "obj", checksum="sha256", checksum_type="FULL_OBJECT"
            )


async def test_cli_require_checksum(
    local: ServerInfo, moto: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    from test_cli import s3aio

    for server in (local, moto):  # moto keeps no checksum when none is sent
        async with s3_client(server, checksum=None) as client:
            await client.create_bucket(bucket_name)
            await client.put_object(bucket_name, "bare", b"no checksum kept")
    url, target = f"s3://{bucket_name}", tmp_path / "out.bin"
    refused = s3aio(moto, "cp", "--require-checksum", f"{url}/bare", str(target), check=False)
    assert refused.returncode == 1
    assert "require_checksum is set" in refused.stderr
    assert not target.exists()
    s3aio(local, "cp", "--require-checksum", f"{url}/bare", str(target))  # the default CRC
    assert target.read_bytes() == b"no checksum kept"
