"""Generic result tables shared by the benchmark, label-quality and report outputs, and counts in words.

A table is a dict ``{"title": str, "columns": [str], "rows": [[cell]], "note": str}`` with cells that are
strings or numbers; JSON outputs carry a list of them under ``"tables"`` so any renderer can show them.
"""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in agreement: ``1 group``, ``4 groups`` (``plural`` where adding an s is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def markdown_cell(value) -> str:
    """A cell as Markdown text: floats to 3 decimals, ``|`` escaped, newlines folded."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: dict) -> str:
    """A generic table (``title``, ``columns``, ``rows``, ``note``) as GitHub Markdown."""
    lines = [f"### {table['title']}", "", "| " + " | ".join(table["columns"]) + " |",
             "|" + "---|" * len(table["columns"])]
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in table["rows"]]
    if table.get("note"):
        lines += ["", table["note"]]
    return "\n".join(lines) + "\n"


def markdown_tables(tables: list[dict]) -> str:
    """Several generic tables, separated by blank lines."""
    return "\n".join(markdown_table(t) for t in tables)
