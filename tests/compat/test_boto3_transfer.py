"""boto3 in a user's own code: the transfer manager (multipart up, ranged GETs down)
and a browser-style upload through ``generate_presigned_post`` sent with requests."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from compatkit import BIG, MIB, http_session
from thirdparty import parts_of

# Multipart above 5 MiB in parts of 5 MiB (the defaults are 8 MiB both).
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)


class OneWay(io.RawIOBase):
    """A readable stream that cannot seek, as a pipe is: its length is unknown."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._source.readinto(buffer)


def test_transfer_manager_multipart_up_and_down(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    s3.upload_file(
        str(source),
        bucket,
        "data/big file.bin",
        Config=SMALL_PARTS,
        ExtraArgs={"ContentType": "application/x-test", "Metadata": {"origin": "transfer"}},
    )
    assert parts_of(s3, bucket, "data/big file.bin") == -(-BIG // (5 * MIB))
    head = s3.head_object(Bucket=bucket, Key="data/big file.bin")
    assert (head["ContentType"], head["Metadata"]) == ("application/x-test", {"origin": "transfer"})

    target = tmp_path / "back.bin"
    s3.download_file(bucket, "data/big file.bin", str(target), Config=SMALL_PARTS)
    assert target.read_bytes() == source.read_bytes()

    with (tmp_path / "again.bin").open("wb") as out:
        s3.download_fileobj(bucket, "data/big file.bin", out, Config=SMALL_PARTS)
    assert (tmp_path / "again.bin").read_bytes() == source.read_bytes()


def test_presigned_post_with_requests(s3: Any, bucket: str) -> None:
    body = b"uploaded from a form\n" * 50
    post = s3.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={"Content-Type": "text/plain"},
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            {"Content-Type": "text/plain"},
            ["content-length-range", 1, 1024 * 1024],
        ],
        ExpiresIn=300,
    )
    with http_session() as http:
        reply = http.post(
            post["url"],
            data=post["fields"],
            files={"file": ("form note.txt", body, "text/plain")},
            timeout=30,
        )
    assert reply.status_code == 204, reply.text  # success_action_status defaults to 204
    stored = s3.get_object(Bucket=bucket, Key="uploads/form note.txt")
    assert (stored["Body"].read(), stored["ContentType"]) == (body, "text/plain")


def test_managed_copy_stream_upload_and_presigned_put(s3: Any, bucket: str) -> None:
    body = os.urandom(BIG)
    s3.upload_fileobj(OneWay(body), bucket, "src/streamed.bin", Config=SMALL_PARTS)
    assert parts_of(s3, bucket, "src/streamed.bin") == -(-BIG // (5 * MIB))

    s3.copy(
        {"Bucket": bucket, "Key": "src/streamed.bin"},
        bucket,
        "dst/copy +1 #2.bin",
        Config=SMALL_PARTS,
    )
    assert parts_of(s3, bucket, "dst/copy +1 #2.bin") == -(-BIG // (5 * MIB))
    got = s3.get_object(Bucket=bucket, Key="dst/copy +1 #2.bin", Range="bytes=5242878-5242881")
    assert got["Body"].read() == body[5 * MIB - 2 : 5 * MIB + 2]

    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "urls/put me.txt"}, ExpiresIn=300
    )
    with http_session() as http:
        reply = http.put(url, data=b"put via url", timeout=30)
    assert reply.status_code == 200, reply.text
    assert s3.get_object(Bucket=bucket, Key="urls/put me.txt")["Body"].read() == b"put via url"
