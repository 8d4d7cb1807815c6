"""Lazy package exports: a package names its public API without importing it until a name is used."""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module) on first use of ``name``.

    Examples
    --------
    >>> __getattr__ = lazy_exports(__name__, {"Dataset": "weaklabel.dataset"})    # doctest: +SKIP
    """
    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
