"""The real AIStore SDK (``aistore``) on the embedded server's native API (``/v1``).

The seed notebook runs as written (only ``ais_url`` names the test server), twice,
against a server with auth on (``AIS_AUTHN_TOKEN``) and one with auth off; then the
edges the SDK meets: abort, part-number gaps (400), a partial part list (501), its
404 and 409 error classes, bad input answered without a 5xx (the SDK retries those
for about 90 s), and one namespace with S3 (written by either API, read by the other).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aistore
import pytest
import requests
from aistore.sdk.errors import AISError, ErrBckAlreadyExists, ErrBckNotFound, ErrObjNotFound
from botocore.exceptions import ClientError
from seed_notebook import CELLS, SETUP, assert_shows
from serveprocess import CLI_MODULE, ServeProcess
from servers import TEST_ACCESS_KEY, TEST_SECRET_KEY, ServerInfo, boto3_client

from s3_asyncio_client.protocol.checksums import checksum_header
from s3_asyncio_client.server import LocalS3Server, aistore_token

TOKEN = aistore_token(TEST_ACCESS_KEY, TEST_SECRET_KEY)
NOTEBOOK_BUCKET = "multipart-demo-bck"
SEED_URL = 'ais_url = "http://localhost:8080"'


@dataclass(frozen=True)
class Served:
    info: ServerInfo
    token: str  # "" when the server runs without auth

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@pytest.fixture(scope="module", params=["auth", "no-auth"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    auth = request.param == "auth"
    with LocalS3Server(
        tmp_path_factory.mktemp("ais"),
        access_key=TEST_ACCESS_KEY,
        secret_key=TEST_SECRET_KEY,
        auth=auth,
        durable=False,
    ) as server:
        info = ServerInfo(
            name=f"local-{request.param}",
            endpoint_url=server.endpoint_url,
            access_key=TEST_ACCESS_KEY,
            secret_key=TEST_SECRET_KEY,
            checks_signatures=auth,
            min_part_size=0,
        )
        yield Served(info, TOKEN if auth else "")


@pytest.fixture
def sdk_env(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's settings come from the environment, as a user's would."""
    for name in ("AIS_ENDPOINT", "AIS_AUTHN_TOKEN", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    if served.token:
        monkeypatch.setenv("AIS_AUTHN_TOKEN", served.token)


@pytest.fixture
def ais(served: Served, sdk_env: None) -> Any:
    return aistore.Client(served.info.endpoint_url)


@pytest.fixture
def s3(served: Served) -> Iterator[Any]:
    client = boto3_client(served.info)
    yield client
    client.close()


@pytest.fixture
def bck(ais: Any, bucket_name: str) -> Any:
    return ais.bucket(bucket_name).create()


def run_notebook(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], dict[str, Any]]:
    """Every cell, in order, in one namespace, as written but for the server address;
    what each printed."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    printed = []
    for index, (code, _) in enumerate(CELLS):
        if index == SETUP:
            assert code.count(SEED_URL) == 1
            code = code.replace(SEED_URL, f"ais_url = {endpoint!r}")
        capsys.readouterr()
        exec(compile(code, f"<notebook cell {index + 1}>", "exec"), namespace)
        printed.append(capsys.readouterr().out)
    return printed, namespace


def bucket_names(s3: Any) -> set[str]:
    return {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}


def s3_status(s3: Any, **call: Any) -> int:
    try:
        return int(s3.head_object(**call)["ResponseMetadata"]["HTTPStatusCode"])
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


def test_notebook_runs_as_written_twice(
    served: Served, sdk_env: None, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run creates the bucket; the second meets it (409, exist_ok) and
    replaces each object. Every printed line is the notebook's."""
    assert NOTEBOOK_BUCKET not in bucket_names(s3)  # the first run creates it
    for _ in range(2):
        printed, namespace = run_notebook(served.info.endpoint_url, capsys)
        for cell, text in enumerate(printed):
            assert_shows(text, cell)
        assert namespace["bucket"].name == NOTEBOOK_BUCKET
        assert NOTEBOOK_BUCKET in bucket_names(s3)  # the next run meets it: 409, exist_ok
    # What the notebook made, through S3: multipart objects with their parts.
    first = b"".join(b"This is the content of part %d. " % n for n in (1, 2)) + (
        b"This is the content of part 3."
    )
    parallel = b"".join(f"Parallel part {i} content: ".encode() * 200 for i in range(1, 6))
    ordered = b"This should be first. This should be second. This should be third. "
    for key, body, parts in (
        ("my-multipart-object", first, 3),
        ("parallel-upload-object", parallel, 5),
        ("out-of-order-object", ordered, 3),
    ):
        got = s3.get_object(Bucket=NOTEBOOK_BUCKET, Key=key)
        assert got["Body"].read() == body
        assert got["ETag"].endswith(f'-{parts}"')
        assert got["ContentType"] == "binary/octet-stream"
        head = s3.head_object(Bucket=NOTEBOOK_BUCKET, Key=key, PartNumber=1)
        assert head["PartsCount"] == parts
    assert s3.list_multipart_uploads(Bucket=NOTEBOOK_BUCKET).get("Uploads", []) == []


