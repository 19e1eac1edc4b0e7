"""The public surface: in the package and each public subpackage, ``__all__`` names every
public name, only public names, each one present, in sorted order."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

import s3_asyncio_client
from s3_asyncio_client import exceptions

PACKAGES = [
    "s3_asyncio_client",
    "s3_asyncio_client.client",
    "s3_asyncio_client.server",
    "s3_asyncio_client.sync",
]


# Bound in a module by ``from __future__ import annotations``: not an export.
FUTURE = {"annotations"}


def public_names(module: types.ModuleType) -> list[str]:
    """Names a user sees in ``dir(module)`` (lazy names included: a package may load
    them on first access), less its submodules (bound by the import system) and
    ``__future__`` features."""
    return sorted(
        name
        for name in dir(module)
        if not name.startswith("_")
        and not isinstance(getattr(module, name), types.ModuleType)
        and name not in FUTURE
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_every_public_name_and_sorted(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert exported == public_names(module)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert not exported.startswith("_"), f"{name} exports the private {exported}"
        assert hasattr(module, exported), f"{name}.__all__ names a missing {exported}"


def test_every_error_class_is_exported_from_both_places() -> None:
    classes = sorted(
        name
        for name, value in vars(exceptions).items()
        if inspect.isclass(value)
        and issubclass(value, exceptions.S3Error)
        and not name.startswith("_")
    )
    assert exceptions.__all__ == classes
    assert set(classes) <= set(s3_asyncio_client.__all__)
