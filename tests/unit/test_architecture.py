"""The layers, checked from the source: every import of every module (module-level,
type-only under ``if TYPE_CHECKING``, inside functions, relative or absolute, and
``importlib.import_module("...")`` with a literal name) must be an edge of the table
below; any other edge fails with its file and line.

From the top: cli -> sync -> client -> engine -> transport -> config, credentials,
exceptions -> protocol. The facades (cli, sync) use only the public APIs (package
``__all__``) of what they import; server is a side branch on protocol alone.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import s3_asyncio_client

PACKAGE = Path(s3_asyncio_client.__file__).parent
NAME = PACKAGE.name

# Who may import whom. Rows: the importing layer, a folder of the package or a
# module at its root. Entries: "x/*" any module of folder x; "x/__init__" only the
# package x itself, that is its public API (``__all__``, no private names); "x/m"
# the one module x/m; "m" the root module m. A layer may always import itself.
ALLOWED_EDGES: dict[str, frozenset[str]] = {
    # Sans-IO, shared by client and server: nothing of ours, errors of its own.
    "protocol": frozenset(),
    "exceptions": frozenset(),
    "config": frozenset({"exceptions", "protocol/*"}),
    "credentials": frozenset({"exceptions", "config", "protocol/*"}),
    "transport": frozenset({"exceptions", "config", "protocol/*"}),
    # The engine sees the S3 operations only through its ports, never the client
    # or the session; files are read through the transport's file regions.
    "engine": frozenset(
        {"exceptions", "config", "protocol/*", "transport/file_region", "transport/bodies"}
    ),
    "client": frozenset(
        {"exceptions", "config", "credentials", "protocol/*", "transport/*", "engine/*"}
    ),
    # The facades: only public APIs.
    "sync": frozenset({"exceptions", "config", "client/__init__"}),
    "cli": frozenset(
        {"exceptions", "config", "client/__init__", "sync/__init__", "server/__init__"}
    ),
    # The embedded server: a side branch on the protocol, no client code at all.
    "server": frozenset({"protocol/*"}),
    # The top-level wiring: the public API and the pytest plugin.
    "__init__": frozenset(
        {"exceptions", "config", "client/__init__", "sync/__init__", "protocol/lazy"}
    ),
    "testing": frozenset({"client/__init__", "server/__init__"}),
    # A test aid on its own: the standard library only.
    "loopcheck": frozenset(),
}

# Third-party packages, and the layers that may import them: a new dependency
# needs a row, and aiohttp stays at the two HTTP boundaries.
THIRD_PARTY: dict[str, frozenset[str]] = {
    "aiohttp": frozenset({"transport", "server"}),
    "yarl": frozenset({"transport", "server"}),
    "crc32c": frozenset({"protocol"}),
    "awscrt": frozenset({"protocol"}),
    "uvloop": frozenset({"sync"}),
    "click": frozenset({"cli"}),
    "rich": frozenset({"cli"}),
    "pytest": frozenset({"testing"}),
    "pytest_asyncio": frozenset({"testing"}),
    "_typeshed": frozenset(ALLOWED_EDGES),  # type stubs: no code at run time
}

# protocol/ is sans-IO: no event loop, no sockets, no threads, no clock.
NO_IO = {"asyncio", "socket", "selectors", "ssl", "threading", "time", "concurrent"}


@dataclass(frozen=True)
class Import:
    """One imported module: ``path``:``line`` imports ``module`` (``names`` from it)."""

    path: str
    line: int
    module: str
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.path}:{self.line} imports {self.module}{taken}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_ours(module: str) -> bool:
    """A module or package of this package (so ``from . import x`` is module ``x``)."""
    if module != NAME and not module.startswith(f"{NAME}."):
        return False
    base = PACKAGE.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports_of(source: str, module: str, path: str, *, package: bool = False) -> Iterator[Import]:
    """Every import in ``source``, the text of ``module``, wherever it stands."""
    here = module.split(".") if package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            plain = []
            for alias in node.names:
                if is_ours(f"{origin}.{alias.name}"):  # a submodule, imported by name
                    yield Import(path, node.lineno, f"{origin}.{alias.name}")
                else:
                    plain.append(alias.name)
            if plain or not node.names:
                yield Import(path, node.lineno, origin, tuple(plain))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(path, node.lineno, node.args[0].value)


def modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, module_name(path)


def all_imports() -> list[Import]:
    return [
        found
        for path, module in modules()
        for found in imports_of(
            path.read_text(),
            module,
            path.relative_to(PACKAGE).as_posix(),
            package=path.name == "__init__.py",
        )
    ]


def layer_of(module: str) -> str:
    """``s3_asyncio_client.engine.upload`` -> "engine"; the package itself -> "__init__"."""
    parts = module.split(".")[1:]
    return parts[0] if parts else "__init__"


def target_of(module: str) -> str:
    """The table's name for a module: "engine/upload", "client/__init__", "config"."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    folder = PACKAGE / parts[0]
    if len(parts) == 1 and folder.is_dir():
        return f"{parts[0]}/__init__"
    return "/".join(parts)