def test_create_existing_bucket_is_409_unless_exist_ok(ais: Any, bck: Any) -> None:
    with pytest.raises(ErrBckAlreadyExists) as caught:
        ais.bucket(bck.name).create()
    assert caught.value.status_code == 409
    assert f"ais://{bck.name}" in caught.value.message
    assert ais.bucket(bck.name).create(exist_ok=True).name == bck.name


def test_abort_discards_the_upload(bck: Any, s3: Any) -> None:
    obj = bck.object("aborted")
    mpu = obj.multipart_upload().create()
    mpu.add_part(1).put_content(b"staged part")
    assert mpu.abort().status_code == 200
    assert s3.list_multipart_uploads(Bucket=bck.name).get("Uploads", []) == []
    with pytest.raises(ErrObjNotFound) as caught:
        mpu.complete()  # the upload is gone
    assert caught.value.status_code == 404
    assert s3_status(s3, Bucket=bck.name, Key="aborted") == 404


def test_gap_in_part_numbers_is_400_and_the_upload_stays(bck: Any, s3: Any) -> None:
    obj = bck.object("gappy")
    mpu = obj.multipart_upload().create()
    mpu.add_part(1).put_content(b"one ")
    mpu.add_part(3).put_content(b"three")
    with pytest.raises(AISError) as caught:
        mpu.complete()
    assert type(caught.value) is AISError
    assert caught.value.status_code == 400
    assert "1..N" in caught.value.message
    assert s3_status(s3, Bucket=bck.name, Key="gappy") == 404
    listed = s3.list_parts(Bucket=bck.name, Key="gappy", UploadId=mpu.upload_id)
    assert [part["PartNumber"] for part in listed["Parts"]] == [1, 3]
    mpu.add_part(2).put_content(b"two ")  # the gap filled: the same upload completes
    assert mpu.complete().status_code == 200
    assert obj.get_reader().read_all() == b"one two three"


def test_repeated_or_never_uploaded_part_is_400(bck: Any) -> None:
    mpu = bck.object("repeats").multipart_upload().create()
    mpu.add_part(1).put_content(b"one")
    mpu.add_part(1).put_content(b"one again")
    with pytest.raises(AISError) as repeated:
        mpu.complete()  # lists [1, 1]
    assert repeated.value.status_code == 400
    mpu.parts = [1, 2]
    mpu.add_part(2)  # named, never sent
    mpu.parts = [1, 2]
    with pytest.raises(AISError) as missing:
        mpu.complete()
    assert missing.value.status_code == 400
    assert "never uploaded" in missing.value.message
    assert mpu.abort().status_code == 200


def test_partial_part_list_is_501_and_nothing_is_stored(bck: Any, s3: Any) -> None:
    mpu = bck.object("partial").multipart_upload().create()
    for number in (1, 2, 3):
        mpu.add_part(number).put_content(b"part %d" % number)
    mpu.parts = [2, 1]  # part 3 was uploaded but is not listed
    with pytest.raises(AISError) as caught:
        mpu.complete()
    assert caught.value.status_code == 501
    assert "[3]" in caught.value.message
    assert s3_status(s3, Bucket=bck.name, Key="partial") == 404
    listed = s3.list_parts(Bucket=bck.name, Key="partial", UploadId=mpu.upload_id)
    assert len(listed["Parts"]) == 3


