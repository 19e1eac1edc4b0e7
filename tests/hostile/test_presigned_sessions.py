"""Presigned multipart sessions: one call creates the upload and signs a URL per
part, the Complete and the abort; a process with no credentials at all sends the
parts and completes through those URLs with plain ``requests``. The bucket's CORS
rules answer a browser's preflight for a part URL and expose the part's ETag.
Expired, altered or reused-elsewhere URLs are refused with S3's 403."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from servers import ServerInfo, boto3_client, s3_client

from s3_asyncio_client import (
    S3InvalidRequestError,
    S3NoSuchKeyError,
    S3NoSuchUploadError,
    S3PreconditionFailedError,
)

KiB = 1024
ORIGIN = "https://app.example"
# What a holder of no keys does with a session: read it from stdin, PUT each part's
# byte range from the file with exactly the headers listed, then POST the Complete
# body (each {etag_N} replaced by part N's ETag). Prints what it saw, as JSON.
HOLDER = """
import json, sys, requests
session = json.load(sys.stdin)
data = open(sys.argv[1], "rb").read()
etags, statuses = {}, []
for part in session["parts"]:
    first, last = part["byte_range"]
    reply = requests.put(part["url"], data=data[first:last + 1], headers=part["headers"])
    statuses.append(reply.status_code)
    etags["etag_%d" % part["part_number"]] = reply.headers.get("ETag", "")
complete = session["complete"]
body = complete["body_template"].format(**etags)
done = requests.post(complete["url"], data=body.encode(), headers=complete["headers"])
print(json.dumps({"parts": statuses, "status": done.status_code, "body": done.text}))
"""


@pytest.fixture
async def bucket(local: ServerInfo, bucket_name: str) -> str:
    async with s3_client(local) as client:
        await client.create_bucket(bucket_name)
    return bucket_name


def keyless_environment(home: Path) -> dict[str, str]:
    """The environment minus every credential: no AWS_* variables, an empty HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)
    return env


async def stored(local: ServerInfo, bucket: str, key: str) -> bytes | None:
    async with s3_client(local) as client:
        try:
            return (await client.get_object(bucket, key))["body"]
        except S3NoSuchKeyError:
            return None


