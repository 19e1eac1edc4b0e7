"""Every example of the multipart documentation, run as written, on real servers.

The document (tests/data/seed_multipart_docs.md) is the API contract. Its code blocks
are executed unchanged; the tests only supply what a reader supplies: the input files
in the working directory, the buckets, and the endpoint through ``AWS_ENDPOINT_URL``.
The literal credentials "your-access-key"/"your-secret-key" are a real identity on
the SeaweedFS test server (moto checks no signatures).

Two liberties, both stated where they are taken: the resume example uses
``MultipartUpload`` without importing it, so the namespace provides it (as the
document's own module would); and the examples' top-level ``asyncio.run`` lines run in
their own tests rather than on every exec.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from faultproxy import FaultProxy, FaultRule, matching
from servers import ServerInfo

DOC = (Path(__file__).parent.parent / "data" / "seed_multipart_docs.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)
MiB = 1024 * 1024
EXAMPLE_KEYS = "your-access-key", "your-secret-key"

# (function, bucket, key, local file, file size): what each example uploads.
EXAMPLES = {
    "upload_large_file": (
        "video-storage",
        "uploads/large_video.mp4",
        "large_video.mp4",
        21 * MiB + 3,
    ),
    "manual_multipart_upload": (
        "data-storage",
        "datasets/large_dataset.zip",
        "dataset.zip",
        21 * MiB,
    ),
    "upload_with_progress": (
        "backups",
        "archives/large_backup.tar.gz",
        "large_backup.tar.gz",
        17 * MiB,
    ),
    "parallel_multipart_upload": (
        "large-files",
        "parallel_upload/huge_file.bin",
        "huge_file.bin",
        33 * MiB + 1,
    ),
    "resumable_upload": ("critical-data", "backups/critical_data.db", "critical_data.db", 21 * MiB),
    "memory_efficient_upload": (
        "enormous-files",
        "uploads/enormous_file.bin",
        "enormous_file.bin",
        51 * MiB,
    ),
    "robust_multipart_upload": (
        "important-files",
        "uploads/important_file.zip",
        "important_file.zip",
        21 * MiB + 5,
    ),
    "optimized_upload": (
        "optimized-uploads",
        "datasets/massive_dataset.tar.gz",
        "massive_dataset.tar.gz",
        12 * MiB,
    ),
}


def test_document_is_the_unchanged_contract() -> None:
    """The copy under tests/data is byte-for-byte the published document."""
    digest = hashlib.sha256(DOC.encode()).hexdigest()
    assert digest == "5009706ea8f381a51db3fecba789ac4af6e38620fa6d4ec433ff15121b4da508"


def test_document_has_the_expected_examples() -> None:
    defined = {
        node.name
        for block in BLOCKS
        for node in ast.parse(block).body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
    }
    assert set(EXAMPLES) | {"batch_multipart_processor", "calculate_optimal_part_size"} == defined


def _definitions() -> str:
    """The document as one module: its imports and definitions, no top-level runs."""
    kept = []
    for block in BLOCKS:
        for node in ast.parse(block).body:
            if isinstance(
                node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef
            ):
                kept.append(ast.get_source_segment(block, node) or "")
    return "\n".join(kept)


def _namespace() -> dict[str, Any]:
    from s3_asyncio_client import MultipartUpload

    namespace: dict[str, Any] = {"__name__": "seed_docs", "MultipartUpload": MultipartUpload}
    exec(compile(_definitions(), "seed_multipart_docs.md", "exec"), namespace)
    return namespace


def _boto(info: ServerInfo, endpoint: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint or info.endpoint_url,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture
def workdir(s3_server: ServerInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd with the examples' input files; endpoint and buckets ready."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    s3 = _boto(s3_server)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket, *_ in EXAMPLES.values():
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
            existing.add(bucket)
    return tmp_path


def _input_file(workdir: Path, function: str) -> bytes:
    """Write the local file that ``function`` uploads; return its content."""
    _, _, filename, size = EXAMPLES[function]
    data = os.urandom(size)
    (workdir / filename).write_bytes(data)
    return data


def _stored(info: ServerInfo, bucket: str, key: str) -> bytes:
    body: bytes = _boto(info).get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _assert_no_uploads_left(info: ServerInfo, bucket: str) -> None:
    uploads = _boto(info).list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []


def test_upload_large_file_block_runs_as_written(
    workdir: Path, s3_server: ServerInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first block ends in ``asyncio.run(upload_large_file())``: exec it whole."""
    data = _input_file(workdir, "upload_large_file")
    exec(compile(BLOCKS[0], "seed_multipart_docs.md", "exec"), {"__name__": "__main__"})
    bucket, key, _, size = EXAMPLES["upload_large_file"]
    assert _stored(s3_server, bucket, key) == data
    out = capsys.readouterr().out
    assert f"Uploading {size:,} bytes..." in out
    assert re.search(r'ETag: "[0-9a-f]{32}-3"', out)
    head = _boto(s3_server).head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {
        "uploaded-by": "video-processor",
        "original-filename": "large_video.mp4",
    }