def test_missing_bucket_and_object_raise_the_sdk_classes(ais: Any, bck: Any) -> None:
    missing = ais.bucket("no-such-bucket-here")
    with pytest.raises(ErrBckNotFound) as no_bucket:
        missing.object("o").get_reader().read_all()
    assert no_bucket.value.status_code == 404
    with pytest.raises(ErrBckNotFound):
        missing.delete()
    missing.delete(missing_ok=True)
    with pytest.raises(ErrObjNotFound) as no_object:
        bck.object("absent").get_reader().read_all()
    assert no_object.value.status_code == 404
    assert f"ais://{bck.name}/absent" in no_object.value.message
    with pytest.raises(ErrObjNotFound):
        bck.object("absent").delete()
    with pytest.raises(AISError) as head:
        bck.object("absent").head()
    assert head.value.status_code == 404


def test_destroy_deletes_the_bucket_with_its_content(ais: Any, bck: Any, s3: Any) -> None:
    bck.object("a").get_writer().put_content(b"a")
    s3.put_object(Bucket=bck.name, Key="b/c", Body=b"bc")
    bck.object("open").multipart_upload().create().add_part(1).put_content(b"x")
    bck.delete()
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=bck.name)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert bck.name not in {b.name for b in ais.cluster().list_buckets()}


def test_sdk_writes_s3_reads(bck: Any, s3: Any) -> None:
    data = b"written through AIStore's API"
    bck.object("dir/sdk.bin").get_writer().put_content(data)
    got = s3.get_object(Bucket=bck.name, Key="dir/sdk.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert got["ContentType"] == "binary/octet-stream"  # never the SDK's JSON label
    # The checksum S3 keeps for a PUT that sent none: CRC64NVME, full object.
    assert got["ChecksumCRC64NVME"] == checksum_header("crc64nvme", data)[1]
    assert bck.object("dir/sdk.bin").get_reader(byte_range="bytes=8-14").read_all() == data[8:15]


def test_s3_writes_sdk_reads(ais: Any, bck: Any, s3: Any) -> None:
    s3.put_object(Bucket=bck.name, Key="plain", Body=b"from S3", ContentType="text/plain")
    upload = s3.create_multipart_upload(Bucket=bck.name, Key="multi")["UploadId"]
    etags = [
        s3.upload_part(
            Bucket=bck.name, Key="multi", UploadId=upload, PartNumber=n, Body=b"part%d " % n
        )["ETag"]
        for n in (1, 2)
    ]
    s3.complete_multipart_upload(
        Bucket=bck.name,
        Key="multi",
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]
        },
    )
    assert bck.object("plain").get_reader().read_all() == b"from S3"
    assert bck.object("multi").get_reader(direct=True).read_all() == b"part1 part2 "
    props = bck.object("plain").head()
    assert props.size == 7
    assert props.checksum_value == hashlib.md5(b"from S3").hexdigest()
    entries = bck.list_objects().entries
    assert [(e.name, e.size) for e in entries] == [("multi", 12), ("plain", 7)]
    assert ais.cluster().is_ready()


def test_listing_pages_and_prefix(bck: Any) -> None:
    for name in ("p/1", "p/2", "p/3", "q/1", "p/4"):
        bck.object(name).get_writer().put_content(name.encode())
    page = bck.list_objects(prefix="p/", page_size=3)
    assert [e.name for e in page.entries] == ["p/1", "p/2", "p/3"]
    assert page.continuation_token == "p/3"
    rest = bck.list_objects(prefix="p/", page_size=3, continuation_token=page.continuation_token)
    assert [e.name for e in rest.entries] == ["p/4"]
    assert rest.continuation_token == ""
    assert [e.name for e in bck.list_objects_iter(prefix="p/", page_size=1)] == [
        "p/1",
        "p/2",
        "p/3",
        "p/4",
    ]
    assert [e.name for e in bck.list_all_objects(page_size=2)] == [
        "p/1",
        "p/2",
        "p/3",
        "p/4",
        "q/1",
    ]


def raw(
    served: Served, method: str, path: str, body: bytes | None = None, **headers: str
) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment
        return session.request(
            method,
            served.info.endpoint_url + path,
            data=body,
            headers={"Content-Type": "application/json", **served.auth_headers, **headers},
            timeout=30,
        )


