"""Virtual-host addressing on the embedded server: ``Host: <bucket>.localhost:PORT``
(and ``<bucket>.<domain>`` for a configured base domain) names the bucket; an IP
literal or the bare domain stays path-style. ``*.localhost`` need not resolve here:
requests go to 127.0.0.1 with the Host header the client signed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from rawhttp import Reply, request, signed
from serveprocess import CLI_MODULE, SERVER_MODULE, ServeProcess
from servers import ServerInfo, boto3_client

from s3_asyncio_client.protocol.signing import Credentials
from s3_asyncio_client.server import LocalS3Server


def to_loopback(request: Any, **_: Any) -> None:
    """botocore ``before-send``: connect to 127.0.0.1, keep the Host that was signed."""
    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc
    request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))


def virtual_client(info: ServerInfo, signature_version: str | None = None) -> Any:
    port = urlsplit(info.endpoint_url).port
    client = boto3_client(
        info,
        endpoint_url=f"http://localhost:{port}",
        addressing_style="virtual",
        signature_version=signature_version,
    )
    client.meta.events.register("before-send.s3", to_loopback)
    return client


@pytest.fixture(params=["s3v4", "s3"])
def virtual(local: ServerInfo, request: pytest.FixtureRequest) -> Iterator[Any]:
    client = virtual_client(local, request.param)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def path_style(local: ServerInfo) -> Iterator[Any]:
    client = boto3_client(local)
    try:
        yield client
    finally:
        client.close()


def at_host(server: ServerInfo | LocalS3Server, method: str, path: str, host: str) -> Reply:
    """A SigV4 request signed for ``host`` (port included), sent to 127.0.0.1."""
    port = urlsplit(server.endpoint_url).port
    credentials = Credentials(server.access_key, server.secret_key)
    return request(
        server.endpoint_url,
        method,
        path,
        credentials=credentials,
        headers={"host": f"{host}:{port}"},
    )


def test_boto3_virtual_host(virtual: Any, path_style: Any) -> None:
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    virtual.create_bucket(Bucket=bucket)
    virtual.put_object(Bucket=bucket, Key="dir/a b+ü", Body=b"virtual", Metadata={"m": "v"})
    got = virtual.get_object(Bucket=bucket, Key="dir/a b+ü")
    assert (got["Body"].read(), got["Metadata"]) == (b"virtual", {"m": "v"})
    listed = virtual.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+ü"]
    assert path_style.get_object(Bucket=bucket, Key="dir/a b+ü")["Body"].read() == b"virtual"
    upload = virtual.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = virtual.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"1")
    virtual.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    virtual.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "dir/a b+ü"}]})
    assert [o["Key"] for o in path_style.list_objects_v2(Bucket=bucket)["Contents"]] == ["mp"]
    virtual.delete_object(Bucket=bucket, Key="mp")
    virtual.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in path_style.list_buckets()["Buckets"]]


def test_presigned_virtual_host(local: ServerInfo, path_style: Any) -> None:
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    path_style.create_bucket(Bucket=bucket)
    path_style.put_object(Bucket=bucket, Key="k", Body=b"shared")
    for version in ("s3v4", "s3"):
        client = virtual_client(local, version)
        try:
            url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
        finally:
            client.close()
        parts = urlsplit(url)
        assert parts.netloc.startswith(f"{bucket}.localhost:")
        reply = request(
            local.endpoint_url,
            "GET",
            f"{parts.path}?{parts.query}",
            unsigned={"host": parts.netloc},
        )
        assert (reply.status, reply.body) == (200, b"shared"), version
        # The same URL for another bucket's Host does not verify.
        other = parts.netloc.replace(bucket, "other-bucket")
        reply = request(
            local.endpoint_url, "GET", f"{parts.path}?{parts.query}", unsigned={"host": other}
        )
        assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")


def test_browser_post_virtual_host(local: ServerInfo, path_style: Any) -> None:
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    path_style.create_bucket(Bucket=bucket)
    client = virtual_client(local, "s3v4")
    try:
        form = client.generate_presigned_post(bucket, "posted/${filename}", ExpiresIn=60)
    finally:
        client.close()
    parts = urlsplit(form["url"])
    assert parts.netloc.startswith(f"{bucket}.localhost:")
    files = [*((n, (None, v)) for n, v in form["fields"].items()), ("file", ("f.txt", b"vh"))]
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment for 127.0.0.1
        reply = session.post(
            f"{local.endpoint_url}/", files=files, headers={"Host": parts.netloc}, timeout=30
        )
    assert reply.status_code == 204, reply.text
    assert reply.headers["Location"] == f"http://{parts.netloc}/posted/f.txt"
    assert path_style.get_object(Bucket=bucket, Key="posted/f.txt")["Body"].read() == b"vh"


def test_hosts_that_stay_path_style(local: ServerInfo) -> None:
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    assert signed(local, "PUT", f"/{bucket}").status == 200
    assert signed(local, "PUT", f"/{bucket}/k", body=b"path").status == 200
    for host in ("localhost", "127.0.0.1"):
        assert at_host(local, "GET", f"/{bucket}/k", host).body == b"path"
    assert at_host(local, "GET", "/k", f"{bucket}.localhost").body == b"path"
    reply = at_host(local, "GET", "/k", "no-such-bucket.localhost")
    assert (reply.status, reply.code) == (404, "NoSuchBucket")


def test_configured_domain(tmp_path: Path) -> None:
    with LocalS3Server(tmp_path / "d", domain="s3.example.test") as server:
        assert signed(server, "PUT", "/dom").status == 200
        assert at_host(server, "PUT", "/k", "dom.s3.example.test").status == 200
        assert at_host(server, "GET", "/dom/k", "s3.example.test").status == 200
        assert signed(server, "GET", "/dom/k").status == 200
        # Under another domain ``dom.localhost`` is a plain host name: path-style.
        reply = at_host(server, "GET", "/k", "dom.localhost")
        assert (reply.status, reply.code) == (404, "NoSuchBucket")


@pytest.mark.parametrize("module", [SERVER_MODULE, CLI_MODULE])
def test_domain_option(module: str, tmp_path: Path) -> None:
    command = ["serve"] if module == CLI_MODULE else []
    args = [*command, "--root", str(tmp_path / "root"), "--port", "0", "--domain", "s3.test"]
    args += ["--access-key", "domain-access", "--secret-key", "domain-secret-0123"]
    server = ServeProcess(args, tmp_path / "serve.log", module=module)
    try:
        info = ServerInfo(
            name="served",
            endpoint_url=server.endpoint_url,
            access_key="domain-access",
            secret_key="domain-secret-0123",
            checks_signatures=True,
            min_part_size=0,
        )
        assert signed(info, "PUT", "/opt").status == 200
        assert at_host(info, "PUT", "/k", "opt.s3.test").status == 200
        assert signed(info, "GET", "/opt/k").status == 200
    finally:
        assert server.terminate() == 0