@pytest.mark.parametrize(
    "function",
    [
        "manual_multipart_upload",
        "upload_with_progress",
        "parallel_multipart_upload",
        "resumable_upload",
        "memory_efficient_upload",
        "robust_multipart_upload",
    ],
)
def test_example(
    function: str, workdir: Path, s3_server: ServerInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket, key, _, size = EXAMPLES[function]
    data = _input_file(workdir, function)
    namespace = _namespace()
    result = asyncio.run(namespace[function]())
    assert _stored(s3_server, bucket, key) == data
    assert result["etag"].strip('"').endswith(f"-{result['parts_count']}")
    assert result["size"] == size
    _assert_no_uploads_left(s3_server, bucket)
    assert "failed" not in capsys.readouterr().out.lower()


# The example reads the whole file with open(...).read() and never closes it: the
# ResourceWarning is the example's, not the library's.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_optimized_upload(
    workdir: Path, s3_server: ServerInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket, key, _, size = EXAMPLES["optimized_upload"]
    data = _input_file(workdir, "optimized_upload")
    namespace = _namespace()
    assert namespace["calculate_optimal_part_size"](size) == 5 * MiB
    assert namespace["calculate_optimal_part_size"](100 * 1024**3) == 11 * MiB
    result = asyncio.run(namespace["optimized_upload"]())
    assert _stored(s3_server, bucket, key) == data
    assert result["parts_count"] == 3
    assert "Estimated parts: 3" in capsys.readouterr().out


def test_batch_processor_runs_as_a_script(
    workdir: Path,
    s3_server: ServerInfo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The last block runs under ``if __name__ == "__main__"``, credentials from env."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    files = {
        "large_files/notes.txt": b"small text file\n",
        "large_files/nested/deeper/data with space.json": b'{"a": 1}',
        "large_files/nested/big.bin": os.urandom(100 * MiB + 1),
    }
    for name, content in files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(content)
    s3 = _boto(s3_server)
    if "batch-processed" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket="batch-processed")

    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(_definitions() + "\n" + BLOCKS[-1], "seed_multipart_docs.md", "exec"), namespace)

    for name, content in files.items():
        key = "processed/" + name.removeprefix("large_files/")
        assert _stored(s3_server, "batch-processed", key) == content
    head = s3.head_object(Bucket="batch-processed", Key="processed/nested/big.bin")
    assert head["ETag"].strip('"').endswith("-13")  # 8 MiB parts: multipart was used
    assert head["Metadata"]["processing-method"] == "multipart"
    out = capsys.readouterr().out
    assert "Successful: 3" in out
    assert "Failed: 0" in out


def test_resumable_upload_resumes_after_interruption(
    workdir: Path,
    s3_server: ServerInfo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First run: part 2 keeps failing (500 from a proxy), the checkpoint keeps part 1.
    Second run, as written: it skips part 1 and completes byte-exact."""
    bucket, key, _, _ = EXAMPLES["resumable_upload"]
    data = _input_file(workdir, "resumable_upload")
    part_2 = matching("PUT", query_has="partNumber", path_contains="critical_data")
    namespace = _namespace()
    with FaultProxy(s3_server.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        proxy.set_rules(
            [FaultRule("status500", match=lambda m, p: part_2(m, p) and "partNumber=2" in p)]
        )
        with pytest.raises(Exception, match="InternalError"):
            asyncio.run(namespace["resumable_upload"]())
        assert (workdir / "upload_checkpoint.pkl").exists()
        proxy.set_rules([])
        proxy.reset_stats()
        asyncio.run(namespace["resumable_upload"]())
        sent = proxy.stats.request_bytes_forwarded
    assert _stored(s3_server, bucket, key) == data
    assert sent < len(data) - 9 * MiB  # part 1 (10 MiB) was not sent again
    out = capsys.readouterr().out
    assert "Part 1 already uploaded, skipping" in out
    assert not (workdir / "upload_checkpoint.pkl").exists()