def public_names(module: str) -> set[str]:
    package = sys.modules.get(module) or __import__(module, fromlist=["__all__"])
    return set(getattr(package, "__all__", ()))


def edge_violation(found: Import) -> str | None:
    """Why ``found`` breaks the table, or None when it is an allowed edge."""
    source = layer_of(module_name(PACKAGE / found.path))
    if source not in ALLOWED_EDGES:
        return f"{found.path} is in no layer: give {source!r} a row in ALLOWED_EDGES"
    if not is_ours(found.module):
        top = found.module.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            if source == "protocol" and top in NO_IO:
                return f"{found}: protocol/ does no I/O"
            return None
        if source not in THIRD_PARTY.get(top, frozenset()):
            return f"{found}: {top} is not for {source}/ (see THIRD_PARTY)"
        return None
    target = layer_of(found.module)
    if target == source and source in {p.name for p in PACKAGE.iterdir() if p.is_dir()}:
        return None  # within one folder
    name = target_of(found.module)
    allowed = ALLOWED_EDGES[source]
    if name not in allowed and f"{target}/*" not in allowed:
        return f"{found}: {source} -> {name} is not an allowed edge"
    if name.endswith("/__init__") and f"{target}/*" not in allowed:
        hidden = set(found.names) - public_names(found.module)
        if hidden:
            return f"{found}: {', '.join(sorted(hidden))} not in {found.module}.__all__"
    return None


def test_every_module_is_in_a_layer() -> None:
    unknown = {
        module_name(path) for path, module in modules() if layer_of(module) not in ALLOWED_EDGES
    }
    assert unknown == set()


@pytest.mark.parametrize("layer", sorted(ALLOWED_EDGES))
def test_layer_imports_only_allowed_edges(layer: str) -> None:
    violations = [
        message
        for found in all_imports()
        if layer_of(module_name(PACKAGE / found.path)) == layer
        and (message := edge_violation(found)) is not None
    ]
    assert violations == [], "\n".join(violations)


def test_the_collector_sees_every_kind_of_import() -> None:
    """Type-only, in-function, relative, absolute and dynamic imports all count."""
    source = "\n".join(
        [
            "from typing import TYPE_CHECKING",
            "from ..client import S3Client",
            "from . import fanout",
            "if TYPE_CHECKING:",
            "    from ..transport.session import Transport",
            "def later() -> None:",
            "    import s3_asyncio_client.sync.portal",
            "    from ..protocol import limits",
            "    importlib.import_module('aiohttp')",
        ]
    )
    found = list(imports_of(source, f"{NAME}.engine.upload", "engine/upload.py"))
    assert {(i.line, i.module) for i in found} == {
        (1, "typing"),
        (2, f"{NAME}.client"),
        (3, f"{NAME}.engine.fanout"),
        (5, f"{NAME}.transport.session"),
        (7, f"{NAME}.sync.portal"),
        (8, f"{NAME}.protocol.limits"),
        (9, "aiohttp"),
    }
    messages = [m for i in found if (m := edge_violation(i))]
    assert messages == [
        "engine/upload.py:2 imports s3_asyncio_client.client (S3Client): "
        "engine -> client/__init__ is not an allowed edge",
        "engine/upload.py:5 imports s3_asyncio_client.transport.session (Transport): "
        "engine -> transport/session is not an allowed edge",
        "engine/upload.py:7 imports s3_asyncio_client.sync.portal: "
        "engine -> sync/portal is not an allowed edge",
        "engine/upload.py:9 imports aiohttp: aiohttp is not for engine/ (see THIRD_PARTY)",
    ]


