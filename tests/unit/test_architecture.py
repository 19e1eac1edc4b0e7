"""The public surface and the layering rules, checked from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import s3_asyncio_client

PACKAGE = Path(s3_asyncio_client.__file__).parent


def _imports(path: Path) -> set[str]:
    """Top-level module names imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module or "")
    return names


def test_all_is_sorted_and_importable() -> None:
    exported = s3_asyncio_client.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert getattr(s3_asyncio_client, name) is not None


def test_seed_imports_work() -> None:
    from s3_asyncio_client import MultipartUpload, S3Client  # noqa: F401
    from s3_asyncio_client.exceptions import S3Error, S3ServerError  # noqa: F401


def test_protocol_does_no_io() -> None:
    """protocol/ is sans-IO: no asyncio, no aiohttp, no sockets, no clock, no client."""
    forbidden = {"asyncio", "aiohttp", "socket", "time", "yarl", "threading"}
    for path in (PACKAGE / "protocol").glob("*.py"):
        imported = {name.split(".")[0] for name in _imports(path)}
        assert not imported & forbidden, (path.name, imported & forbidden)
        for name in _imports(path):
            assert not name.startswith(
                ("s3_asyncio_client.client", "s3_asyncio_client.transport")
            ), (path.name, name)


def test_only_transport_imports_aiohttp() -> None:
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] == "aiohttp" for name in _imports(path))
    }
    allowed = {
        p.relative_to(PACKAGE).as_posix()
        for package in ("transport", "server")
        for p in (PACKAGE / package).rglob("*.py")
    }
    assert users <= allowed, users - allowed
    assert "transport/session.py" in users


def test_only_transport_errors_translates_aiohttp_exceptions() -> None:
    """Foreign exceptions become S3Errors at one boundary (transport/errors.py)."""
    for path in (PACKAGE / "transport").glob("*.py"):
        text = path.read_text()
        mentions = [word for word in ("ClientError", "ServerTimeoutError") if word in text]
        assert not mentions or path.name == "errors.py", (path.name, mentions)


def test_exceptions_module_imports_nothing_foreign() -> None:
    imported = {name.split(".")[0] for name in _imports(PACKAGE / "exceptions.py")}
    assert imported <= {"__future__", "typing"}


def test_modules_stay_small() -> None:
    """400 lines a module; client/s3client.py, the whole API surface in one class (a docstring
    and a build-send-parse line per operation), may take 500."""
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        limit = 500 if path.name == "s3client.py" else 400
        assert lines <= limit, f"{path.name} has {lines} lines"


def test_typed_package() -> None:
    assert (PACKAGE / "py.typed").exists()
