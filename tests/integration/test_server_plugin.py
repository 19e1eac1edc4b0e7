"""The pytest plugin (pytest11 entry point): its fixtures work here without any
conftest, and in a fresh pytest process that knows nothing of this project."""

from __future__ import annotations

import urllib.request
import uuid

import pytest

from s3_asyncio_client import S3Client
from s3_asyncio_client.server import LocalS3Server

pytest_plugins = ["pytester"]


def test_server_fixture_serves(s3_local_server: LocalS3Server) -> None:
    assert s3_local_server.running
    assert s3_local_server.endpoint_url.startswith("http://127.0.0.1:")
    assert s3_local_server.root.is_dir()
    with pytest.raises(urllib.error.HTTPError) as caught:  # anonymous: refused
        urllib.request.urlopen(s3_local_server.endpoint_url + "/")
    assert caught.value.code == 403
    caught.value.close()


async def test_client_fixture_round_trip(s3_local_client: S3Client) -> None:
    bucket = "plugin-" + uuid.uuid4().hex[:8]
    await s3_local_client.create_bucket(bucket)
    await s3_local_client.put_object(bucket, "k", b"through the plugin")
    assert (await s3_local_client.get_object(bucket, "k"))["body"] == b"through the plugin"


def test_plugin_in_a_fresh_pytest(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(
        """
        import pytest

        def test_server(s3_local_server):
            assert s3_local_server.endpoint_url.startswith("http://127.0.0.1:")

        @pytest.mark.asyncio
        async def test_client(s3_local_client):
            await s3_local_client.create_bucket("fresh")
            await s3_local_client.put_object("fresh", "k", b"v")
            assert (await s3_local_client.get_object("fresh", "k"))["body"] == b"v"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)
