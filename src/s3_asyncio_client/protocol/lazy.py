"""Module attributes loaded on first access (PEP 562), for packages whose import
should cost nothing until a name is used. Pure: it imports only when asked."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, table: Mapping[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name in ``table`` (name -> module,
    relative to ``package``) is imported on first access and kept in ``namespace``
    (the package's globals, whose ``__all__`` ``dir()`` also lists)."""

    def getattr_(name: str) -> object:
        try:
            module = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        exported = namespace.get("__all__", ())
        assert isinstance(exported, list)
        return sorted(set(namespace) | set(exported))

    return getattr_, dir_