def test_a_facade_takes_only_public_names() -> None:
    found = Import("sync/fluent.py", 3, f"{NAME}.client", ("S3Client", "_hidden"))
    assert edge_violation(found) == (
        "sync/fluent.py:3 imports s3_asyncio_client.client (S3Client, _hidden): "
        "_hidden not in s3_asyncio_client.client.__all__"
    )
    assert edge_violation(Import("sync/fluent.py", 3, f"{NAME}.client.s3client")) == (
        "sync/fluent.py:3 imports s3_asyncio_client.client.s3client: "
        "sync -> client/s3client is not an allowed edge"
    )


def own_private_names(folder: str) -> set[str]:
    """The ``_names`` a folder defines: functions, classes, attributes set on objects."""
    names = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


@pytest.mark.parametrize("folder", ["sync", "cli"])
def test_facades_touch_no_private_attribute_of_the_layers_below(folder: str) -> None:
    """``x._name`` in a facade names something the facade itself defines, never a
    private attribute of the async client (``client._call``) or its parts."""
    own = own_private_names(folder)
    touched = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} uses .{node.attr}"
        for path in (PACKAGE / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr not in own
    ]
    assert touched == []


def test_the_portal_submits_work_one_way() -> None:
    """Calls, context managers, iterators, cleanups and the shutdown all reach the
    loop through ``Portal._begin`` (a Handoff); nothing else schedules coroutines."""
    begun, other = [], []
    for path in (PACKAGE / "sync").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "begin":
                begun.append(path.name)
            elif isinstance(node, ast.Attribute) and node.attr in (
                "run_coroutine_threadsafe",
                "ensure_future",
                "run_until_complete",
            ):
                other.append(f"{path.name} {node.attr}")
    assert sorted(begun) == ["portal.py", "portal.py"]  # _begin: on the loop, or from a thread
    assert other == ["portal.py run_until_complete"]  # the loop thread's own async-gen shutdown


def test_only_transport_and_server_import_aiohttp() -> None:
    users = {i.path for i in all_imports() if i.module.split(".")[0] == "aiohttp"}
    assert {path.split("/")[0] for path in users} <= {"transport", "server"}, users
    assert "transport/session.py" in users


def test_exceptions_module_imports_nothing_foreign() -> None:
    imported = {i.module.split(".")[0] for i in all_imports() if i.path == "exceptions.py"}
    assert imported <= {"__future__", "typing"}


def test_only_transport_errors_translates_aiohttp_exceptions() -> None:
    """Foreign exceptions become S3Errors at one boundary (transport/errors.py)."""
    for path in (PACKAGE / "transport").glob("*.py"):
        text = path.read_text()
        mentions = [word for word in ("ClientError", "ServerTimeoutError") if word in text]
        assert not mentions or path.name == "errors.py", (path.name, mentions)


def test_all_is_sorted_and_importable() -> None:
    exported = s3_asyncio_client.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert getattr(s3_asyncio_client, name) is not None


def test_seed_imports_work() -> None:
    from s3_asyncio_client import MultipartUpload, S3Client  # noqa: F401
    from s3_asyncio_client.exceptions import S3Error, S3ServerError  # noqa: F401


def test_modules_stay_small() -> None:
    """400 lines a module; client/s3client.py, the whole API surface in one class (a docstring
    and a build-send-parse line per operation), may take 500."""
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        limit = 500 if path.name == "s3client.py" else 400
        assert lines <= limit, f"{path.name} has {lines} lines"


def test_typed_package() -> None:
    assert (PACKAGE / "py.typed").exists()
