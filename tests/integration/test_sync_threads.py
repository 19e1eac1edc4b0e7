"""The sync facade from many threads, across fork, and at close: byte-exact, no
deadlock (every wait has a deadline), no thread left behind."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from polling import wait_for_child
from servers import ServerInfo

from s3_asyncio_client import Client

KiB, MiB = 1024, 1024 * 1024
THREADS = 16
DEADLINE = 120.0


def make_client(server: ServerInfo) -> Client:
    return Client(
        server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
    )


def new_threads(before: set[threading.Thread], server: ServerInfo) -> list[str]:
    """Threads alive now that were not before. The embedded server runs in this
    process and grows its own executor ("asyncio_N") on demand: those are its, not
    ours (the portal's are all named "s3aio-portal-N...")."""
    new = [t for t in threading.enumerate() if t not in before]
    if server.name == "local":
        new = [t for t in new if not t.name.startswith("asyncio_")]
    return [t.name for t in new]


def portal_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("s3aio-portal")]


def run_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    """``work(i)`` in ``count`` threads started together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=DEADLINE)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), name=f"worker-{i}") for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not [t.name for t in threads if t.is_alive()], "deadlock: workers still running"
    if errors:
        raise errors[0]


def test_sixteen_threads_add_parts_of_one_upload(s3_server: ServerInfo, bucket_name: str) -> None:
    before = set(threading.enumerate())
    part_size = max(s3_server.min_part_size, 256 * KiB)
    parts = {n: os.urandom(part_size if n < THREADS else 1000) for n in range(1, THREADS + 1)}
    client = make_client(s3_server)
    try:
        obj = client.bucket(bucket_name).create().object("sixteen-parts")
        mpu = obj.multipart_upload().create()
        etags: dict[int, str] = {}

        def add(i: int) -> None:
            number = i + 1
            etags[number] = mpu.add_part(number).put_content(parts[number])["etag"]

        run_threads(add)
        assert len(portal_threads()) == 1  # one loop thread served all sixteen
        assert sorted(mpu.parts) == list(parts)
        assert len(mpu.parts) == THREADS
        response = mpu.complete()
        assert response.status_code == 200
        assert response.parts_count == THREADS
        digests = b"".join(bytes.fromhex(etags[n].strip('"')) for n in sorted(etags))
        assert response.etag == f'"{hashlib.md5(digests).hexdigest()}-{THREADS}"'
        assert obj.get_reader().read_all() == b"".join(parts[n] for n in sorted(parts))
    finally:
        client.close()
    assert new_threads(before, s3_server) == []


def test_sixteen_threads_each_put_and_get(s3_server: ServerInfo, bucket_name: str) -> None:
    before = set(threading.enumerate())
    client = make_client(s3_server)
    try:
        bucket = client.bucket(bucket_name).create()

        def round_trip(i: int) -> None:
            obj = bucket.object(f"thread-{i}")
            for size in (0, 1, 64 * KiB + i, 2 * MiB + i):
                data = os.urandom(size)
                obj.put_content(data)
                assert obj.get_reader().read_all() == data
                with obj.get_reader().raw() as raw:
                    assert raw.read() == data
                assert obj.head().size == size

        run_threads(round_trip)
        assert len(bucket.list_objects(prefix="thread-")) == THREADS
    finally:
        client.close()
    assert new_threads(before, s3_server) == []


def connections_to(port: int) -> int:
    """TCP connections this process holds to ``port`` (client side only: the embedded
    server's own sockets in this process have ``port`` as their local port)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    count = 0
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port, inode = int(fields[2].rsplit(":", 1)[1], 16), fields[9]
        count += remote_port == port and inode in inodes
    return count


def test_no_thread_or_connection_outlives_close(
    s3_server: ServerInfo, bucket_name: str, tmp_path: Path
) -> None:
    """File uploads hand blocking reads to the portal's executor: those threads, the
    loop thread and the connections (one held by a stream left open, one idle in the
    pool) end with ``close()``, not later by garbage collection; calls after it raise."""
    before = set(threading.enumerate())
    port = int(s3_server.endpoint_url.rsplit(":", 1)[1])
    connections = connections_to(port)
    path = tmp_path / "file.bin"
    path.write_bytes(os.urandom(3 * MiB))
    client = make_client(s3_server)
    obj = client.bucket(bucket_name).create().object("file.bin")
    obj.put_file(path)
    started = portal_threads()
    assert any(name.endswith(tuple(f"-io_{n}" for n in range(64))) for name in started)
    raw = obj.get_reader().raw()
    assert raw.read(10) == path.read_bytes()[:10]
    assert obj.head().size == 3 * MiB  # on a second connection, pooled afterwards
    assert connections_to(port) > connections  # the open stream's, at least
    client.close()
    client.close()  # idempotent
    assert client.closed
    assert new_threads(before, s3_server) == []
    assert connections_to(port) <= connections
    raw.close()  # closing the stream afterwards is quiet
    with pytest.raises(RuntimeError, match=r"Client\('.*'\) is closed"):
        obj.head()


def test_close_while_another_thread_reads(s3_server: ServerInfo, bucket_name: str) -> None:
    before = set(threading.enumerate())
    client = make_client(s3_server)
    obj = client.bucket(bucket_name).create().object("open-stream")
    obj.put_content(os.urandom(MiB))
    raw = obj.get_reader().raw()
    assert len(raw.read(1000)) > 0
    client.close()  # the open reply is closed by the shutdown
    raw.close()  # and closing the stream afterwards is quiet
    with pytest.raises(RuntimeError, match="is closed"):
        obj.get_reader().read_all()
    assert new_threads(before, s3_server) == []


def test_garbage_collected_client_stops_its_thread(s3_server: ServerInfo) -> None:
    client = make_client(s3_server)
    client.list_buckets()
    (name,) = portal_threads()
    thread = next(t for t in threading.enumerate() if t.name == name)
    del client
    gc.collect()
    thread.join(DEADLINE)
    assert not thread.is_alive()


def test_unclosed_client_is_closed_at_exit(s3_server: ServerInfo, bucket_name: str) -> None:
    """A script that never closes its client exits cleanly, warnings as errors."""
    script = textwrap.dedent(f"""
        from s3_asyncio_client import Client
        client = Client({s3_server.endpoint_url!r}, access_key={s3_server.access_key!r},
                        secret_key={s3_server.secret_key!r})
        obj = client.bucket({bucket_name!r}).create().object("k")
        obj.put_content(b"left open")
        stream = obj.get_reader().raw()
        print(obj.get_reader().read_all().decode())
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        # (Not -X dev: aiohttp then parses replies strictly, and moto sends two
        # Server headers.)
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=env,
    )
    outcome = (result.returncode, result.stdout, result.stderr)
    assert outcome == (0, "left open\n", ""), result.stderr


def test_forked_child_gets_a_fresh_loop_and_works(s3_server: ServerInfo, bucket_name: str) -> None:
    """The child uses the parent's Client (and a multipart upload the parent started)
    on its own loop and connections; the parent carries on afterwards."""
    part_size = max(s3_server.min_part_size, KiB)
    first, second = b"1" * part_size, b"2" * 100
    client = make_client(s3_server)
    try:
        bucket = client.bucket(bucket_name).create()
        bucket.object("parent").put_content(b"from the parent")
        mpu = bucket.object("assembled").multipart_upload().create()
        mpu.add_part(1).put_content(first)
        parent_loop_thread = portal_threads()
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # the child: report through the pipe and exit code, always _exit
            code = 1
            try:
                os.close(read_end)
                signal.alarm(int(DEADLINE))
                child = bucket.object("child")
                child.put_content(b"from the child")
                assert child.get_reader().read_all() == b"from the child"
                assert bucket.object("parent").get_reader().read_all() == b"from the parent"
                mpu.add_part(2).put_content(second)
                assert mpu.complete().status_code == 200
                client.close()
                assert portal_threads() == []
                code = 0
            except BaseException:
                os.write(write_end, traceback.format_exc().encode()[-4000:])
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            code = wait_for_child(pid, DEADLINE)
            report = pipe.read().decode()
        assert code == 0, report
        assert portal_threads() == parent_loop_thread  # the parent's loop carries on
        assert bucket.object("child").get_reader().read_all() == b"from the child"
        assert bucket.object("assembled").get_reader().read_all() == first + second
        assert mpu.parts == [1]  # the child's part 2 is in the child's memory only
    finally:
        client.close()