BAD_INPUT = [
    ("POST", "/v1/buckets/{b}", b"not json", 400),
    ("POST", "/v1/buckets/{b}", b'{"action": "bogus"}', 400),
    ("POST", "/v1/buckets/Upper_Case", b'{"action": "create-bck"}', 400),
    ("POST", "/v1/buckets/bad%24name", b'{"action": "create-bck"}', 400),
    ("POST", "/v1/buckets/ab", b'{"action": "create-bck"}', 400),
    ("DELETE", "/v1/buckets/{b}", None, 400),
    ("GET", "/v1/buckets/{b}", b'{"action": "list", "value": {"pagesize": "x"}}', 400),
    ("GET", "/v1/buckets/{b}", b'{"action": "list", "value": []}', 400),
    ("PUT", "/v1/objects/{b}/o?uploadId=nope&partNumber=1", b"data", 404),
    ("POST", "/v1/objects/{b}/o?uploadId=nope", b'{"action": "mpt-complete", "value": "x"}', 400),
    ("POST", "/v1/objects/{b}/o", None, 400),
    ("POST", "/v1/objects/{b}/o", b'{"action": "promote"}', 400),
    ("GET", "/v1/objects/{b}/%ff", None, 400),
    ("GET", "/v1/objects/{b}/", None, 400),
    ("GET", "/v1/nothing", None, 400),
    ("GET", "/v1/daemon?what=stats", None, 400),
    ("PUT", "/v1/objects/no-such-bucket-here/o", b"data", 404),
    ("GET", "/v1/objects/{b}/small", None, 416),
    ("GET", "/v1/objects/{b}/small?provider=gcp", None, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_INPUT)
def test_bad_input_is_a_4xx_in_aistore_form(
    served: Served, bck: Any, s3: Any, method: str, path: str, body: bytes | None, status: int
) -> None:
    bck.object("small").get_writer().put_content(b"abc")
    headers = {"Range": "bytes=50-60"} if path.endswith("/small") else {}
    reply = raw(served, method, path.format(b=bck.name), body, **headers)
    assert reply.status_code == status, reply.text
    error = reply.json()
    assert error["status"] == status
    assert error["message"]
    # Nothing stored, nothing lost.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bck.name).get("Contents", [])] == ["small"]
    assert s3.list_multipart_uploads(Bucket=bck.name).get("Uploads", []) == []
    assert {"Upper_Case", "bad$name", "ab"}.isdisjoint(bucket_names(s3))


def test_bearer_token_is_checked(served: Served, bck: Any) -> None:
    if not served.token:
        assert raw(served, "HEAD", f"/v1/buckets/{bck.name}", Authorization="").status_code == 200
        return
    wrong = aistore_token(TEST_ACCESS_KEY, "not-the-secret")
    for headers in ({"Authorization": ""}, {"Authorization": f"Bearer {wrong}"}):
        reply = raw(served, "GET", f"/v1/objects/{bck.name}/x", **headers)
        assert reply.status_code == 401
        assert reply.json()["status"] == 401
        assert wrong not in reply.text
        assert TEST_SECRET_KEY not in reply.text
    assert raw(served, "GET", "/v1/health", Authorization="").status_code == 200


def test_serve_prints_how_to_point_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["serve", "--root", str(tmp_path / "root"), "--port", "0", "--no-fsync"]
    server = ServeProcess(args, tmp_path / "serve.log", module=CLI_MODULE)
    try:
        printed = dict(line.split(": ", 1) for line in server.output.splitlines() if ": " in line)
        lines = server.output.splitlines()
        assert f"AIStore SDK: AIS_ENDPOINT={server.endpoint_url}" in lines
        token = aistore_token(printed["access key"], printed["secret key"])
        assert f"AIS_AUTHN_TOKEN={token}" in lines
        monkeypatch.setenv("NO_PROXY", "*")
        client = aistore.Client(server.endpoint_url, token=token)
        assert client.bucket("from-serve").create().name == "from-serve"
    finally:
        assert server.terminate() == 0


def test_serve_never_prints_a_token_for_a_given_secret(tmp_path: Path) -> None:
    secret = "given-secret-Yy7Kk2"
    args = ["serve", "--root", str(tmp_path / "root"), "--port", "0", "--no-fsync"]
    args += ["--access-key", "GIVENKEY", "--secret-key", secret]
    server = ServeProcess(args, tmp_path / "serve.log", module=CLI_MODULE)
    assert server.terminate() == 0
    assert f"AIStore SDK: AIS_ENDPOINT={server.endpoint_url}" in server.output.splitlines()
    assert aistore_token("GIVENKEY", secret) not in server.output
    assert secret not in server.output
    assert "AIS_AUTHN_TOKEN: s3_asyncio_client.server.aistore_token(" in server.output
