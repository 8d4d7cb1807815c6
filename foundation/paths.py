"""Paths as a reader of an output should see them: the same on every machine where that can be so."""
from __future__ import annotations

from pathlib import Path


def display_path(path: str | Path | None) -> str | None:
    """``path`` relative to the working directory when inside it (the checkout, for the committed results, which
    are written from its root), else ``~/...`` when inside the home folder, else absolute; None stays None.

    Examples
    --------
    >>> display_path(Path.cwd() / "build" / "demo")
    'build/demo'
    >>> display_path(Path.home() / ".cache" / "weaklabel")
    '~/.cache/weaklabel'
    """
    if path is None:
        return None
    resolved = Path(path).expanduser().resolve()
    for base, shown in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~")):
        try:
            inside = resolved.relative_to(base)
        except ValueError:
            continue
        return str(Path(shown) / inside) if shown else (str(inside) or ".")
    return str(resolved)