async def test_a_process_with_no_keys_uploads_and_completes(
    local: ServerInfo, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(300 * KiB + 17)  # 10 parts of 32 KiB and a short last one
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    async with s3_client(local, min_part_size=0) as client:
        session = await client.presign_multipart_upload(
            bucket, "dir/big file+.bin", size=len(data), part_size=32 * KiB, if_none_match="*"
        )
    assert session["part_size"] == 32 * KiB
    assert len(session["parts"]) == 10
    assert session["parts"][-1]["byte_range"] == [9 * 32 * KiB, len(data) - 1]
    assert all(p["method"] == "PUT" and p["headers"] == {} for p in session["parts"])
    assert session["complete"]["headers"] == {"if-none-match": "*"}
    text = json.dumps(session)  # plain data all through
    home = tmp_path / "home"
    home.mkdir()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", HOLDER, str(source)],
        input=text,
        capture_output=True,
        text=True,
        env=keyless_environment(home),
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["parts"] == [200] * 10
    assert seen["status"] == 200, seen["body"]
    assert "<CompleteMultipartUploadResult" in seen["body"]
    assert await stored(local, bucket, "dir/big file+.bin") == data
    async with s3_client(local) as client:
        assert [u async for u in client.iter_multipart_uploads(bucket)] == []


async def test_complete_and_abort_helpers(local: ServerInfo, bucket: str) -> None:
    data = b"".join(bytes([n]) * (8 * KiB) for n in range(3))
    async with s3_client(local, min_part_size=0) as client:
        session = await client.presign_multipart_upload(
            bucket, "helped", size=len(data), part_size=8 * KiB
        )
        etags = []
        for part in session["parts"]:
            first, last = part["byte_range"]
            reply = await asyncio.to_thread(requests.put, part["url"], data=data[first : last + 1])
            assert reply.status_code == 200
            etags.append(reply.headers["ETag"])
        with pytest.raises(S3InvalidRequestError, match="one ETag per part"):
            await client.complete_presigned_upload(session, etags[:2])
        result = await client.complete_presigned_upload(session, dict(enumerate(etags, 1)))
        assert result["parts_count"] == 3
        md5s = b"".join(bytes.fromhex(e.strip('"')) for e in etags)
        assert result["etag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
        assert await stored(local, bucket, "helped") == data
        # A second session under the same key, aborted: its URLs are then refused.
        other = await client.presign_multipart_upload(bucket, "helped", size=10)
        await client.abort_presigned_upload(other)
        late = await asyncio.to_thread(requests.put, other["parts"][0]["url"], data=b"0" * 10)
        assert late.status_code == 404
        assert "<Code>NoSuchUpload</Code>" in late.text
        with pytest.raises(S3NoSuchUploadError):
            await client.abort_presigned_upload(other)
        # A conditional session on a key that exists fails before it is created.
        with pytest.raises(S3PreconditionFailedError):
            await client.presign_multipart_upload(bucket, "helped", size=10, if_none_match="*")
    assert await stored(local, bucket, "helped") == data


async def test_signed_part_checksums_are_headers_to_send(local: ServerInfo, bucket: str) -> None:
    from s3_asyncio_client.protocol.checksums import checksum_header

    data = b"a" * (8 * KiB) + b"b" * 100
    pieces = [data[: 8 * KiB], data[8 * KiB :]]
    values = [checksum_header("crc32", piece)[1] for piece in pieces]
    async with s3_client(local, min_part_size=0) as client:
        session = await client.presign_multipart_upload(
            bucket,
            "summed",
            size=len(data),
            part_size=8 * KiB,
            checksum="crc32",
            part_checksums=values,
        )
        part = session["parts"][0]
        assert part["headers"] == {"x-amz-checksum-crc32": values[0]}
        # Without the signed header, or with another value, the server refuses.
        bare = await asyncio.to_thread(requests.put, part["url"], data=pieces[0])
        assert bare.status_code == 403
        wrong = {"x-amz-checksum-crc32": values[1]}
        forged = await asyncio.to_thread(requests.put, part["url"], data=pieces[0], headers=wrong)
        assert forged.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in forged.text
        etags = []
        for part, piece in zip(session["parts"], pieces, strict=True):
            sent = await asyncio.to_thread(
                requests.put, part["url"], data=piece, headers=part["headers"]
            )
            assert sent.status_code == 200, sent.text
            etags.append(sent.headers["ETag"])
        body = session["complete"]["body_template"].format(
            **{f"etag_{n}": etag for n, etag in enumerate(etags, 1)}
        )
        done = await asyncio.to_thread(requests.post, session["complete"]["url"], data=body)
        assert done.status_code == 200, done.text
        assert "<ChecksumCRC32>" in done.text
    assert await stored(local, bucket, "summed") == data


def put_cors(local: ServerInfo, bucket: str, expose: list[str]) -> None:
    s3: Any = boto3_client(local)
    rule = {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["PUT", "POST", "DELETE"]}
    rule.update({"AllowedHeaders": ["*"], "ExposeHeaders": expose, "MaxAgeSeconds": 600})
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    s3.close()


async def test_cors_preflight_for_a_part_url(local: ServerInfo, bucket: str) -> None:
    async with s3_client(local, min_part_size=0) as client:
        session = await client.presign_multipart_upload(bucket, "web", size=10)
    url = session["parts"][0]["url"]
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    before = await asyncio.to_thread(requests.options, url, headers=asked)
    assert before.status_code == 403
    assert "<Code>AccessForbidden</Code>" in before.text
    await asyncio.to_thread(put_cors, local, bucket, ["ETag"])
    headers = {**asked, "Access-Control-Request-Headers": "content-type"}
    answer = await asyncio.to_thread(requests.options, url, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PUT" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    other = await asyncio.to_thread(
        requests.options, url, headers={**asked, "Origin": "https://evil.example"}
    )
    assert other.status_code == 403
    # The part itself, sent as a browser would: its reply exposes the ETag.
    sent = await asyncio.to_thread(
        requests.put, url, data=b"0123456789", headers={"Origin": ORIGIN}
    )
    assert sent.status_code == 200
    assert sent.headers["Access-Control-Expose-Headers"] == "ETag"
    assert sent.headers["ETag"]
    for request in (session["complete"], session["abort"]):
        check = {**asked, "Access-Control-Request-Method": request["method"]}
        preflight = await asyncio.to_thread(requests.options, request["url"], headers=check)
        assert preflight.status_code == 200


async def test_expired_and_altered_urls_are_refused(local: ServerInfo, bucket: str) -> None:
    async with s3_client(local, min_part_size=0) as client:
        session = await client.presign_multipart_upload(bucket, "late", size=10, expires_in=1)
        lasting = await client.presign_multipart_upload(bucket, "moved", size=10)
        await asyncio.sleep(2.2)  # past the one second the URLs were signed for
        for request in (session["parts"][0], session["complete"], session["abort"]):
            reply = await asyncio.to_thread(requests.request, request["method"], request["url"])
            assert reply.status_code == 403
            assert "<Code>AccessDenied</Code>" in reply.text
            assert "expired" in reply.text
        # Another part number, or the URL used on another key: the signature fails.
        part = lasting["parts"][0]["url"]
        for url in (part.replace("partNumber=1", "partNumber=2"), part.replace("/moved?", "/x?")):
            reply = await asyncio.to_thread(requests.put, url, data=b"0123456789")
            assert reply.status_code == 403
            assert "<Code>SignatureDoesNotMatch</Code>" in reply.text
        await client.abort_presigned_upload(session)
        await client.abort_presigned_upload(lasting)
        assert [u async for u in client.iter_multipart_uploads(bucket)] == []
    assert await stored(local, bucket, "late") is None
